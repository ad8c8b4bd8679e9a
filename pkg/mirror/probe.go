package mirror

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/capool"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// DefaultProbeTimeout bounds each registry's reachability probe unless
// WithProbeTimeout says otherwise.
const DefaultProbeTimeout = 5 * time.Second

// UnreachableError is a registry that did not answer its /v2/ endpoint: no
// image on it can be read or written, so no per-image work is started.
type UnreachableError struct {
	// Role is "source", "destination" or "source and destination".
	Role string
	// Host is the registry host probed: the mirror's for a source read
	// through a mirror.
	Host string
	// MirrorOf is the source host Host mirrors, or "".
	MirrorOf string
	// Cause says in a few words why it did not answer; Check what the
	// operator should look at.
	Cause, Check string
	Err          error
}

func (e *UnreachableError) Error() string {
	who := fmt.Sprintf("%s registry %q", e.Role, e.Host)
	if e.MirrorOf != "" {
		who = fmt.Sprintf("registry mirror %q (for %s)", e.Host, e.MirrorOf)
	}
	return fmt.Sprintf("%s is unreachable (%s): %s", who, e.Cause, e.Check)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// WithProbeTimeout bounds each registry's reachability probe (Probe).
// Default DefaultProbeTimeout.
func WithProbeTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("probe timeout %s: must be positive", d)
		}
		o.probeTimeout = d
		return nil
	}
}

// probeTarget is one registry host to probe and why.
type probeTarget struct {
	reg      name.Registry
	roles    []string
	mirrorOf string
}

// Probe checks, before any image is looked at, that every registry the
// sources are read from (their mirrors where configured) and every
// destination registry answers GET /v2/: one request per host, all at
// once, each bounded by the probe timeout and never retried. Any HTTP
// answer counts, 401 included: credentials are checked by the work
// itself. The error joins one *UnreachableError per host that did not
// answer, in host order. References that do not parse are left to the
// work, which reports them.
func (c *Copier) Probe(ctx context.Context, sources, destinations []string) error {
	targets := map[string]*probeTarget{}
	add := func(reg name.Registry, role, mirrorOf string) {
		t, ok := targets[reg.RegistryStr()]
		if !ok {
			t = &probeTarget{reg: reg, mirrorOf: mirrorOf}
			targets[reg.RegistryStr()] = t
		}
		if !slices.Contains(t.roles, role) {
			t.roles = append(t.roles, role)
		}
	}
	for _, s := range sources {
		ref, err := c.parse(s)
		if err != nil {
			continue
		}
		pull, err := c.pullFrom(ref)
		if err != nil {
			continue
		}
		mirrorOf := ""
		if pull.Context().RegistryStr() != ref.Context().RegistryStr() {
			mirrorOf = ref.Context().RegistryStr()
		}
		add(pull.Context().Registry, "source", mirrorOf)
	}
	for _, d := range destinations {
		ref, err := c.parse(d)
		if err != nil {
			continue
		}
		add(ref.Context().Registry, "destination", "")
	}

	hosts := make([]string, 0, len(targets))
	for h := range targets {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.probe(ctx, targets[h])
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// ProbePairs is Probe for the sources and destinations of pairs.
func (c *Copier) ProbePairs(ctx context.Context, pairs []Pair) error {
	sources, destinations := make([]string, len(pairs)), make([]string, len(pairs))
	for i, p := range pairs {
		sources[i], destinations[i] = p.Source, p.Destination
	}
	return c.Probe(ctx, sources, destinations)
}

func (c *Copier) probe(ctx context.Context, t *probeTarget) error {
	pctx, cancel := context.WithTimeout(ctx, c.o.probeTimeout)
	defer cancel()
	_, err := transport.Ping(pctx, t.reg, transport.NewUserAgent(c.base, c.o.userAgent))
	if err == nil || ctx.Err() != nil {
		return nil
	}
	var te *transport.Error
	if errors.As(err, &te) && !capool.Untrusted(err) {
		// It answered, if not with 200 or 401: the work reports what.
		return nil
	}
	u := &UnreachableError{Role: strings.Join(t.roles, " and "), Host: t.reg.RegistryStr(), MirrorOf: t.mirrorOf, Err: err}
	var unconnected bool
	u.Cause, u.Check, unconnected = diagnose(err, t.reg.RegistryStr(), c.o.probeTimeout)
	if unconnected && t.mirrorOf == "" && slices.Contains(t.roles, "source") {
		u.Check += fmt.Sprintf("; where this network reaches %s only through a mirror, pass %s %s=MIRRORHOST", u.Host, setting.RegistryMirror, u.Host)
	}
	return u
}

// diagnose names why a connection to host failed, in a few words, and
// what to check; unconnected is set when no connection was made at all
// (a network that reaches the host only through a mirror looks so).
func diagnose(err error, host string, timeout time.Duration) (cause, check string, unconnected bool) {
	const proxy = "a firewall or proxy on the way (HTTPS_PROXY, and NO_PROXY for hosts reached directly)"
	var dns *net.DNSError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var record tls.RecordHeaderError
	switch {
	case capool.Untrusted(err):
		return "TLS certificate signed by an unknown authority",
			fmt.Sprintf("pass the CA's PEM file with %s, or %s %s to skip the check", setting.RegistryCAFile, setting.InsecureRegistry, host), false
	case errors.As(err, &hostname) || errors.As(err, &invalid):
		return "TLS certificate not valid for it",
			fmt.Sprintf("check the host name against the registry's certificate, or pass %s %s to skip the check", setting.InsecureRegistry, host), false
	case strings.Contains(err.Error(), "proxyconnect"):
		return "the proxy failed", "check HTTPS_PROXY and NO_PROXY", true
	case errors.As(err, &dns) && dns.IsNotFound:
		return "no such host", "check the host name and this machine's DNS; behind a proxy check HTTPS_PROXY and NO_PROXY", true
	case errors.As(err, &dns):
		return "DNS lookup failed", "check this machine's DNS; behind a proxy check HTTPS_PROXY and NO_PROXY", true
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", "check the host and port, and " + proxy, true
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("no answer within %s", timeout), "check " + proxy, true
	case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
		return "no route to host", "check the network, and " + proxy, true
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") || errors.As(err, &record):
		// After the cases above: a host tried over HTTPS and then plain
		// HTTP is diagnosed by what plain HTTP met.
		return "it does not speak HTTPS", fmt.Sprintf("for a plain-HTTP registry pass %s %s", setting.InsecureRegistry, host), false
	}
	return err.Error(), fmt.Sprintf("check DNS, %s, a private CA (%s) or plain HTTP (%s %s)", proxy, setting.RegistryCAFile, setting.InsecureRegistry, host), false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// unchanging are errors a retry will not change: nothing listens, the name
// does not resolve, or the certificate is not trusted.
func unchanging(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return true
	}
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.Is(err, syscall.ECONNREFUSED) || capool.Untrusted(err) ||
		errors.As(err, &hostname) || errors.As(err, &invalid) ||
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}
