package synccmd_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testsdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cli"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixture is an in-process registry holding source images and their
// mirrors, and a file:// bucket holding the image map.
type fixture struct {
	reg    string // host:port of the registry
	bucket string // file:// URL of the bucket
	dir    string
	stdin  string
	env    map[string]string
	setup  func(*factory.Factory)
}

const mapKey = "sdr/image-map.yaml"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	fx := &fixture{reg: strings.TrimPrefix(s.URL, "http://"), dir: t.TempDir(), env: map[string]string{}}
	fx.bucket = "file://" + fx.dir
	return fx
}

// push writes a one-layer image whose digest depends only on content.
func (fx *fixture) push(t *testing.T, repoTag, content string) {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer([]byte(content), types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(fx.reg+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
}

func (fx *fixture) writeMap(t *testing.T, m string) {
	t.Helper()
	p := filepath.Join(fx.dir, mapKey)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(fx.expand(m)), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (fx *fixture) readMap(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fx.dir, mapKey))
	if err != nil {
		t.Fatal(err)
	}
	return fx.normalise(string(b))
}

// expand replaces REG with the registry's address.
func (fx *fixture) expand(s string) string { return strings.ReplaceAll(s, "REG", fx.reg) }

var port = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

// normalise hides the bucket's directory and the registry's port, keeping
// the text's width.
func (fx *fixture) normalise(s string) string {
	s = strings.ReplaceAll(s, fx.dir, "/BUCKET")
	return port.ReplaceAllStringFunc(s, func(m string) string {
		return "127.0.0.1:" + strings.Repeat("X", len(m)-len("127.0.0.1:"))
	})
}

// run runs the command line, REG expanded, and returns stdout and stderr
// normalised, and the exit code.
func (fx *fixture) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := factory.New(genericiooptions.IOStreams{In: strings.NewReader(fx.expand(fx.stdin)), Out: &out, ErrOut: &errOut},
		func(k string) (string, bool) { v, ok := fx.env[k]; return v, ok })
	if fx.setup != nil {
		fx.setup(f)
	}
	for i := range args {
		args[i] = fx.expand(args[i])
	}
	code := cli.Run(context.Background(), f, args)
	return fx.normalise(out.String()), fx.normalise(errOut.String()), code
}

// bucketArgs are the flags of a run with no cluster: the registry, the
// map in the bucket, and the target.
func (fx *fixture) bucketArgs(extra ...string) []string {
	return append([]string{"--insecure-registry", "REG", "--allowed-source", "REG/atlanhq",
		"--bucket", fx.bucket, "--image-map-path", mapKey, "--target", "REG/mirror"}, extra...)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output =\n%s\nwant (%s)\n%s", got, p, want)
	}
}

// every state: a ok, b missing, c unmapped, d drift, e unmapped but
// already mirrored; old is stale, quay.io is outside the allowed sources
// and a is listed twice.
func everyState(t *testing.T) *fixture {
	fx := newFixture(t)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		fx.push(t, "atlanhq/atlan-"+n+":1", "source "+n)
	}
	fx.push(t, "mirror/atlan-a:1", "source a")
	fx.push(t, "mirror/atlan-d:1", "something else")
	fx.push(t, "mirror/atlan-e:1", "source e")
	fx.writeMap(t, `images:
  "REG/atlanhq/atlan-a": "REG/mirror/atlan-a"
  "REG/atlanhq/atlan-b": "REG/mirror/atlan-b"
  "REG/atlanhq/atlan-d": "REG/mirror/atlan-d"
  "REG/atlanhq/atlan-old": "REG/mirror/atlan-old"
`)
	fx.stdin = "REG/atlanhq/atlan-a:1\nREG/atlanhq/atlan-b:1\nREG/atlanhq/atlan-c:1 # new\nREG/atlanhq/atlan-d:1\nquay.io/other/x:1\n" +
		"REG/atlanhq/atlan-e:1 # copied by hand\nREG/atlanhq/atlan-a:1\n"
	return fx
}

func TestDiff(t *testing.T) {
	fx := everyState(t)
	for _, tc := range []struct {
		golden string
		args   []string
		code   int
	}{
		{"diff.golden", []string{"--why"}, 0},
		{"diff-detailed.golden", []string{"--detailed-exitcode"}, 2},
		{"diff-offline.golden", []string{"--offline"}, 0},
		{"diff-map-diff.golden", []string{"--offline", "--show-map-diff"}, 0},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			args := append([]string{"diff", "--images-file", "-"}, fx.bucketArgs(tc.args...)...)
			out, errOut, code := fx.run(t, args...)
			if code != tc.code || errOut != "" {
				t.Fatalf("diff %q: exit %d, stderr %q; want exit %d", tc.args, code, errOut, tc.code)
			}
			golden(t, tc.golden, out)
		})
	}
}

// TestDiffInWords: a diff with no needed image says so instead of a bare
// table header, and a map that would not change says so under
// --show-map-diff.
func TestDiffInWords(t *testing.T) {
	fx := newFixture(t)
	fx.push(t, "atlanhq/atlan-a:1", "source a")
	fx.push(t, "mirror/atlan-a:1", "source a")
	fx.writeMap(t, `images:
  "REG/atlanhq/atlan-a": "REG/mirror/atlan-a"
`)
	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
		header      bool
	}{
		{"nothing needed", "# no images\n", nil, "no images needed; 1 stale entry\n", false},
		{"in sync", "REG/atlanhq/atlan-a:1\n", []string{"--show-map-diff"}, "1 image: 1 ok; everything is mirrored and mapped\n\nthe image map would not change\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx.stdin = tc.stdin
			out, errOut, code := fx.run(t, append([]string{"diff", "--from", "file", "--images-file", "-"}, fx.bucketArgs(tc.args...)...)...)
			if code != 0 || errOut != "" {
				t.Fatalf("diff: exit %d, stderr %q", code, errOut)
			}
			if strings.Contains(out, "STATE") != tc.header || !strings.HasSuffix(out, tc.want) {
				t.Errorf("diff printed\n%s\nwant it to end in %q, with a table header %v", out, tc.want, tc.header)
			}
		})
	}
}

func TestSync(t *testing.T) {
	fx := everyState(t)
	sync := func(extra ...string) (string, string, int) {
		return fx.run(t, append([]string{"sync", "--verify=false", "--images-file", "-"}, fx.bucketArgs(extra...)...)...)
	}

	// Drift is left alone without --overwrite, and makes the run fail.
	out, errOut, code := sync()
	if code != 1 || !strings.HasSuffix(errOut, "error: 1 of 5 needed images is not ok (see the STATE column); it was not added to the map\n") {
		t.Fatalf("sync: exit %d, stderr %q", code, errOut)
	}
	golden(t, "sync.golden", out)
	// Images are copied at once: their progress lines come in any order.
	lines := strings.SplitAfter(errOut, "\n")
	slices.Sort(lines)
	golden(t, "sync-stderr.golden", strings.Join(lines, ""))
	golden(t, "sync-map.golden", fx.readMap(t))

	// Pruning the stale entry is refused beyond --prune-max.
	_, errOut, code = sync("--overwrite", "--prune", "--prune-max", "0")
	want := `error: refusing to --prune 1 of the map's 6 entries (listed as stale above): more than --prune-max 0 allows (0); if they are all unused, pass --confirm-prune; the map was not changed`
	if code != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("sync --prune: exit %d, stderr %q; want %q", code, errOut, want)
	}

	out, errOut, code = sync("--overwrite", "--prune", "--prune-max", "0", "--confirm-prune")
	if code != 0 {
		t.Fatalf("sync --overwrite --prune --confirm-prune: exit %d, stderr %q", code, errOut)
	}
	golden(t, "sync-overwrite.golden", out)
	golden(t, "sync-overwrite-map.golden", fx.readMap(t))

	out, errOut, code = fx.run(t, append([]string{"diff", "--detailed-exitcode", "--images-file", "-"}, fx.bucketArgs()...)...)
	if code != 0 || errOut != "" {
		t.Fatalf("diff after sync: exit %d, stderr %q\n%s", code, errOut, out)
	}
}

// TestSyncDryRun: a dry run writes nothing and exits as the real run
// would: 1 for the drift that sync leaves without --overwrite, 0 with it.
func TestSyncDryRun(t *testing.T) {
	fx := everyState(t)
	before := fx.readMap(t)
	out, errOut, code := fx.run(t, append([]string{"sync", "--dry-run", "--verify=false", "--images-file", "-"}, fx.bucketArgs()...)...)
	if code != 1 || !strings.Contains(errOut, "error: 1 of 5 needed images would not be ok after sync (see the STATE column); it would not be added to the map") {
		t.Fatalf("sync --dry-run with drift: exit %d, stderr %q; want 1 and the count", code, errOut)
	}
	if _, errOut, code := fx.run(t, append([]string{"sync", "--dry-run", "--overwrite", "--verify=false", "--images-file", "-"}, fx.bucketArgs()...)...); code != 0 {
		t.Fatalf("sync --dry-run --overwrite: exit %d, stderr %q; want 0", code, errOut)
	}
	golden(t, "sync-dry-run.golden", out)
	golden(t, "sync-dry-run-stderr.golden", errOut)
	if after := fx.readMap(t); after != before {
		t.Errorf("sync --dry-run changed the map:\n%s", after)
	}
}

// TestLatestReleases reads the needed images from a latest-releases
// endpoint served by httptest; an entry outside the allowed sources is
// reported and fails the run once the rest is shown.
func TestLatestReleases(t *testing.T) {
	fx := everyState(t)
	atlan := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/service/marketplace/latest-releases" || r.Header.Get("Authorization") != "Bearer t0ken" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, fx.expand(`{"releases":[
  {"app_id":"1","app_name":"postgres","version":"2.0.1","version_id":"v1","image":"REG/atlanhq/atlan-c:1"},
  {"app_id":"2","app_name":"mysql","version":"8.0.0","version_id":"v2","image":"REG/atlanhq/atlan-a:1"},
  {"app_id":"3","app_name":"other","version":"1","version_id":"v3","image":"quay.io/other/x:1"}]}`))
	}))
	t.Cleanup(atlan.Close)
	fx.env["ATLAN_API_TOKEN"] = "t0ken"
	fx.env["ATLAN_URL"] = atlan.URL
	out, errOut, code := fx.run(t, append([]string{"diff", "--why"}, fx.bucketArgs()...)...)
	wantErr := `warning: latest-releases entry 2 (other quay.io/other/x:1) skipped: `
	if code != 1 || !strings.HasPrefix(errOut, wantErr) ||
		!strings.HasSuffix(errOut, "error: 1 latest-releases entry was skipped (see the warnings above); the other images were handled\n") {
		t.Fatalf("diff: exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(out+errOut, "t0ken") {
		t.Errorf("the token was printed")
	}
	golden(t, "latest-releases.golden", out)
}

// TestCluster plans the images of an SDR in client-go's fake clientset,
// its map in a bucket, without consulting the registries.
func TestCluster(t *testing.T) {
	fx := newFixture(t)
	fx.writeMap(t, "images:\n  \"atlanhq/atlan-sdr\": \"reg.example.com/atlan/atlan-sdr\"\n")
	clients := testsdr.FakeCluster(t,
		testsdr.FakeSDR("reg.example.com/atlan", mapKey),
		testsdr.FakeRelease{Name: "postgres", Namespace: testsdr.Namespace, Chart: "connector",
			Images: []string{"atlanhq/atlan-postgres-app:2.0.1", "atlanhq/atlan-app-init:1.0.0"}})
	fx.setup = func(f *factory.Factory) { f.KubeClients = clients }
	out, errOut, code := fx.run(t, "diff", "-n", testsdr.Namespace, "--bucket", fx.bucket, "--offline", "--why")
	if code != 0 || errOut != "" {
		t.Fatalf("diff: exit %d, stderr %q", code, errOut)
	}
	golden(t, "cluster.golden", out)
	out, _, _ = fx.run(t, "diff", "-n", testsdr.Namespace, "--bucket", fx.bucket, "--offline", "-o", "json")
	golden(t, "cluster-json.golden", out)
}
