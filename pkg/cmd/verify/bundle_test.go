package verifycmd

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

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/sigtest"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/bundle"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/core"
)

func TestRunBundle(t *testing.T) {
	noCredentials(t)
	host, signer, signed, stop := signedRegistry(t)
	unsigned := pushImage(t, host+"/atlanhq/unsigned:1.0")
	root, err := signer.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(rootFile, root, 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(images ...bundle.Image) string {
		dir := filepath.Join(t.TempDir(), "bundle")
		if _, err := bundle.Write(context.Background(), dir, bundle.Contents{Images: images, TrustedRoot: root}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	good := write(bundle.Image{Source: host + "/atlanhq/signed:1.0", Digest: signed.DigestStr()})
	// An unsigned image, placed in a bundle as an export would place it.
	mixed := write(bundle.Image{Source: host + "/atlanhq/signed:1.0", Digest: signed.DigestStr()},
		bundle.Image{Source: host + "/atlanhq/unsigned:1.0", Digest: unsigned.DigestStr()})
	flipped := write(bundle.Image{Source: host + "/atlanhq/signed:1.0", Digest: signed.DigestStr()})
	p := filepath.Join(flipped, bundle.BlobsDir, strings.TrimPrefix(signed.DigestStr(), "sha256:"))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[10] ^= 1
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// A bundle whose trusted root is vouched for by TUF metadata, as an
	// export that fetched it through TUF writes it.
	repo, err := sigtest.NewTUFRepo(root, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	other, err := sigtest.NewTUFRepo(root, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	anchorFile, otherFile := filepath.Join(t.TempDir(), "root.json"), filepath.Join(t.TempDir(), "other-root.json")
	if err := os.WriteFile(anchorFile, repo.Anchor, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(otherFile, other.Anchor, 0o600); err != nil {
		t.Fatal(err)
	}
	chained := filepath.Join(t.TempDir(), "bundle")
	if _, err := bundle.Write(context.Background(), chained, bundle.Contents{Images: []bundle.Image{{Source: host + "/atlanhq/signed:1.0", Digest: signed.DigestStr()}},
		TrustedRoot: root, TUF: repo.Metadata()}); err != nil {
		t.Fatal(err)
	}
	// Everything below reads the bundles only.
	stop()

	policy := []string{"--certificate-identity", identity, "--certificate-oidc-issuer", issuer}
	tests := []struct {
		name       string
		args       []string
		out, warn  []string
		err        string
		noWarnings bool
	}{
		{name: "given root", args: []string{"--bundle", good, "--trusted-root", rootFile},
			out: []string{"checksums ok, 1 images", "trusted root: " + rootFile, "atlanhq/signed:1.0", "verified", identity}, noWarnings: true},
		{name: "the bundle's own root", args: []string{"--bundle", good},
			out: []string{"trusted root: the bundle's own (" + filepath.Join(good, bundle.TrustedRootFile) + "), untrusted", "verified"},
			err: "check out only against the bundle's own trusted root, which has no TUF metadata to check it against: it crossed the gap with the images and proves nothing about who signed them; pass --trusted-root FILE"},
		{name: "a root whose TUF metadata chains to --tuf-root", args: []string{"--bundle", chained, "--tuf-root", anchorFile},
			out: []string{"trusted root: the bundle's own (" + filepath.Join(chained, bundle.TrustedRootFile) + `), whose TUF metadata chains to --tuf-root "` + anchorFile + `"`, "verified"}, noWarnings: true},
		{name: "another anchor", args: []string{"--bundle", chained, "--tuf-root", otherFile},
			out: []string{"untrusted", "verified"},
			err: `bundle "` + chained + `": sdr-mirror/tuf/2.root.json is not signed by the keys the root names`},
		{name: "the embedded anchor", args: []string{"--bundle", chained},
			out: []string{"untrusted"}, err: "does not chain to the Sigstore public-good root embedded in this binary: pass --trusted-root FILE obtained apart from the bundle, or --tuf-root FILE"},
		{name: "--trusted-root wins", args: []string{"--bundle", chained, "--tuf-root", otherFile, "--trusted-root", rootFile},
			out: []string{"trusted root: " + rootFile, "verified"}, noWarnings: true},
		{name: "an unsigned image", args: []string{"--bundle", mixed, "--trusted-root", rootFile},
			out: []string{"unverified: no signature"}, err: "1 of 2 images in bundle"},
		{name: "a flipped byte", args: []string{"--bundle", flipped, "--trusted-root", rootFile},
			err: "blobs/sha256/" + strings.TrimPrefix(signed.DigestStr(), "sha256:") + " does not match its checksum in SHA256SUMS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, out, errOut := core.NewTest(nil)
			o, err := parse(f, append(tc.args, policy...)...)
			if err != nil {
				t.Fatal(err)
			}
			err = o.Run(t.Context())
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("verify %q: error %v, want %q", tc.args, err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatalf("verify %q: %v", tc.args, err)
			}
			for _, w := range tc.out {
				if !strings.Contains(out.String(), w) {
					t.Errorf("verify %q printed\n%s\nwant %q in it", tc.args, out, w)
				}
			}
			for _, w := range tc.warn {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("verify %q warned\n%s\nwant %q in it", tc.args, errOut, w)
				}
			}
			if tc.noWarnings && errOut.Len() > 0 {
				t.Errorf("verify %q warned %q, want nothing", tc.args, errOut)
			}
		})
	}
}

func TestBundleFlags(t *testing.T) {
	noCredentials(t)
	tests := []struct {
		args []string
		err  string
	}{
		{args: []string{"--bundle", "dir", "atlanhq/app:1.0"}, err: "--bundle checks every image the bundle holds: pass no IMAGE"},
		{args: []string{"--bundle", "dir", "--registry-mirror", "docker.io=m:5000"}, err: "--registry-mirror cannot be combined with --bundle"},
		{args: []string{"--bundle", "dir", "--tuf-url", "https://tuf.example.com"}, err: "--tuf-url cannot be combined with --bundle: the bundle's TUF metadata is checked offline, against --tuf-root"},
		{args: []string{"atlanhq/app:1.0", "--tuf-url", "https://tuf.example.com", "--trusted-root", "trusted_root.json"}, err: "--tuf-url cannot be combined with --trusted-root"},
		{args: []string{"atlanhq/app:1.0", "--tuf-url", "https://tuf.example.com", "--key", "cosign.pub"}, err: "--tuf-url cannot be combined with --key"},
		{args: []string{"--bundle", "dir"}},
	}
	for _, tc := range tests {
		f, _, _ := core.NewTest(nil)
		o, err := parse(f, tc.args...)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("verify %q: error %v, want %q", tc.args, err, tc.err)
		case tc.err == "" && (err != nil || o.Bundle != "dir"):
			t.Errorf("verify %q: %v, bundle %q; want bundle \"dir\"", tc.args, err, o.Bundle)
		}
	}
}

// TestRunBundleTUFWithoutRoot: TUF metadata with no trusted_root.json
// beside it vouches for nothing: verify says which file is missing.
func TestRunBundleTUFWithoutRoot(t *testing.T) {
	noCredentials(t)
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer s.Close()
	img := pushImage(t, strings.TrimPrefix(s.URL, "http://")+"/atlanhq/app:1.0")
	repo, err := sigtest.NewTUFRepo([]byte(`{}`), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, err := bundle.Write(context.Background(), dir, bundle.Contents{Images: []bundle.Image{{Source: img.Context().Tag("1.0").String(), Digest: img.DigestStr()}},
		TUF: repo.Metadata()}); err != nil {
		t.Fatal(err)
	}
	anchor := filepath.Join(t.TempDir(), "root.json")
	if err := os.WriteFile(anchor, repo.Anchor, 0o600); err != nil {
		t.Fatal(err)
	}
	f, _, _ := core.NewTest(nil)
	o, err := parse(f, "--bundle", dir, "--tuf-root", anchor)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "sdr-mirror/trusted_root.json is missing") {
		t.Errorf("verify --bundle of TUF metadata without a trusted root: %v, want the missing file named", err)
	}
}
