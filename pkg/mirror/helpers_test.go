package mirror_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

// request is one request a registry saw.
type request struct {
	Method, Path, Query string
	Status              int
	At                  time.Time
}

// recorder wraps a registry handler and keeps every request.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []request
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	sw := &statusWriter{ResponseWriter: w, code: 200}
	at := time.Now()
	r.next.ServeHTTP(sw, req)
	r.mu.Lock()
	r.reqs = append(r.reqs, request{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Status: sw.code, At: at})
	r.mu.Unlock()
}

func (r *recorder) reset() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// inProcessRegistry serves go-containerregistry's registry on 127.0.0.1.
func inProcessRegistry(t *testing.T, wrap func(http.Handler) http.Handler) (string, *recorder) {
	t.Helper()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true))
	if wrap != nil {
		h = wrap(h)
	}
	rec := &recorder{next: h}
	s := httptest.NewServer(rec)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://"), rec
}

// proxied puts a recording reverse proxy in front of a plain-HTTP
// registry, so a test can count what reached it.
func proxied(t *testing.T, host string) (string, *recorder) {
	t.Helper()
	u := &url.URL{Scheme: "http", Host: host}
	p := httputil.NewSingleHostReverseProxy(u)
	p.ErrorLog = log.New(io.Discard, "", 0)
	rec := &recorder{next: p}
	s := httptest.NewServer(rec)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://"), rec
}

// seed is what pushImage wrote.
type seed struct {
	ref      string
	index    v1.Hash
	children []v1.Hash
	sig      string // cosign signature tag
	referrer v1.Hash
}

// pushImage writes a two-platform index to ref whose images share base,
// a cosign-style signature tag for the index, and an OCI referrer whose
// subject is the index.
func pushImage(t *testing.T, ref string, base v1.Layer) seed {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx := v1.ImageIndex(empty.Index)
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	var children []v1.Hash
	for _, arch := range []string{"amd64", "arm64"} {
		own, err := random.Layer(2048, types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1), base, own)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		img, err = mutate.ConfigFile(img, cf)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		children = append(children, d)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatalf("seeding %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	s := seed{ref: ref, index: d, children: children}

	sig, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	s.sig = strings.Replace(d.String(), ":", "-", 1) + ".sig"
	if err := remote.Write(r.Context().Tag(s.sig), sig); err != nil {
		t.Fatalf("seeding signature: %v", err)
	}

	art, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	art = mutate.MediaType(mutate.ConfigMediaType(art, "application/vnd.example.sbom+json"), types.OCIManifestSchema1)
	mf, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	_ = mf
	sz, _ := idx.Size()
	withSubject := mutate.Subject(art, v1.Descriptor{MediaType: types.OCIImageIndex, Digest: d, Size: sz}).(v1.Image)
	s.referrer, err = withSubject.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r.Context().Digest(s.referrer.String()), withSubject); err != nil {
		t.Fatalf("seeding referrer: %v", err)
	}
	return s
}

// headDigest returns the digest of ref, or fails.
func headDigest(t *testing.T, ref string, opts ...remote.Option) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r, opts...)
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return d.Digest
}

// faultyHandler answers the first manifest HEAD of every path with 429 and
// Retry-After: 1, every fourth other request with 503, and drops the
// connection of every eleventh.
type faultyHandler struct {
	next  http.Handler
	mu    sync.Mutex
	armed bool
	n     int
	seen  map[string]bool
	// throttled records when each 429 was sent, per path.
	throttled map[string]time.Time
}

func (f *faultyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.n++
	n := f.n
	key := r.Method + " " + r.URL.Path
	first := !f.seen[key]
	f.seen[key] = true
	armed := f.armed
	f.mu.Unlock()
	switch {
	case !armed, r.URL.Path == "/v2/":
	case first && r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/"):
		f.mu.Lock()
		f.throttled[r.URL.Path] = time.Now()
		f.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	case n%11 == 0:
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				_ = c.Close()
				return
			}
		}
	case n%4 == 0:
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	f.next.ServeHTTP(w, r)
}

func newCopier(t *testing.T, opts ...mirror.Option) *mirror.Copier {
	t.Helper()
	opts = append([]mirror.Option{
		mirror.WithKeychain(authn.NewMultiKeychain()), // never the developer's own credentials
		mirror.WithRetry(8, 10*time.Millisecond, 3*time.Second),
	}, opts...)
	c, err := mirror.New(opts...)
	if err != nil {
		t.Fatalf("mirror.New: %v", err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// mirrorSet seeds three images over two source repositories, all sharing a
// base layer, and returns the seeds and the pairs that mirror them into
// two destination repositories of dst.
func mirrorSet(t *testing.T, src, dst string) ([]seed, []mirror.Pair) {
	t.Helper()
	base, err := random.Layer(64<<10, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	seeds := []seed{
		pushImage(t, src+"/atlanhq/app-a:1.0", base),
		pushImage(t, src+"/atlanhq/app-a:2.0", base),
		pushImage(t, src+"/atlanhq/app-b:1.0", base),
	}
	pairs := []mirror.Pair{
		{Source: src + "/atlanhq/app-a:1.0", Destination: dst + "/mirror/app-a:1.0"},
		{Source: src + "/atlanhq/app-a:2.0", Destination: dst + "/mirror/app-a:2.0"},
		{Source: src + "/atlanhq/app-b:1.0", Destination: dst + "/mirror/app-b:1.0"},
	}
	return seeds, pairs
}

// addReferrer pushes one more OCI artifact whose subject is the index d
// of ref's repository.
func addReferrer(t *testing.T, ref string, d v1.Hash) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	subject, err := remote.Get(r.Context().Digest(d.String()))
	if err != nil {
		t.Fatal(err)
	}
	art, err := random.Image(96, 1)
	if err != nil {
		t.Fatal(err)
	}
	art = mutate.MediaType(mutate.ConfigMediaType(art, "application/vnd.example.provenance+json"), types.OCIManifestSchema1)
	withSubject := mutate.Subject(art, subject.Descriptor).(v1.Image)
	h, err := withSubject.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r.Context().Digest(h.String()), withSubject); err != nil {
		t.Fatalf("adding a referrer: %v", err)
	}
	return h
}
