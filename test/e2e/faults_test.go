package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/faultproxy"
	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/fixture"
	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// world is a fixture with fault proxies in front of both registries.
type world struct {
	f        *fixture.Fixture
	src, dst *faultproxy.Proxy
	digests  map[string]string
	apps     []fixture.App
	dir      string
	// bucket are the flags naming the map's bucket (default: a file://
	// bucket in dir); mapObj is the map, read and written past any proxy.
	bucket []string
	mapObj store.Object
	env    []string
}

// readMap reads the map past any proxy.
func (w *world) readMap(t *testing.T) []byte {
	t.Helper()
	data, _, err := w.mapObj.Read(context.Background())
	if err != nil {
		t.Fatalf("reading the map %s: %v", w.mapObj.URL(), err)
	}
	return data
}

// dropApps removes the apps' entries from the map, past any proxy, so that
// the next sync writes.
func (w *world) dropApps(t *testing.T) {
	t.Helper()
	if _, err := store.Update(t.Context(), w.mapObj, func(m *imagemap.ImageMap) error {
		for _, a := range w.apps {
			_ = m.Remove("docker.io/atlanhq/" + a.Name)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Credentials of the S3 server the map moves to; planted: never printed.
const s3Key, s3Secret, s3Bucket = "faultkey", "fault-secret-PLANTED-11", "sdr-faults"

// moveMapToS3 starts versitygw, copies the map into a bucket there, and
// points the syncs at it through via(endpoint) (a proxy, or the server
// itself); the invariant reads it from the server directly.
func (w *world) moveMapToS3(t *testing.T, via func(endpoint string) string) {
	t.Helper()
	ctx := t.Context()
	endpoint := testenv.StartVersityGW(t, s3Key, s3Secret, s3Bucket)
	t.Setenv("AWS_ACCESS_KEY_ID", s3Key)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3Secret)
	direct, err := store.OpenBucket(ctx, "s3://"+s3Bucket+"?endpoint="+endpoint+"&region=us-east-1&use_path_style=true", "sdr/image-map.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = direct.Close() })
	local := w.readMap(t)
	if err := direct.Write(ctx, local, store.Any); err != nil {
		t.Fatal(err)
	}
	w.mapObj = direct
	w.bucket = []string{"--bucket", "s3://" + s3Bucket + "?endpoint=" + via(endpoint) + "&region=us-east-1&use_path_style=true", "--image-map-path", "sdr/image-map.yaml"}
	w.env = []string{"AWS_ACCESS_KEY_ID=" + s3Key, "AWS_SECRET_ACCESS_KEY=" + s3Secret}
}

func newWorld(t *testing.T, seed uint64, rate float64, n int) *world {
	t.Helper()
	dir := t.TempDir()
	f, err := fixture.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	var apps []fixture.App
	for i := range n {
		apps = append(apps, fixture.App{Name: fmt.Sprintf("atlan-app-%02d", i), Version: "1.0." + fmt.Sprint(i)})
	}
	digests, err := f.Publish(apps...)
	if err != nil {
		t.Fatal(err)
	}
	src, err := faultproxy.Start(f.Source, seed, rate, 200)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	dst, err := faultproxy.Start(f.Dest, seed+1, rate, 200)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dst.Close)
	if err := os.MkdirAll(filepath.Join(dir, "bucket", "sdr"), 0o700); err != nil {
		t.Fatal(err)
	}
	// Entries that exist before any sync, unrelated to the apps: never lost.
	pre := "# owned by the platform team\nimages:\n  \"atlanhq/kept-app\": \"registry.example.com/atlan/kept-app\"\n  \"ghcr.io/atlanhq/kept-tool:2\": \"registry.example.com/atlan/kept-tool:2\"\n"
	if err := os.WriteFile(filepath.Join(dir, "bucket", "sdr", "image-map.yaml"), []byte(pre), 0o600); err != nil {
		t.Fatal(err)
	}
	var images strings.Builder
	for _, a := range apps {
		fmt.Fprintf(&images, "docker.io/atlanhq/%s:%s\n", a.Name, a.Version)
	}
	if err := os.WriteFile(filepath.Join(dir, "images.txt"), []byte(images.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	root, _ := os.ReadFile(f.TrustedRoot)
	if err := os.WriteFile(filepath.Join(dir, "trusted_root.json"), root, 0o600); err != nil {
		t.Fatal(err)
	}
	return &world{f: f, src: src, dst: dst, digests: digests, apps: apps, dir: dir,
		bucket: []string{"--bucket", "file://" + filepath.Join(dir, "bucket"), "--image-map-path", "sdr/image-map.yaml"},
		mapObj: store.File(filepath.Join(dir, "bucket", "sdr", "image-map.yaml"))}
}

func (w *world) syncArgs(imagesFile string) []string {
	args := []string{"sync", "--from", "file", "--images-file", imagesFile,
		"--registry-mirror", "docker.io=" + w.src.Addr,
		"--target", w.dst.Addr + "/mirror", "--trusted-root", filepath.Join(w.dir, "trusted_root.json"),
		"--concurrency", "4"}
	return append(args, w.bucket...)
}

func (w *world) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "kubectl-sdr_mirror"), args...)
	cmd.Env = append(os.Environ(), w.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// checkInvariant: the map parses and is valid; no entry that existed before
// is lost; every entry for an app resolves to an image present in the
// destination (read directly, past the proxy) with the source's digest.
// It returns how many entries were checked.
func (w *world) checkInvariant(t *testing.T) int {
	t.Helper()
	data := w.readMap(t)
	m, err := imagemap.Parse(data)
	if err != nil {
		t.Fatalf("map torn: %v\n%s", err, data)
	}
	if ps := m.Validate(); len(ps) > 0 {
		t.Fatalf("map invalid: %v", ps)
	}
	for _, k := range []string{"atlanhq/kept-app", "ghcr.io/atlanhq/kept-tool:2"} {
		if _, ok := m.Lookup(k); !ok {
			t.Fatalf("entry %q that existed before the sync is lost:\n%s", k, data)
		}
	}
	checked := 0
	for _, a := range w.apps {
		src := fmt.Sprintf("docker.io/atlanhq/%s:%s", a.Name, a.Version)
		res, err := imagemap.Resolver{Map: m}.Resolve(src)
		if err != nil || res.Rule == imagemap.RuleNone {
			continue
		}
		checked++
		direct := strings.Replace(res.Resolved, w.dst.Addr, w.f.Dest, 1)
		ref, err := name.ParseReference(direct)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Head(ref)
		if err != nil {
			t.Fatalf("map entry for %s points at %s, which is not in the destination: %v", src, res.Resolved, err)
		}
		if desc.Digest.String() != w.digests[a.Name] {
			t.Fatalf("map entry for %s points at %s with digest %s, want the source's %s", src, res.Resolved, desc.Digest, w.digests[a.Name])
		}
	}
	return checked
}

// TestSyncUnderFaults runs sync through proxies that inject 503s, 429s
// with Retry-After, connections reset mid-body, slow and truncated
// responses. Each run either completes or exits non-zero naming the failed
// images; after every run the invariant holds; with the faults gone a rerun
// completes.
func TestSyncUnderFaults(t *testing.T) {
	var injected, runs, checked int64
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			w := newWorld(t, seed, 0.15, 8)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			for range 3 {
				out, err := w.run(ctx, w.syncArgs(filepath.Join(w.dir, "images.txt"))...)
				runs++
				if err != nil && !strings.Contains(out, "error: ") {
					t.Fatalf("failed without an error line:\n%s", out)
				}
				checked += int64(w.checkInvariant(t))
			}
			injected += w.src.Injected.Load() + w.dst.Injected.Load()
			w.src.SetRate(0)
			w.dst.SetRate(0)
			out, err := w.run(ctx, w.syncArgs(filepath.Join(w.dir, "images.txt"))...)
			runs++
			if err != nil {
				t.Fatalf("rerun without faults failed: %v\n%s", err, out)
			}
			if n := w.checkInvariant(t); n != len(w.apps) {
				t.Fatalf("after the clean rerun %d of %d apps are mapped", n, len(w.apps))
			}
			checked += int64(len(w.apps))
			t.Logf("faults injected: source %v, destination %v", w.src.Counts(), w.dst.Counts())
		})
	}
	t.Logf("faults injected: %d; syncs run: %d; map entries checked: %d", injected, runs, checked)
	if injected == 0 {
		t.Fatal("no fault was injected: the test proves nothing")
	}
}

// TestSyncInterrupted stops sync at random points with SIGINT and SIGKILL:
// the map is the old one or a valid new one, never torn, and a rerun
// completes.
func TestSyncInterrupted(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL, syscall.SIGINT, syscall.SIGKILL} {
		t.Run(fmt.Sprintf("%s-%d", strings.ReplaceAll(sig.String(), " ", "-"), i), func(t *testing.T) {
			w := newWorld(t, 9, 0, 6)
			// Slow every destination request so the signal lands mid-sync.
			dst, err := faultproxy.Start(w.f.Dest, 5, 1, 1<<30, faultproxy.Slow)
			if err != nil {
				t.Fatal(err)
			}
			defer dst.Close()
			w.dst = dst
			cmd := exec.Command(filepath.Join(binDir, "kubectl-sdr_mirror"), w.syncArgs(filepath.Join(w.dir, "images.txt"))...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(200+rng.IntN(1500)) * time.Millisecond)
			_ = cmd.Process.Signal(sig)
			_ = cmd.Wait()
			w.checkInvariant(t)
			dst.SetRate(0)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if o, err := w.run(ctx, w.syncArgs(filepath.Join(w.dir, "images.txt"))...); err != nil {
				t.Fatalf("rerun after %s failed: %v\n%s", sig, err, o)
			}
			if n := w.checkInvariant(t); n != len(w.apps) {
				t.Fatalf("after the rerun %d of %d apps are mapped", n, len(w.apps))
			}
		})
	}
}

// TestConcurrentSyncs runs two sync processes for different images against
// one bucket at the same time: no entry is lost.
func TestConcurrentSyncs(t *testing.T) {
	for _, bucket := range []string{"file", "s3"} {
		t.Run(bucket, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			w := newWorld(t, 21, 0, 8)
			if bucket == "s3" {
				w.moveMapToS3(t, func(endpoint string) string { return endpoint })
			}
			half := len(w.apps) / 2
			files := []string{filepath.Join(w.dir, "a.txt"), filepath.Join(w.dir, "b.txt")}
			for i, group := range [][]fixture.App{w.apps[:half], w.apps[half:]} {
				var b strings.Builder
				for _, a := range group {
					fmt.Fprintf(&b, "docker.io/atlanhq/%s:%s\n", a.Name, a.Version)
				}
				if err := os.WriteFile(files[i], []byte(b.String()), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for round := range 3 {
				var wg sync.WaitGroup
				errs := make([]error, 2)
				outs := make([]string, 2)
				for i := range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						outs[i], errs[i] = w.run(ctx, w.syncArgs(files[i])...)
					}()
				}
				wg.Wait()
				for i := range 2 {
					if errs[i] != nil {
						t.Fatalf("round %d: sync %d failed: %v\n%s", round, i, errs[i], outs[i])
					}
				}
				if n := w.checkInvariant(t); n != len(w.apps) {
					t.Fatalf("round %d: %d of %d entries present after two concurrent syncs:\n%s", round, n, len(w.apps), w.readMap(t))
				}
				// Start the next round from scratch.
				w.dropApps(t)
			}
		})
	}
}

// TestSyncS3UnderFaults keeps the map in a real S3 server behind the fault
// proxy: a write that fails leaves the old map, a conflict re-merges, and
// the invariant holds after every run.
func TestSyncS3UnderFaults(t *testing.T) {
	w := newWorld(t, 31, 0, 6)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var s3proxy *faultproxy.Proxy
	w.moveMapToS3(t, func(endpoint string) string {
		var err error
		s3proxy, err = faultproxy.Start(strings.TrimPrefix(endpoint, "http://"), 33, 0.5, 60, faultproxy.Status503, faultproxy.ResetBody, faultproxy.Slow, faultproxy.Truncated)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s3proxy.Close)
		return "http://" + s3proxy.Addr
	})
	for run := range 6 {
		w.dropApps(t) // so that every run writes
		out, err := w.run(ctx, w.syncArgs(filepath.Join(w.dir, "images.txt"))...)
		if err != nil && !strings.Contains(out, "error: ") {
			t.Fatalf("run %d failed without an error line:\n%s", run, out)
		}
		if strings.Contains(out, s3Secret) {
			t.Fatalf("run %d printed the storage secret:\n%s", run, out)
		}
		w.checkInvariant(t)
	}
	s3proxy.SetRate(0)
	if out, err := w.run(ctx, w.syncArgs(filepath.Join(w.dir, "images.txt"))...); err != nil {
		t.Fatalf("rerun without faults failed: %v\n%s", err, out)
	}
	if n := w.checkInvariant(t); n != len(w.apps) {
		t.Fatalf("after the clean rerun %d of %d apps are mapped", n, len(w.apps))
	}
	t.Logf("S3 faults injected: %v of %d requests", s3proxy.Counts(), s3proxy.Requests.Load())
	if s3proxy.Injected.Load() == 0 {
		t.Fatal("no fault reached the S3 server: the test proves nothing")
	}
}

// TestBundleImportInterrupted kills an import of a bundle at random points
// (SIGKILL, into a slowed destination): the rerun completes, and uploads
// no blob again into a repository it had already reached.
func TestBundleImportInterrupted(t *testing.T) {
	w := newWorld(t, 41, 0, 6)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bundleDir := filepath.Join(w.dir, "bundle")
	if o, err := w.run(ctx, "sync", "--to-bundle", bundleDir, "--from", "file", "--images-file", filepath.Join(w.dir, "images.txt"),
		"--registry-mirror", "docker.io="+w.src.Addr, "--trusted-root", filepath.Join(w.dir, "trusted_root.json")); err != nil {
		t.Fatalf("export failed: %v\n%s", err, o)
	}
	dst, err := faultproxy.Start(w.f.Dest, 9, 1, 1<<30, faultproxy.Slow)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	w.dst = dst
	args := append([]string{"sync", "--from-bundle", bundleDir, "--from", "bundle", "--target", dst.Addr + "/mirror",
		"--trusted-root", filepath.Join(w.dir, "trusted_root.json"), "--concurrency", "4"}, w.bucket...)
	landed := map[string]bool{}
	for i := range 2 {
		// Killed once a few blobs have landed: partway, whatever the
		// machine's speed.
		killWhen(t, args, func() bool { return dst.Uploaded() >= 4+i*3 })
		w.checkInvariant(t)
		for _, u := range dst.TakeUploads() {
			if landed[u] {
				t.Errorf("interrupted import %d uploaded %s again", i+1, u)
			}
			landed[u] = true
		}
	}
	if len(landed) == 0 {
		t.Fatal("no blob landed before the imports were killed: the test proves nothing")
	}
	dst.SetRate(0)
	if o, err := w.run(ctx, args...); err != nil {
		t.Fatalf("rerun failed: %v\n%s", err, o)
	}
	rest := dst.TakeUploads()
	for _, u := range rest {
		if landed[u] {
			t.Errorf("the rerun uploaded %s again", u)
		}
	}
	if n := w.checkInvariant(t); n != len(w.apps) {
		t.Fatalf("after the rerun %d of %d apps are mapped", n, len(w.apps))
	}
	t.Logf("blobs landed before the kills: %d; by the rerun: %d", len(landed), len(rest))
}

// TestBundleExportInterrupted kills an export (SIGKILL, from a slowed
// source) once some blobs are written: the rerun keeps them, hashed, and
// fetches only the rest.
func TestBundleExportInterrupted(t *testing.T) {
	w := newWorld(t, 43, 0, 6)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	src, err := faultproxy.Start(w.f.Source, 13, 1, 1<<30, faultproxy.Slow)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bundleDir := filepath.Join(w.dir, "bundle")
	args := []string{"sync", "--to-bundle", bundleDir, "--from", "file", "--images-file", filepath.Join(w.dir, "images.txt"),
		"--registry-mirror", "docker.io=" + src.Addr, "--trusted-root", filepath.Join(w.dir, "trusted_root.json"), "--concurrency", "2"}
	blobs := func() int {
		entries, _ := os.ReadDir(filepath.Join(bundleDir, "blobs", "sha256"))
		n := 0
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".partial") {
				n++
			}
		}
		return n
	}
	killWhen(t, args, func() bool { return blobs() >= 5 })
	written := blobs()
	if _, err := os.Stat(filepath.Join(bundleDir, "SHA256SUMS")); !os.IsNotExist(err) {
		t.Fatalf("an interrupted export left SHA256SUMS: %v", err)
	}
	src.SetRate(0)
	o, err := w.run(ctx, args...)
	if err != nil {
		t.Fatalf("rerun failed: %v\n%s", err, o)
	}
	m := regexp.MustCompile(`(\d+) blobs \(.*\); fetched (\d+) \(.*\), kept (\d+) already there`).FindStringSubmatch(o)
	if m == nil {
		t.Fatalf("rerun output lacks its counts:\n%s", o)
	}
	total, fetched, kept := atoi(t, m[1]), atoi(t, m[2]), atoi(t, m[3])
	if kept != written || fetched != total-written || written == 0 {
		t.Errorf("the rerun fetched %d and kept %d of %d blobs; %d were written before the kill", fetched, kept, total, written)
	}
	if o, err := w.run(ctx, "verify", "--bundle", bundleDir, "--trusted-root", filepath.Join(w.dir, "trusted_root.json")); err != nil {
		t.Fatalf("the finished bundle does not verify: %v\n%s", err, o)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// killWhen runs the binary with args and kills it (SIGKILL) once ready
// reports true, polled every 10ms for at most a minute. A run that ends by
// itself first fails the test: it was not interrupted.
func killWhen(t *testing.T, args []string, ready func() bool) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "kubectl-sdr_mirror"), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	for deadline := time.Now().Add(time.Minute); !ready() && time.Now().Before(deadline); {
		select {
		case <-exited:
			t.Fatalf("%q finished before it could be interrupted:\n%s", args[:2], out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}
