package airgap

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/sigtest"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/bundle"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
)

const (
	identity = "https://github.com/atlanhq/app/.github/workflows/release.yaml@refs/heads/main"
	issuer   = "https://token.actions.githubusercontent.com"
)

// push writes a random image to ref and returns it by digest.
func push(t *testing.T, ref string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return r.Context().Digest(d.String())
}

// TestVerify: with the source registry gone, a bundle's signed image is
// verified from the bundle's own artefacts and an unsigned one is a
// refused verdict; the trusted root is taken when the bundle's TUF chain
// reaches the anchor, and a chain to another anchor is an error naming the
// file it breaks at.
func TestVerify(t *testing.T) {
	ctx := context.Background()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	s := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	host := strings.TrimPrefix(s.URL, "http://")
	signer, err := sigtest.New()
	if err != nil {
		t.Fatal(err)
	}
	signed, unsigned := push(t, host+"/atlanhq/signed:1.0"), push(t, host+"/atlanhq/unsigned:1.0")
	if err := signer.SignClassic(signed, identity, issuer, sigtest.Payload(signed)); err != nil {
		t.Fatal(err)
	}
	root, err := signer.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	repo, err := sigtest.NewTUFRepo(root, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	other, err := sigtest.NewTUFRepo(root, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, err := bundle.Write(ctx, dir, bundle.Contents{TrustedRoot: root, TUF: repo.Metadata(), Images: []bundle.Image{
		{Source: host + "/atlanhq/signed:1.0", Digest: signed.DigestStr()},
		{Source: host + "/atlanhq/unsigned:1.0", Digest: unsigned.DigestStr()},
	}}); err != nil {
		t.Fatal(err)
	}
	s.Close() // everything below reads the bundle only

	src, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	anchor := func(data []byte) verify.TUFAnchor {
		t.Helper()
		p := filepath.Join(t.TempDir(), "root.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := verify.TUFAnchorFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	_, _, ok, err := src.ChainedTrustedRoot(anchor(other.Anchor))
	if !ok || err == nil || !strings.Contains(err.Error(), "sdr-mirror/tuf/") {
		t.Errorf("chain to another anchor: ok %v, err %v; want an error naming the TUF file", ok, err)
	}
	opt, where, ok, err := src.ChainedTrustedRoot(anchor(repo.Anchor))
	if !ok || err != nil || where != filepath.Join(dir, bundle.TrustedRootFile) {
		t.Fatalf("chain to its anchor: ok %v, where %q, err %v; want the bundle's root", ok, where, err)
	}

	c, err := mirror.New(append([]mirror.Option{mirror.WithKeychain(authn.NewMultiKeychain())}, src.Registry()...)...)
	if err != nil {
		t.Fatal(err)
	}
	verdicts, _, err := Verify(ctx, src, c, opt, verify.WithIdentity(identity, ""), verify.WithIssuer(issuer, ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(verdicts) != 2 {
		t.Fatalf("verdicts = %+v, want two", verdicts)
	}
	if v := verdicts[0]; !v.Verified || v.Identity != identity || v.Digest != signed.DigestStr() {
		t.Errorf("signed image: %+v, want verified by %s", v, identity)
	}
	if v := verdicts[1]; v.Verified || v.Reason == "" {
		t.Errorf("unsigned image: %+v, want refused with a reason", v)
	}
}

// TestOpenRefusesIncomplete: a bundle without SHA256SUMS is refused.
func TestOpenRefusesIncomplete(t *testing.T) {
	_, err := Open(context.Background(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "SHA256SUMS") {
		t.Errorf("Open of an empty directory: %v, want SHA256SUMS named", err)
	}
}
