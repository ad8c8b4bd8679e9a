package verify

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/sigtest"
)

// signer wraps sigtest for one registry, failing the test on error.
type signer struct {
	t        testing.TB
	s        *sigtest.Signer
	registry string // host:port
}

func newRegistry(t testing.TB) string {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(discardLogger())))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func newSigner(t testing.TB, reg string) *signer {
	t.Helper()
	s, err := sigtest.New()
	if err != nil {
		t.Fatal(err)
	}
	return &signer{t: t, s: s, registry: reg}
}

func (s *signer) trustedRoot() string {
	s.t.Helper()
	data, err := s.s.TrustedRootJSON()
	if err != nil {
		s.t.Fatal(err)
	}
	path := filepath.Join(s.t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		s.t.Fatal(err)
	}
	return path
}

// push pushes a random two-platform image and returns its digest reference.
func (s *signer) push(repo string) name.Digest {
	s.t.Helper()
	idx, err := random.Index(256, 1, 2)
	if err != nil {
		s.t.Fatal(err)
	}
	ref, err := name.ParseReference(s.registry + "/" + repo + ":1.0")
	if err != nil {
		s.t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		s.t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		s.t.Fatal(err)
	}
	return ref.Context().Digest(d.String())
}

func simpleSigningPayload(d name.Digest) []byte { return sigtest.Payload(d) }

func (s *signer) signClassic(image name.Digest, identity, issuer string, payload []byte) {
	s.t.Helper()
	if err := s.s.SignClassic(image, identity, issuer, payload); err != nil {
		s.t.Fatal(err)
	}
}

func (s *signer) pushSignature(image name.Digest, payload []byte, annotations map[string]string) {
	s.t.Helper()
	if err := s.s.PushSignature(image, payload, annotations); err != nil {
		s.t.Fatal(err)
	}
}

func (s *signer) signReferrer(image name.Digest, identity, issuer string) {
	s.t.Helper()
	if err := s.s.SignReferrer(image, identity, issuer); err != nil {
		s.t.Fatal(err)
	}
}
