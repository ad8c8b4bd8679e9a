package synccmd_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/sigtest"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/bundle"
)

// tufFixture is signedFixture with a TUF repository publishing its
// trusted root, served on the loopback interface, and the repository's
// anchor (its version 1 root) in a file.
func tufFixture(t *testing.T) (fx *fixture, root []byte, repo *sigtest.TUFRepo, url, anchorFile string) {
	t.Helper()
	fx, rootFile := signedFixture(t)
	root, err := os.ReadFile(rootFile)
	if err != nil {
		t.Fatal(err)
	}
	if repo, err = sigtest.NewTUFRepo(root, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(repo)
	t.Cleanup(srv.Close)
	anchorFile = writeTemp(t, "root.json", repo.Anchor)
	return fx, root, repo, srv.URL, anchorFile
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBundleTUF: an export without --trusted-root fetches the trusted root
// through TUF and carries the metadata it read; the import, offline and
// given only the TUF anchor, checks that chain and uses the bundle's root.
// A chain that does not hold is refused before any push, naming the
// bundle file it breaks at.
func TestBundleTUF(t *testing.T) {
	fx, root, repo, url, anchorFile := tufFixture(t)
	policy := []string{"--certificate-identity", signIdentity, "--certificate-oidc-issuer", signIssuer}
	dir := filepath.Join(t.TempDir(), "bundle")
	out, errOut, code := fx.run(t, append([]string{"sync", "--to-bundle", dir, "--allowed-source", "REG/atlanhq", "--tuf-url", url, "--tuf-root", anchorFile}, policy...)...)
	if code != 1 || !strings.Contains(errOut, "1 needed image is not in the bundle") ||
		!strings.Contains(out, "trusted root: fetched through TUF from http://127.0.0.1:") ||
		!strings.Contains(out, `, chained to --tuf-root "`+anchorFile+`"; its metadata is in sdr-mirror/tuf/`) {
		t.Fatalf("export: exit %d, stdout %q, stderr %q; want 1, the unsigned image left out, and where the trusted root came from", code, out, errOut)
	}
	for name, want := range map[string][]byte{"tuf/2.root.json": repo.Files["2.root.json"], "tuf/3.root.json": repo.Files["3.root.json"],
		"tuf/timestamp.json": repo.Files["timestamp.json"], "tuf/snapshot.json": repo.Files["1.snapshot.json"],
		"tuf/targets.json": repo.Files["1.targets.json"], "trusted_root.json": root} {
		got, err := os.ReadFile(filepath.Join(dir, bundle.MetaDir, filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("the bundle's %s/%s: %v; want the file the TUF repository served", bundle.MetaDir, name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, bundle.MetaDir, "tuf", "1.root.json")); !os.IsNotExist(err) {
		t.Errorf("the bundle carries the anchor, 1.root.json: %v; want only the roots after it", err)
	}

	delete(fx.env, "ATLAN_URL")
	imp := func(dir string, args ...string) (string, string, int) {
		return fx.run(t, append(append([]string{"sync", "--from-bundle", dir, "--allowed-source", "REG/atlanhq", "--bucket", fx.bucket,
			"--image-map-path", mapKey, "--target", "REG/mirror"}, policy...), args...)...)
	}
	refused := func(t *testing.T, dir string, args []string, want string) {
		t.Helper()
		fx.writeMap(t, "images: {}\n")
		out, errOut, code := imp(dir, args...)
		if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, want) || !strings.Contains(errOut, "pass --trusted-root FILE obtained apart from the bundle, or --tuf-root FILE") {
			t.Fatalf("import %q: exit %d, stdout %q, stderr %q; want one line with %q", args, code, out, errOut, want)
		}
		if digestOf(t, fx.reg+"/mirror/signed:1") != "" || fx.readMap(t) != "images: {}\n" {
			t.Fatalf("a refused import pushed or mapped")
		}
	}

	t.Run("another anchor", func(t *testing.T) {
		other, err := sigtest.NewTUFRepo(root, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		refused(t, dir, []string{"--tuf-root", writeTemp(t, "root.json", other.Anchor)}, "sdr-mirror/tuf/2.root.json is not signed by the keys the root names")
	})
	t.Run("the embedded anchor", func(t *testing.T) {
		refused(t, dir, nil, "does not chain to the Sigstore public-good root embedded in this binary")
	})
	t.Run("a changed trusted root", func(t *testing.T) {
		// SHA256SUMS is made to agree: only the TUF metadata catches it.
		changed := copyBundle(t, dir)
		edit(t, changed, bundle.TrustedRootFile, func(b []byte) []byte { return bytes.Replace(b, []byte(`"`), []byte(` "`), 1) })
		refused(t, changed, []string{"--tuf-root", anchorFile}, "sdr-mirror/trusted_root.json does not match the length and hashes targets.json lists for it")
	})
	t.Run("a missing root version", func(t *testing.T) {
		gap := copyBundle(t, dir)
		edit(t, gap, bundle.TUFDir+"/2.root.json", nil)
		refused(t, gap, []string{"--tuf-root", anchorFile}, "sdr-mirror/tuf/2.root.json is missing: the roots go from version 1 to 3")
	})
	t.Run("--tuf-url", func(t *testing.T) {
		_, errOut, code := imp(dir, "--tuf-root", anchorFile, "--tuf-url", url)
		if code != 1 || !strings.Contains(errOut, "--tuf-url cannot be combined with --from-bundle") {
			t.Errorf("import with --tuf-url: exit %d, stderr %q; want it refused", code, errOut)
		}
	})

	t.Run("chained", func(t *testing.T) {
		fx.writeMap(t, "images: {}\n")
		out, errOut, code := imp(dir, "--tuf-root", anchorFile)
		if code != 1 || !strings.Contains(errOut, "1 needed image is not in the bundle") ||
			!strings.Contains(errOut, "trusted root: "+filepath.Join(dir, bundle.TrustedRootFile)+`, whose TUF metadata in the bundle chains to --tuf-root "`+anchorFile+`" as of the bundle's writing`) {
			t.Fatalf("import: exit %d, stdout %q, stderr %q; want the bundle's root used, chained to --tuf-root", code, out, errOut)
		}
		if got, want := digestOf(t, fx.reg+"/mirror/signed:1"), digestOf(t, fx.reg+"/atlanhq/signed:1"); got != want || got == "" {
			t.Errorf("imported digest %q, want the source's %q", got, want)
		}
	})
}

// TestBundleTUFExpiry: the chain is checked as of the bundle's writing.
// Metadata that expired after the export holds; metadata already expired
// when the bundle was written does not.
func TestBundleTUFExpiry(t *testing.T) {
	fx, root, _, _, _ := tufFixture(t)
	signed := fx.reg + "/atlanhq/signed:1"
	policy := []string{"--certificate-identity", signIdentity, "--certificate-oidc-issuer", signIssuer}
	written := time.Now().Add(-72 * time.Hour)
	for _, tc := range []struct {
		name    string
		expires time.Time
		want    string // "" when accepted
	}{
		// Refused first: the accepted import pushes the image.
		{name: "expired at the export", expires: written.Add(-time.Hour), want: "sdr-mirror/tuf/timestamp.json had expired by " + written.UTC().Truncate(time.Second).Format(time.RFC3339)},
		{name: "expired after the export", expires: written.Add(time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, err := sigtest.NewTUFRepo(root, tc.expires)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "bundle")
			if _, err := bundle.Write(context.Background(), dir, bundle.Contents{
				Images:      []bundle.Image{{Source: signed, Digest: digestOf(t, signed), Why: []string{"file:x:1"}}},
				Needed:      []bundle.Needed{{Image: signed, Why: []string{"file:x:1"}}},
				TrustedRoot: root, TUF: repo.Metadata()}, bundle.WithClock(func() time.Time { return written })); err != nil {
				t.Fatal(err)
			}
			fx.writeMap(t, "images: {}\n")
			out, errOut, code := fx.run(t, append([]string{"sync", "--from-bundle", dir, "--allowed-source", "REG/atlanhq", "--bucket", fx.bucket,
				"--image-map-path", mapKey, "--target", "REG/mirror", "--tuf-root", writeTemp(t, "root.json", repo.Anchor)}, policy...)...)
			if tc.want != "" {
				if code != 1 || !strings.Contains(errOut, tc.want) || digestOf(t, fx.reg+"/mirror/signed:1") != "" {
					t.Fatalf("import: exit %d, stderr %q; want refused with %q and nothing pushed", code, errOut, tc.want)
				}
				return
			}
			if code != 0 || !strings.Contains(errOut, "as of the bundle's writing ("+written.UTC().Truncate(time.Second).Format(time.RFC3339)+", 3d ago)") {
				t.Fatalf("import: exit %d, stdout %q, stderr %q; want the bundle's root used and its age shown", code, out, errOut)
			}
			if digestOf(t, fx.reg+"/mirror/signed:1") == "" {
				t.Errorf("the image was not imported")
			}
		})
	}
}

// copyBundle copies the bundle directory dir.
func copyBundle(t *testing.T, dir string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "bundle")
	if err := os.CopyFS(to, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	return to
}

// edit changes the bundle file rel (removes it when change is nil) and
// rewrites SHA256SUMS to agree, as someone who forges a bundle would.
func edit(t *testing.T, dir, rel string, change func([]byte) []byte) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(rel))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line := ""
	if change == nil {
		err = os.Remove(path)
	} else {
		data = change(data)
		sum := sha256.Sum256(data)
		line = hex.EncodeToString(sum[:]) + "  " + rel + "\n"
		err = os.WriteFile(path, data, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	sumsPath := filepath.Join(dir, bundle.SumsFile)
	sums, err := os.ReadFile(sumsPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.SplitAfter(string(sums), "\n") {
		if strings.HasSuffix(l, "  "+rel+"\n") {
			l = line
		}
		out = append(out, l)
	}
	if err := os.WriteFile(sumsPath, []byte(strings.Join(out, "")), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSyncTUF: online, --tuf-url and --tuf-root fetch the trusted root
// from a private Sigstore's TUF repository; one that does not chain to
// --tuf-root stops the run before any push.
func TestSyncTUF(t *testing.T) {
	fx, root, _, url, anchorFile := tufFixture(t)
	other, err := sigtest.NewTUFRepo(root, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"sync", "--allowed-source", "REG/atlanhq", "--bucket", fx.bucket, "--image-map-path", mapKey, "--target", "REG/mirror",
		"--certificate-identity", signIdentity, "--certificate-oidc-issuer", signIssuer, "--tuf-url", url}
	fx.writeMap(t, "images: {}\n")
	_, errOut, code := fx.run(t, append(args, "--tuf-root", writeTemp(t, "root.json", other.Anchor))...)
	if code != 1 || !strings.Contains(errOut, "fetching the Sigstore trusted root through TUF from http://127.0.0.1:") ||
		digestOf(t, fx.reg+"/mirror/signed:1") != "" || fx.readMap(t) != "images: {}\n" {
		t.Fatalf("sync against another TUF root: exit %d, stderr %q; want it stopped before any push", code, errOut)
	}
	out, errOut, code := fx.run(t, append(args, "--tuf-root", anchorFile)...)
	if code != 1 || !strings.Contains(out, "unverified") {
		t.Fatalf("sync: exit %d, stdout %q, stderr %q; want the unsigned image unverified", code, out, errOut)
	}
	if got, want := digestOf(t, fx.reg+"/mirror/signed:1"), digestOf(t, fx.reg+"/atlanhq/signed:1"); got != want || got == "" {
		t.Errorf("mirrored digest %q, want the source's %q", got, want)
	}
}
