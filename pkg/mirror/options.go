package mirror

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/capool"
)

// DefaultConcurrency is how many images, and separately how many blobs, are
// copied at once unless WithConcurrency says otherwise.
const DefaultConcurrency = 8

// checkFactor: skip checks (a manifest HEAD on each side) run at up to this
// many times the concurrency, as they move no data.
const checkFactor = 4

// Option configures a Copier.
type Option func(*options) error

type options struct {
	concurrency int
	platforms   []v1.Platform
	keychain    authn.Keychain
	transport   http.RoundTripper
	progress    func(Event)
	mirrors     map[string]string
	insecure    map[string]bool
	caPEMs      [][]byte
	retry       retryPolicy
	userAgent   string
	// probeTimeout bounds each registry's reachability probe.
	probeTimeout time.Duration
	overwrite    bool
	// external are blobs mounted from the destination, never read from
	// the source (WithExternalBlobs).
	external map[v1.Hash]name.Repository
	// local opens blobs held on this machine (WithLocalBlobs).
	local func(v1.Hash) (io.ReadCloser, bool, error)
}

func defaultOptions() *options {
	return &options{
		concurrency:  DefaultConcurrency,
		mirrors:      map[string]string{},
		insecure:     map[string]bool{},
		retry:        defaultRetryPolicy,
		userAgent:    "kubectl-sdr-mirror",
		probeTimeout: DefaultProbeTimeout,
	}
}

// WithConcurrency bounds how many images, and separately how many blobs,
// are in flight at once. Default DefaultConcurrency.
func WithConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("concurrency %d: must be at least 1", n)
		}
		o.concurrency = n
		return nil
	}
}

// WithPlatforms copies only the index children matching one of the given
// platforms ("linux/amd64", "linux/arm64/v8"). The destination then holds a
// new index whose digest differs from the source's; every copied image
// reports a warning saying so. Default: the whole index, digests preserved.
func WithPlatforms(platforms ...string) Option {
	return func(o *options) error {
		for _, s := range platforms {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			p, err := v1.ParsePlatform(s)
			if err != nil || p.OS == "" || p.Architecture == "" {
				return fmt.Errorf("platform %q: want os/arch[/variant], such as linux/amd64", s)
			}
			o.platforms = append(o.platforms, *p)
		}
		return nil
	}
}

// WithKeychain sets where registry credentials come from. Default:
// Keychain("") — docker config.json with its credential helpers, Podman
// auth.json, and the GCR/GAR, ECR and ACR credential sources.
func WithKeychain(kc authn.Keychain) Option {
	return func(o *options) error {
		o.keychain = kc
		return nil
	}
}

// WithTransport sets the HTTP transport under the copier's retries.
// Default: a clone of http.DefaultTransport sized for the concurrency, with
// the CA files of WithCAFile added to the system roots. It cannot be
// combined with WithCAFile.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) error {
		o.transport = t
		return nil
	}
}

// WithProgress receives every Event. Calls are serialised; fn must not
// block for long. Default: events are dropped.
func WithProgress(fn func(Event)) Option {
	return func(o *options) error {
		o.progress = fn
		return nil
	}
}

// WithProgressChan sends every Event to ch; the copier blocks while ch is
// full, so the reader must keep up until Copy returns.
func WithProgressChan(ch chan<- Event) Option {
	return WithProgress(func(e Event) { ch <- e })
}

// WithMirrors pulls images of each source host from its mirror host, as a
// registry that mirrors another (mirrors["docker.io"] = "proxy.internal:5000").
// Destinations are never rewritten. Default: none.
func WithMirrors(mirrors map[string]string) Option {
	return func(o *options) error {
		for src, m := range mirrors {
			src, m = normalizeHost(src), strings.TrimSpace(m)
			if src == "" || m == "" {
				return fmt.Errorf("registry mirror %q=%q: want SOURCEHOST=MIRRORHOST", src, m)
			}
			if prev, ok := o.mirrors[src]; ok && prev != m {
				return &ConflictError{Registry: src, First: prev, Second: m}
			}
			o.mirrors[src] = m
		}
		return nil
	}
}

// ParseMirrors parses SOURCEHOST=MIRRORHOST pairs, refusing a host given
// two different mirrors.
func ParseMirrors(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		src, m, ok := strings.Cut(p, "=")
		src, m = normalizeHost(src), strings.TrimSpace(m)
		if !ok || src == "" || m == "" || strings.Contains(m, "/") {
			return nil, fmt.Errorf("registry mirror %q: want SOURCEHOST=MIRRORHOST, such as docker.io=proxy.internal:5000", p)
		}
		if prev, ok := out[src]; ok && prev != m {
			return nil, &ConflictError{Registry: src, First: prev, Second: m}
		}
		out[src] = m
	}
	return out, nil
}

// WithInsecure talks plain HTTP to these registry hosts. Default: TLS
// everywhere except loopback and private addresses, which may fall back to
// HTTP as with docker.
func WithInsecure(hosts ...string) Option {
	return func(o *options) error {
		for _, h := range hosts {
			if h = normalizeHost(h); h != "" {
				o.insecure[h] = true
			}
		}
		return nil
	}
}

// WithCAFile trusts the PEM certificates in file, in addition to the system
// roots, for registries served over TLS. Default: system roots only.
func WithCAFile(file string) Option {
	return func(o *options) error {
		if file == "" {
			return nil
		}
		b, err := capool.Read("registry CA file", file)
		if err != nil {
			return err
		}
		o.caPEMs = append(o.caPEMs, b)
		return nil
	}
}

// WithRetry sets how often a request that failed with 408, 429, 5xx or a
// dropped connection is tried in all, and the first backoff, doubled each
// time up to maxWait. A Retry-After header overrides the backoff (capped at
// maxWait). A refused connection is tried once more, after the first
// backoff; a name that does not resolve or a certificate that is not
// trusted is not retried. Default: 6 attempts, 500ms, 30s.
func WithRetry(attempts int, initial, maxWait time.Duration) Option {
	return func(o *options) error {
		if attempts < 1 || initial <= 0 || maxWait < initial {
			return errors.New("retry: want attempts >= 1 and 0 < initial <= max")
		}
		o.retry = retryPolicy{attempts: attempts, initial: initial, max: maxWait}
		return nil
	}
}

// WithOverwrite replaces a destination tag that holds a different image
// (drift). Default false: such an image fails with ErrDrift and is left
// as it is.
func WithOverwrite(overwrite bool) Option {
	return func(o *options) error {
		o.overwrite = overwrite
		return nil
	}
}

// WithUserAgent sets the User-Agent sent to registries. Default
// "kubectl-sdr-mirror".
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		o.userAgent = ua
		return nil
	}
}

// normalizeHost maps docker.io's aliases to the name go-containerregistry
// uses, so --registry-mirror docker.io=... applies to "atlanhq/app".
func normalizeHost(h string) string {
	h = strings.TrimSpace(h)
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	h = strings.TrimSuffix(h, "/")
	switch h {
	case "docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return "index.docker.io"
	}
	return h
}
