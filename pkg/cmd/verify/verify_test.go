package verifycmd

import (
	"flag"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/sigtest"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/core"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/registryflags"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/verifyflags"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output =\n%s\nwant (%s)\n%s", got, path, want)
	}
}

// noCredentials keeps the user's registry credentials out of the test.
func noCredentials(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_RUNTIME_DIR", "")
}

// parse runs the command line up to the options Run would get.
func parse(f *core.Factory, args ...string) (*Options, error) {
	var got *Options
	cmd := NewCmdVerify(f, func(o *Options) error { got = o; return nil })
	cmd.SetArgs(append([]string{}, args...))
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return got, cmd.Execute()
}

func TestNewCmdVerify(t *testing.T) {
	noCredentials(t)
	tests := []struct {
		name     string
		args     []string
		images   []string
		refs     []string
		verify   verifyflags.Flags
		registry registryflags.Flags
		err      string
	}{
		{name: "defaults", args: []string{"atlanhq/app:1.0"}, images: []string{"atlanhq/app:1.0"},
			refs: []string{"index.docker.io/atlanhq/app:1.0"}, verify: verifyflags.Flags{Enabled: true}},
		{name: "a key and a mirror", args: []string{"atlanhq/app:1.0", "registry.example.com/atlan/app@sha256:" + strings.Repeat("a", 64),
			"--key", "cosign.pub", "--registry-mirror", "docker.io=proxy.internal:5000", "--insecure-registry", "proxy.internal:5000"},
			images:   []string{"atlanhq/app:1.0", "registry.example.com/atlan/app@sha256:" + strings.Repeat("a", 64)},
			refs:     []string{"proxy.internal:5000/atlanhq/app:1.0", "registry.example.com/atlan/app@sha256:" + strings.Repeat("a", 64)},
			verify:   verifyflags.Flags{Enabled: true, Key: "cosign.pub"},
			registry: registryflags.Flags{Insecure: []string{"proxy.internal:5000"}, Mirrors: []string{"docker.io=proxy.internal:5000"}}},
		{name: "keyless policy", args: []string{"atlanhq/app:1.0", "--certificate-identity-regexp", "^https://github.com/example/",
			"--certificate-oidc-issuer", "https://token.actions.githubusercontent.com", "--trusted-root", "trusted_root.json"},
			images: []string{"atlanhq/app:1.0"}, refs: []string{"index.docker.io/atlanhq/app:1.0"},
			verify: verifyflags.Flags{Enabled: true, IdentityRegexp: "^https://github.com/example/",
				Issuer: "https://token.actions.githubusercontent.com", TrustedRoot: "trusted_root.json"}},
		{name: "no image", err: "requires at least 1 arg(s), only received 0"},
		{name: "bad image", args: []string{"Atlanhq/App:1"}, err: `image argument: `},
		{name: "two mirrors for one host", args: []string{"a:1", "--registry-mirror", "docker.io=m1:5000", "--registry-mirror", "docker.io=m2:5000"},
			err: "two mirrors"},
		{name: "unreadable auth file", args: []string{"a:1", "--registry-auth-file", "/nonexistent/auth.json"}, err: "--registry-auth-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := core.NewTest(nil)
			o, err := parse(f, tc.args...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("verify %q: error %v, want %q", tc.args, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("verify %q: %v", tc.args, err)
			}
			refs := make([]string, len(o.refs))
			for i, r := range o.refs {
				refs[i] = r.Name()
			}
			if !reflect.DeepEqual(o.Images, tc.images) || !reflect.DeepEqual(refs, tc.refs) || o.Verify != tc.verify || !reflect.DeepEqual(o.Registry, tc.registry) {
				t.Errorf("verify %q: images %q, refs %q, verify %+v, registry %+v; want %q, %q, %+v, %+v",
					tc.args, o.Images, refs, o.Verify, o.Registry, tc.images, tc.refs, tc.verify, tc.registry)
			}
		})
	}
}

// pushImage pushes a one-layer image whose digest never changes and
// returns its digest reference.
func pushImage(t *testing.T, ref string) name.Digest {
	t.Helper()
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), static.NewLayer([]byte("sdr-mirror test layer"), types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return r.Context().Digest(d.String())
}

// columnGap separates the columns of a table.
var columnGap = regexp.MustCompile(` {2,}`)

// stable replaces the registry's random port and temporary directory, and,
// in a table, the padding that depends on their length.
func stable(s string, table bool, host, dir string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, host, "REGISTRY"), dir, "DIR")
	if !table {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = columnGap.ReplaceAllString(l, "  ")
	}
	return strings.Join(lines, "\n")
}

func TestRun(t *testing.T) {
	noCredentials(t)
	host, signer, _, _ := signedRegistry(t)
	pushImage(t, host+"/atlanhq/unsigned:1.0")
	dir := t.TempDir()
	rootFile, err := signer.WriteTrustedRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	policy := []string{"--trusted-root", rootFile, "--certificate-identity", identity,
		"--certificate-oidc-issuer", issuer, "--insecure-registry", host}
	tests := []struct {
		name   string
		output string
		images []string
		err    string
	}{
		{name: "signed", output: "table", images: []string{"atlanhq/signed:1.0"}},
		{name: "signed-json", output: "json", images: []string{"atlanhq/signed:1.0"}},
		{name: "unsigned", output: "table", images: []string{"atlanhq/unsigned:1.0"}, err: "1 of 1 images failed signature verification"},
		{name: "both-json", output: "json", images: []string{"atlanhq/signed:1.0", "atlanhq/unsigned:1.0"}, err: "1 of 2 images failed signature verification"},
		{name: "missing", output: "table", images: []string{"atlanhq/missing:1.0"}, err: `resolving the digest of "REGISTRY/atlanhq/missing:1.0"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, out, errOut := core.NewTest(nil)
			f.Global.Output = tc.output
			args := make([]string, len(tc.images))
			for i, img := range tc.images {
				args[i] = host + "/" + img
			}
			o, err := parse(f, append(args, policy...)...)
			if err != nil {
				t.Fatal(err)
			}
			err = o.Run(t.Context())
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(stable(err.Error(), false, host, dir), tc.err)):
				t.Fatalf("verify %q: error %v, want %q", args, err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatalf("verify %q: %v", args, err)
			case err != nil:
				golden(t, tc.name+"-error", stable(err.Error(), false, host, dir)+"\n")
			}
			golden(t, tc.name, stable(out.String(), tc.output == "table", host, dir))
			golden(t, tc.name+"-stderr", stable(errOut.String(), false, host, dir))
		})
	}
}

// The signing identity and issuer of the images signedRegistry holds.
const (
	identity = "https://github.com/atlanhq/app/.github/workflows/release.yaml@refs/heads/main"
	issuer   = "https://token.actions.githubusercontent.com"
)

// signedRegistry starts an in-process registry holding atlanhq/signed:1.0,
// signed keyless (identity, issuer) by a new offline Sigstore; stop ends
// the registry before the test does.
func signedRegistry(t *testing.T) (host string, signer *sigtest.Signer, signed name.Digest, stop func()) {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	host = strings.TrimPrefix(s.URL, "http://")
	signer, err := sigtest.New()
	if err != nil {
		t.Fatal(err)
	}
	signed = pushImage(t, host+"/atlanhq/signed:1.0")
	if err := signer.SignClassic(signed, identity, issuer, sigtest.Payload(signed)); err != nil {
		t.Fatal(err)
	}
	return host, signer, signed, s.Close
}

// TestRunTUF: --tuf-root and --tuf-url fetch the trusted root from a
// private Sigstore's TUF repository, checked against its root.
func TestRunTUF(t *testing.T) {
	noCredentials(t)
	host, signer, _, _ := signedRegistry(t)
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
	tufSrv := httptest.NewServer(repo)
	t.Cleanup(tufSrv.Close)
	dir := t.TempDir()
	anchor, otherAnchor := filepath.Join(dir, "root.json"), filepath.Join(dir, "other-root.json")
	if err := os.WriteFile(anchor, repo.Anchor, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(otherAnchor, other.Anchor, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, anchor, err string
	}{
		{name: "the repository's root", anchor: anchor},
		{name: "another root", anchor: otherAnchor, err: `fetching the Sigstore trusted root through TUF from ` + tufSrv.URL + `, anchored at --tuf-root "` + otherAnchor + `"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, out, _ := core.NewTest(nil)
			o, err := parse(f, host+"/atlanhq/signed:1.0", "--tuf-root", tc.anchor, "--tuf-url", tufSrv.URL,
				"--certificate-identity", identity, "--certificate-oidc-issuer", issuer, "--insecure-registry", host)
			if err != nil {
				t.Fatal(err)
			}
			err = o.Run(t.Context())
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("verify: error %v, want %q", err, tc.err)
			case tc.err == "" && (err != nil || !strings.Contains(out.String(), "verified")):
				t.Fatalf("verify: %v, printed %q; want the image verified", err, out)
			}
		})
	}
}
