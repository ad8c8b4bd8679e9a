package synccmd_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/bundle"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
)

func digestOf(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r)
	if err != nil {
		return ""
	}
	return d.Digest.String()
}

func TestFromBundle(t *testing.T) {
	fx, rootFile := signedFixture(t)
	policy := []string{"--trusted-root", rootFile, "--certificate-identity", signIdentity, "--certificate-oidc-issuer", signIssuer}
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, errOut, code := fx.run(t, append([]string{"sync", "--to-bundle", dir, "--allowed-source", "REG/atlanhq"}, policy...)...); code != 1 {
		t.Fatalf("export: exit %d, stderr %q", code, errOut)
	}
	// Inside, the bundle stands in for the sources and latest-releases.
	delete(fx.env, "ATLAN_URL")
	imp := append([]string{"--from-bundle", dir, "--allowed-source", "REG/atlanhq", "--bucket", fx.bucket, "--image-map-path", mapKey,
		"--target", "REG/mirror"}, policy...)

	out, errOut, code := fx.run(t, append([]string{"diff"}, imp...)...)
	if code != 1 || !strings.Contains(errOut, "1 needed image is not in the bundle") || !strings.Contains(out, "not in the bundle") {
		t.Fatalf("diff --from-bundle: exit %d, stdout %q, stderr %q; want 1 and the unsigned image not in the bundle", code, out, errOut)
	}
	if opened, err := bundle.Open(dir); err != nil || !strings.HasPrefix(out, fmt.Sprintf("bundle %s: %s, written ", dir, opened.Manifest().ID)) {
		t.Errorf("diff --from-bundle printed %q (%v), want the bundle named with its id first", out, err)
	}
	out, _, _ = fx.run(t, append([]string{"diff", "-o", "json"}, imp...)...)
	var report struct {
		Bundle *struct {
			Dir, ID           string
			ReleasesFetchedAt *time.Time
		}
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil || report.Bundle == nil || report.Bundle.Dir != dir || report.Bundle.ID == "" || report.Bundle.ReleasesFetchedAt == nil {
		t.Errorf("diff --from-bundle -o json: bundle %+v (%v), want it named with its snapshot time", report.Bundle, err)
	}

	out, errOut, code = fx.run(t, append([]string{"sync"}, imp...)...)
	if code != 1 || !strings.Contains(errOut, "1 needed image is not in the bundle") {
		t.Fatalf("sync --from-bundle: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	m := fx.readMap(t)
	if !strings.Contains(m, "/atlanhq/signed\": \"127.0.0.1:") || strings.Contains(m, "unsigned") {
		t.Errorf("map after import:\n%s\nwant the signed image mapped, the unsigned not", m)
	}
	want := digestOf(t, fx.reg+"/atlanhq/signed:1")
	if got := digestOf(t, fx.reg+"/mirror/signed:1"); got != want {
		t.Errorf("imported digest %q, want the source's %q", got, want)
	}
	if digestOf(t, fx.reg+"/mirror/signed:"+strings.Replace(want, ":", "-", 1)+".sig") == "" {
		t.Errorf("the signature did not travel with the imported image")
	}
	if digestOf(t, fx.reg+"/mirror/unsigned:1") != "" {
		t.Errorf("an image the bundle lacks was pushed")
	}
	// The lock entry names the bundle: its id and the digest of its
	// SHA256SUMS.
	sums, err := os.ReadFile(filepath.Join(dir, bundle.SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	lockData, err := os.ReadFile(filepath.Join(fx.dir, imagemap.LockKey(mapKey)))
	if err != nil {
		t.Fatal(err)
	}
	lock, err := imagemap.ParseLock(lockData)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(sums)
	wantBundle := imagemap.LockBundle{ID: b.Manifest().ID, Digest: "sha256:" + hex.EncodeToString(sum[:])}
	if len(lock.Entries) != 1 || lock.Entries[0].Bundle == nil || *lock.Entries[0].Bundle != wantBundle || wantBundle.ID == "" {
		t.Errorf("lock entries %+v, want one naming bundle %+v", lock.Entries, wantBundle)
	}
}

// An unsigned image placed in a bundle by hand is never pushed or mapped.
func TestFromBundleRefusesUnsigned(t *testing.T) {
	fx, rootFile := signedFixture(t)
	policy := []string{"--trusted-root", rootFile, "--certificate-identity", signIdentity, "--certificate-oidc-issuer", signIssuer}
	signed, unsigned := fx.reg+"/atlanhq/signed:1", fx.reg+"/atlanhq/unsigned:1"
	dir := filepath.Join(t.TempDir(), "bundle")
	_, err := bundle.Write(context.Background(), dir, bundle.Contents{
		Images: []bundle.Image{{Source: signed, Digest: digestOf(t, signed), Why: []string{"file:x:1"}},
			{Source: unsigned, Digest: digestOf(t, unsigned), Why: []string{"file:x:2"}}},
		Needed: []bundle.Needed{{Image: signed, Why: []string{"file:x:1"}}, {Image: unsigned, Why: []string{"file:x:2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := fx.run(t, append([]string{"sync", "--from-bundle", dir, "--allowed-source", "REG/atlanhq", "--bucket", fx.bucket,
		"--image-map-path", mapKey, "--target", "REG/mirror"}, policy...)...)
	if code != 1 || !strings.Contains(out, "unverified") {
		t.Fatalf("sync --from-bundle: exit %d, stdout %q, stderr %q; want 1 and the unsigned image unverified", code, out, errOut)
	}
	if digestOf(t, fx.reg+"/mirror/unsigned:1") != "" || strings.Contains(fx.readMap(t), "unsigned") {
		t.Errorf("the unsigned image was pushed or mapped")
	}
	if digestOf(t, fx.reg+"/mirror/signed:1") == "" {
		t.Errorf("the signed image was not imported")
	}
}

func TestFromBundleRefusesAFlippedByte(t *testing.T) {
	fx, rootFile := signedFixture(t)
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, _, code := fx.run(t, "sync", "--to-bundle", dir, "--allowed-source", "REG/atlanhq", "--trusted-root", rootFile,
		"--certificate-identity", signIdentity, "--certificate-oidc-issuer", signIssuer); code != 1 {
		t.Fatal("export failed")
	}
	flip(t, filepath.Join(dir, bundle.IndexFile))
	_, errOut, code := fx.run(t, "sync", "--from-bundle", dir, "--allowed-source", "REG/atlanhq", "--bucket", fx.bucket,
		"--image-map-path", mapKey, "--target", "REG/mirror", "--trusted-root", rootFile)
	if code != 1 || !strings.Contains(errOut, "index.json does not match its checksum in SHA256SUMS") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("sync --from-bundle of a changed bundle: exit %d, stderr %q; want one line naming index.json", code, errOut)
	}
	if digestOf(t, fx.reg+"/mirror/signed:1") != "" {
		t.Errorf("an image was pushed from a bundle that does not match its checksums")
	}
}

func flip(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x20
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFromBundleRefusesItsOwnRoot: an import that would verify with the
// trusted root the bundle carries is refused before any push, naming
// --trusted-root; the bundle's root crossed the gap with the images.
func TestFromBundleRefusesItsOwnRoot(t *testing.T) {
	fx, rootFile := signedFixture(t)
	policy := []string{"--certificate-identity", signIdentity, "--certificate-oidc-issuer", signIssuer}
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, errOut, code := fx.run(t, append([]string{"sync", "--to-bundle", dir, "--allowed-source", "REG/atlanhq", "--trusted-root", rootFile}, policy...)...); code != 1 {
		t.Fatalf("export: exit %d, stderr %q", code, errOut)
	}
	delete(fx.env, "ATLAN_URL")
	fx.writeMap(t, "images: {}\n")
	before := fx.readMap(t)
	out, errOut, code := fx.run(t, append([]string{"sync", "--from-bundle", dir, "--allowed-source", "REG/atlanhq", "--bucket", fx.bucket,
		"--image-map-path", mapKey, "--target", "REG/mirror"}, policy...)...)
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "pass --trusted-root FILE obtained apart from the bundle") {
		t.Fatalf("sync --from-bundle without --trusted-root: exit %d, stdout %q, stderr %q; want one line naming --trusted-root", code, out, errOut)
	}
	if digestOf(t, fx.reg+"/mirror/signed:1") != "" || fx.readMap(t) != before {
		t.Errorf("an import that verified nothing pushed or mapped")
	}
}

// TestBundleTar: --to-bundle PATH.tar writes a tar archive (split with
// --split-size into parts with their checksums), through a staging
// directory it removes once packed; the import reads the parts in place.
func TestBundleTar(t *testing.T) {
	fx, rootFile := signedFixture(t)
	policy := []string{"--trusted-root", rootFile, "--certificate-identity", signIdentity, "--certificate-oidc-issuer", signIssuer}
	out := t.TempDir()
	archive := filepath.Join(out, "sdr.tar")
	stdout, errOut, code := fx.run(t, append([]string{"sync", "--to-bundle", archive, "--split-size", "1Mi", "--allowed-source", "REG/atlanhq"}, policy...)...)
	if code != 1 || !strings.Contains(stdout, "written: "+archive+".000, "+archive+".000.sha256") {
		t.Fatalf("export: exit %d, stdout %q, stderr %q; want the parts written (and 1 for the unsigned image)", code, stdout, errOut)
	}
	if _, err := os.Stat(archive + bundle.StagingSuffix); !os.IsNotExist(err) {
		t.Errorf("the staging directory is left after packing: %v", err)
	}
	delete(fx.env, "ATLAN_URL")
	fx.writeMap(t, "images: {}\n")
	_, errOut, code = fx.run(t, append([]string{"sync", "--from-bundle", archive, "--allowed-source", "REG/atlanhq", "--bucket", fx.bucket,
		"--image-map-path", mapKey, "--target", "REG/mirror"}, policy...)...)
	if code != 1 || !strings.Contains(errOut, "1 needed image is not in the bundle") {
		t.Fatalf("import: exit %d, stderr %q", code, errOut)
	}
	if got, want := digestOf(t, fx.reg+"/mirror/signed:1"), digestOf(t, fx.reg+"/atlanhq/signed:1"); got != want || got == "" {
		t.Errorf("imported digest %q, want the source's %q", got, want)
	}
}

func TestSplitSizeRefused(t *testing.T) {
	fx, _ := signedFixture(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--split-size", "1Gi"}, "--split-size splits the archive sync --to-bundle PATH.tar writes: pass --to-bundle too"},
		{[]string{"--to-bundle", "dir", "--split-size", "1Gi"}, "--split-size splits a tar archive: name it --to-bundle dir.tar"},
		{[]string{"--to-bundle", "b.tar", "--split-size", "12"}, `--split-size "12": want a size of at least 1Mi, such as 4Gi or 700Mi`},
		{[]string{"--to-bundle", "b.tar", "--split-size", "lots"}, `--split-size "lots": want a size of at least 1Mi`},
	} {
		_, errOut, code := fx.run(t, append([]string{"sync", "--images-file", "-"}, tc.args...)...)
		if code != 1 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("sync %q: exit %d, stderr %q; want one line %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestCreateRepositoriesNeedsTarget: with no target known there is no
// registry to create repositories in; the run says so and writes nothing.
func TestCreateRepositoriesNeedsTarget(t *testing.T) {
	fx := newFixture(t)
	fx.push(t, "atlanhq/atlan-a:1", "source a")
	fx.writeMap(t, "images: {}\n")
	fx.stdin = "REG/atlanhq/atlan-a:1\n"
	_, errOut, code := fx.run(t, "sync", "--verify=false", "--create-repositories", "--from", "file", "--images-file", "-",
		"--insecure-registry", "REG", "--allowed-source", "REG/atlanhq", "--bucket", fx.bucket, "--image-map-path", mapKey)
	if code != 1 || !strings.HasSuffix(errOut, "error: --create-repositories creates repositories under --target: pass --target ACCOUNT.dkr.ecr.REGION.amazonaws.com/PREFIX\n") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if m := fx.readMap(t); m != "images: {}\n" {
		t.Errorf("map is now %q, want it unchanged", m)
	}
}
