package synccmd_test

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/sigtest"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/bundle"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
)

// releaseFixture holds atlanhq/app:1 and atlanhq/app:2, signed, which
// share a base layer: a release after another.
type releaseFixture struct {
	*fixture
	root   string
	policy []string
	base   v1.Hash
}

func newReleaseFixture(t *testing.T) *releaseFixture {
	t.Helper()
	fx := newFixture(t)
	s, err := sigtest.New()
	if err != nil {
		t.Fatal(err)
	}
	base := static.NewLayer([]byte(strings.Repeat("base layer ", 1000)), types.OCILayer)
	for _, v := range []string{"1", "2"} {
		img, err := mutate.AppendLayers(empty.Image, base, static.NewLayer([]byte("release "+v), types.OCILayer))
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(fx.reg + "/atlanhq/app:" + v)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		dr := ref.Context().Digest(d.String())
		if err := s.SignClassic(dr, signIdentity, signIssuer, sigtest.Payload(dr)); err != nil {
			t.Fatal(err)
		}
	}
	rootFile, err := s.WriteTrustedRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bd, err := base.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return &releaseFixture{fixture: fx, root: rootFile, base: bd,
		policy: []string{"--trusted-root", rootFile, "--certificate-identity", signIdentity, "--certificate-oidc-issuer", signIssuer}}
}

// export writes a bundle of the images listed on standard input.
func (fx *releaseFixture) export(t *testing.T, dir, images string, extra ...string) (string, string, int) {
	t.Helper()
	fx.stdin = images
	args := append([]string{"sync", "--to-bundle", dir, "--from", "file", "--images-file", "-", "--allowed-source", "REG/atlanhq"}, fx.policy...)
	return fx.run(t, append(args, extra...)...)
}

// importInto imports the bundle dir into the map and REG/mirror.
func (fx *releaseFixture) importInto(t *testing.T, dir string) (string, string, int) {
	t.Helper()
	fx.stdin = ""
	// --insecure-registry as an operator with a plain-HTTP registry gives
	// it: the lock's destinations are the same registry all the same.
	return fx.run(t, fx.fromBundle("sync", dir, "REG/mirror", "--insecure-registry", "REG")...)
}

// fromBundle is the command line of verb (diff or sync) reading the bundle
// dir, with the map in the fixture's bucket and target.
func (fx *releaseFixture) fromBundle(verb, dir, target string, extra ...string) []string {
	args := []string{verb, "--from-bundle", dir, "--from", "bundle", "--allowed-source", "REG/atlanhq", "--bucket", fx.bucket,
		"--image-map-path", mapKey, "--target", target}
	return append(append(args, fx.policy...), extra...)
}

func (fx *releaseFixture) lockFile() string {
	return filepath.Join(fx.dir, imagemap.LockKey(mapKey))
}

func readManifest(t *testing.T, dir string) bundle.Manifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, bundle.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m bundle.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// blobFiles lists the blobs a bundle directory holds.
func blobFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, bundle.BlobsDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestSinceLock: after a first bundle is imported, a bundle exported
// against the inside's lock carries only the new release's blobs; the
// image already inside and the shared base layer are named, not carried;
// the import maps the new release and mounts the base layer.
func TestSinceLock(t *testing.T) {
	fx := newReleaseFixture(t)
	first := filepath.Join(t.TempDir(), "first")
	if _, errOut, code := fx.export(t, first, "REG/atlanhq/app:1\n"); code != 0 {
		t.Fatalf("first export: exit %d, stderr %q", code, errOut)
	}
	fx.writeMap(t, "images: {}\n")
	if out, errOut, code := fx.importInto(t, first); code != 0 {
		t.Fatalf("first import: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	second := filepath.Join(t.TempDir(), "second")
	out, errOut, code := fx.export(t, second, "REG/atlanhq/app:1\nREG/atlanhq/app:2\n", "--since-lock", fx.lockFile())
	if code != 0 {
		t.Fatalf("incremental export: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, want := range []string{"atlanhq/app:1", "inside", "mirrored inside to " + fx.normalise(fx.reg) + "/mirror/app", "atlanhq/app:2", "exported",
		"left out, per the lock: 1 needed image already inside, 1 blob they hold"} {
		if !strings.Contains(out, want) {
			t.Errorf("incremental export output lacks %q:\n%s", want, out)
		}
	}
	m := readManifest(t, second)
	if len(m.Images) != 1 || !strings.HasSuffix(m.Images[0].Source, "/atlanhq/app:2") {
		t.Errorf("carried images %+v, want app:2 only", m.Images)
	}
	if len(m.Inside) != 1 || !strings.HasSuffix(m.Inside[0].Source, "/atlanhq/app:1") {
		t.Errorf("inside images %+v, want app:1", m.Inside)
	}
	if len(m.External) != 1 || m.External[0].Digest != fx.base.String() || !strings.HasSuffix(m.External[0].Repository, "/mirror/app") {
		t.Errorf("external blobs %+v, want the base layer %s in mirror/app", m.External, fx.base)
	}
	if m.Parent != readManifest(t, first).ID || m.Parent == "" {
		t.Errorf("parent %q, want the first bundle's id %q", m.Parent, readManifest(t, first).ID)
	}
	// Only app:2's own blobs: its manifest, config and layer, and its
	// signature's manifest, config and layer.
	blobs := blobFiles(t, second)
	if slices.Contains(blobs, fx.base.Hex) || len(blobs) != 6 {
		t.Errorf("incremental bundle holds %d blobs %v, want app:2's 6 without the base layer", len(blobs), blobs)
	}

	out, errOut, code = fx.run(t, append([]string{"verify", "--bundle", second}, fx.policy...)...)
	if wantLine := "incremental (after " + m.Parent + "): 1 needed image already inside and 1 blob they hold are named, not carried"; code != 0 || !strings.Contains(out, wantLine) {
		t.Errorf("verify --bundle of the incremental bundle: exit %d, stdout %q, stderr %q; want %q", code, out, errOut, wantLine)
	}

	out, errOut, code = fx.importInto(t, second)
	if code != 0 {
		t.Fatalf("incremental import: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if !strings.Contains(out, "sync: 1 verified, 1 copied") {
		t.Errorf("incremental import output %q, want app:2 verified and copied", out)
	}
	data, err := os.ReadFile(fx.lockFile())
	if err != nil {
		t.Fatal(err)
	}
	lock, err := imagemap.ParseLock(data)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range lock.Entries {
		if e.Bundle != nil {
			got = append(got, fx.normalise(e.Source)+" from "+e.Bundle.ID)
		}
	}
	want := []string{fx.normalise(fx.reg) + "/atlanhq/app:1 from " + readManifest(t, first).ID, fx.normalise(fx.reg) + "/atlanhq/app:2 from " + m.ID}
	if !slices.Equal(got, want) {
		t.Errorf("lock entries %q, want %q", got, want)
	}
	if got, want := digestOf(t, fx.reg+"/mirror/app:2"), digestOf(t, fx.reg+"/atlanhq/app:2"); got != want || got == "" {
		t.Errorf("imported app:2 digest %q, want the source's %q", got, want)
	}
}

// exportAgainstElsewhere exports app:2 against a lock that says app:1 was
// mirrored into another registry, empty: app:2's base layer is external,
// held (says the lock) by that registry's mirror/app. It returns the
// bundle and that registry.
func exportAgainstElsewhere(t *testing.T, fx *releaseFixture) (dir, other string) {
	t.Helper()
	elsewhere := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(elsewhere.Close)
	other = strings.TrimPrefix(elsewhere.URL, "http://")
	d1 := digestOf(t, fx.reg+"/atlanhq/app:1")
	gone := "sha256:" + strings.Repeat("0", 64)
	lock := imagemap.Lock{Version: imagemap.LockVersion, Entries: []imagemap.LockEntry{
		{Source: fx.reg + "/atlanhq/app:1", Destination: other + "/mirror/app:1", Digest: d1},
		// Deleted at the source since: a warning, nothing left out for it.
		{Source: fx.reg + "/atlanhq/gone:1", Destination: other + "/mirror/gone:1", Digest: gone}}}
	data, err := json.Marshal(lock)
	if err != nil {
		t.Fatal(err)
	}
	lockFile := filepath.Join(t.TempDir(), "lock.json")
	if err := os.WriteFile(lockFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(t.TempDir(), "bundle")
	out, errOut, code := fx.export(t, dir, "REG/atlanhq/app:2\n", "--since-lock", lockFile)
	if wantWarning := "warning: " + fx.normalise(fx.reg) + "/atlanhq/gone:1@" + gone + " (in the lock): "; code != 0 || !strings.Contains(errOut, wantWarning) {
		t.Fatalf("export: exit %d, stdout %q, stderr %q; want %q", code, out, errOut, wantWarning)
	}
	fx.writeMap(t, "images: {}\n")
	fx.stdin = ""
	return dir, other
}

// TestSinceLockExternalAbsent: an import whose external blob is not where
// the lock said stops before anything is pushed or mapped, naming the
// blob and the image.
func TestSinceLockExternalAbsent(t *testing.T) {
	fx := newReleaseFixture(t)
	dir, other := exportAgainstElsewhere(t, fx)
	out, errOut, code := fx.run(t, fx.fromBundle("diff", dir, other+"/mirror")...)
	if code != 1 || !strings.Contains(errOut, "is not carried, and "+fx.normalise(other)+"/mirror/app does not hold it") || !strings.Contains(out, "unmapped") {
		t.Errorf("diff: exit %d, stdout %q, stderr %q; want the plan, then the absent blob named", code, out, errOut)
	}
	out, errOut, code = fx.run(t, fx.fromBundle("sync", dir, other+"/mirror")...)
	want := "blob " + fx.base.String() + " of " + fx.normalise(fx.reg) + "/atlanhq/app:2 is not carried, and " + fx.normalise(other) + "/mirror/app does not hold it"
	if code != 1 || !strings.Contains(errOut, want) || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("import: exit %d, stdout %q, stderr %q; want one line %q", code, out, errOut, want)
	}
	if digestOf(t, other+"/mirror/app:2") != "" || fx.readMap(t) != "images: {}\n" {
		t.Errorf("an import that stopped pushed or mapped")
	}
}

// TestSinceLockExternalElsewhere: an import into another registry than the
// one holding an external blob stops before anything is pushed or mapped,
// naming the blob, the registry that holds it and the remedy; a registry
// cannot mount from another.
func TestSinceLockExternalElsewhere(t *testing.T) {
	fx := newReleaseFixture(t)
	dir, other := exportAgainstElsewhere(t, fx)
	out, errOut, code := fx.importInto(t, dir)
	want := "blob " + fx.base.String() + " of " + fx.normalise(fx.reg) + "/atlanhq/app:2 is not carried: " + fx.normalise(other) + "/mirror/app holds it, and the image goes to " +
		fx.normalise(fx.reg) + ", which cannot mount from another registry: nothing was pushed; import with --target on " + fx.normalise(other)
	if code != 1 || !strings.Contains(errOut, want) || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("import: exit %d, stdout %q, stderr %q; want one line %q", code, out, errOut, want)
	}
	if digestOf(t, fx.reg+"/mirror/app:2") != "" || fx.readMap(t) != "images: {}\n" {
		t.Errorf("an import that stopped pushed or mapped")
	}
}

func TestSinceLockRefused(t *testing.T) {
	fx := newReleaseFixture(t)
	bad := filepath.Join(t.TempDir(), "lock.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongTypes := filepath.Join(t.TempDir(), "lock.json")
	if err := os.WriteFile(wrongTypes, []byte(`{"version": 1, "entries": "none"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	theMap := filepath.Join(t.TempDir(), "image-map.yaml")
	if err := os.WriteFile(theMap, []byte("images:\n  atlanhq/app: registry.example.com/atlan/app\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sync", "--images-file", "-", "--to-bundle", t.TempDir(), "--since-lock", theMap}, `--since-lock "` + theMap + `" is an image map, not its lock: pass the lock beside it in the bucket, image-map.yaml.lock.json`},
		{[]string{"sync", "--images-file", "-", "--to-bundle", t.TempDir(), "--since-lock", wrongTypes}, `--since-lock "` + wrongTypes + `": parsing lock file`},
		{[]string{"sync", "--images-file", "-", "--since-lock", bad}, "--since-lock leaves out of an export what the inside's lock says it holds: pass --to-bundle too"},
		{[]string{"sync", "--images-file", "-", "--to-bundle", t.TempDir(), "--since-lock", bad}, `--since-lock "` + bad + `": parsing lock file`},
		{[]string{"sync", "--images-file", "-", "--to-bundle", t.TempDir(), "--since-lock", bad + ".absent"}, "--since-lock: open " + bad + ".absent: no such file or directory: carry out the inside's lock"},
	} {
		_, errOut, code := fx.run(t, tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want one line %q", tc.args, code, errOut, tc.want)
		}
	}
}

// cutRegistry is an in-process destination registry that refuses every
// blob upload after the first limit (an import cut off halfway), and
// counts the blob uploads it completes.
type cutRegistry struct {
	h         http.Handler
	mu        sync.Mutex
	limit     int // -1: no limit
	completed int
}

func (c *cutRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A blob upload completes with PUT …/blobs/uploads/…?digest=.
	if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") {
		c.mu.Lock()
		cut := c.limit >= 0 && c.completed >= c.limit
		if !cut {
			c.completed++
		}
		c.mu.Unlock()
		if cut {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"errors":[{"code":"DENIED","message":"cut off"}]}`)
			return
		}
	}
	c.h.ServeHTTP(w, r)
}

// reset sets a new limit and returns the uploads completed since the last.
func (c *cutRegistry) reset(limit int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.completed
	c.limit, c.completed = limit, 0
	return n
}

// TestImportResumes: an import cut off halfway finishes on rerun without
// uploading again the blobs that landed; a further rerun uploads nothing
// and leaves the map as it is.
func TestImportResumes(t *testing.T) {
	fx := newReleaseFixture(t)
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, errOut, code := fx.export(t, dir, "REG/atlanhq/app:1\nREG/atlanhq/app:2\n"); code != 0 {
		t.Fatalf("export: exit %d, stderr %q", code, errOut)
	}
	dst := &cutRegistry{h: registry.New(registry.Logger(log.New(io.Discard, "", 0))), limit: 3}
	s := httptest.NewServer(dst)
	t.Cleanup(s.Close)
	target := strings.TrimPrefix(s.URL, "http://")
	imp := fx.fromBundle("sync", dir, target+"/mirror", "--concurrency", "1")
	fx.writeMap(t, "images: {}\n")

	if _, _, code := fx.run(t, imp...); code == 0 {
		t.Fatal("the cut-off import succeeded")
	}
	first := dst.reset(-1)
	out, errOut, code := fx.run(t, imp...)
	if code != 0 {
		t.Fatalf("rerun: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Both images, their configs, the shared and own layers, and both
	// signatures' configs and layers: every blob once.
	const total = 9
	if second := dst.reset(-1); first != 3 || second != total-first {
		t.Errorf("the cut-off run uploaded %d blobs and the rerun %d; want 3 and the other %d", first, second, total-first)
	}
	for _, v := range []string{"1", "2"} {
		if got, want := digestOf(t, target+"/mirror/app:"+v), digestOf(t, fx.reg+"/atlanhq/app:"+v); got != want || got == "" {
			t.Errorf("app:%s at the destination %q, want %q", v, got, want)
		}
	}

	before := fx.readMap(t)
	out, errOut, code = fx.run(t, imp...)
	if n := dst.reset(-1); code != 0 || n != 0 || !strings.Contains(out, "image map unchanged") || fx.readMap(t) != before {
		t.Errorf("a second import: exit %d, %d blobs uploaded, stdout %q, stderr %q; want nothing uploaded and the map unchanged", code, n, out, errOut)
	}
}
