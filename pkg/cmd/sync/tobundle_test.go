package synccmd_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/sigtest"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/bundle"
	synccmd "github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/sync"
)

const (
	signIdentity = "https://github.com/atlanhq/application-sdk/.github/workflows/build-and-publish-app.yaml@refs/heads/main"
	signIssuer   = "https://token.actions.githubusercontent.com"
)

// signedFixture holds atlanhq/signed:1 (signed) and atlanhq/unsigned:1,
// both announced by a latest-releases server, and the trusted root that
// verifies the signature.
func signedFixture(t *testing.T) (*fixture, string) {
	t.Helper()
	fx := newFixture(t)
	fx.push(t, "atlanhq/signed:1", "signed")
	fx.push(t, "atlanhq/unsigned:1", "unsigned")
	s, err := sigtest.New()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(fx.reg + "/atlanhq/signed:1")
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	d := ref.Context().Digest(desc.Digest.String())
	if err := s.SignClassic(d, signIdentity, signIssuer, sigtest.Payload(d)); err != nil {
		t.Fatal(err)
	}
	rootFile, err := s.WriteTrustedRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	atlan := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, fx.expand(`{"releases":[
  {"app_id":"1","app_name":"signed","version":"1","version_id":"v1","image":"REG/atlanhq/signed:1"},
  {"app_id":"2","app_name":"unsigned","version":"1","version_id":"v2","image":"REG/atlanhq/unsigned:1"}]}`))
	}))
	t.Cleanup(atlan.Close)
	fx.env["ATLAN_URL"] = atlan.URL
	return fx, rootFile
}

func TestToBundle(t *testing.T) {
	fx, rootFile := signedFixture(t)
	dir := filepath.Join(t.TempDir(), "bundle")
	policy := []string{"--trusted-root", rootFile, "--certificate-identity", signIdentity, "--certificate-oidc-issuer", signIssuer}
	out, errOut, code := fx.run(t, append([]string{"sync", "--to-bundle", dir, "--insecure-registry", "REG", "--allowed-source", "REG/atlanhq"}, policy...)...)
	if code != 1 || !strings.Contains(errOut, "1 needed image is not in the bundle") {
		t.Fatalf("sync --to-bundle: exit %d, stderr %q, want 1 and the unsigned image left out", code, errOut)
	}
	for _, want := range []string{"atlanhq/signed:1", "exported", "signed by " + signIdentity, "atlanhq/unsigned:1", "unverified", "no signature",
		"bundle " + dir + ": 1 images, 1 signatures and referrers"} {
		if !strings.Contains(out, want) {
			t.Errorf("sync --to-bundle printed\n%s\nwant %q in it", out, want)
		}
	}
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := b.Manifest()
	if len(m.Images) != 1 || !strings.HasSuffix(m.Images[0].Source, "/atlanhq/signed:1") || m.Images[0].Signer == nil ||
		m.Images[0].Why[0] != "latest-releases:signed@1" {
		t.Errorf("bundle.json images = %+v, want the signed image, its signer and why", m.Images)
	}
	if n := len(b.Needed()); n != 2 {
		t.Errorf("needed.json holds %d images, want 2", n)
	}
	if r := b.Releases(); r == nil || r.FetchedAt.IsZero() || !strings.Contains(string(r.Response), "atlanhq/unsigned:1") {
		t.Errorf("latest-releases snapshot = %+v, want the response with its fetch time", r)
	}
	if _, _, ok, _ := b.TrustedRoot(); !ok {
		t.Errorf("the bundle has no trusted_root.json")
	}

	// The bundle verifies on its own: verify reads only the bundle.
	out, errOut, code = fx.run(t, append([]string{"verify", "--bundle", dir}, policy...)...)
	if code != 0 || !strings.Contains(out, "verified") {
		t.Errorf("verify --bundle: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestToBundleRefuses(t *testing.T) {
	for _, flag := range [][]string{{"--target", "registry.example.com/atlan"}, {"--bucket", "mem://"}, {"--map", "m.yaml"},
		{"--image-map-path", "sdr/image-map.yaml"}, {"--prune"}, {"--overwrite"}, {"--dry-run"}, {"--config", "c.yaml"}, {"--create-repositories"}} {
		t.Run(flag[0], func(t *testing.T) {
			called := false
			cmd := synccmd.NewCmdSync(newFactory(), func(*synccmd.SyncOptions) error { called = true; return nil })
			cmd.SetArgs(append([]string{"--to-bundle", "dir", "--images-file", "i.txt"}, flag...))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			want := flag[0] + " cannot be combined with --to-bundle"
			if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") || called {
				t.Errorf("sync --to-bundle %q: error %v, want one line starting %q", flag, err, want)
			}
		})
	}
}
