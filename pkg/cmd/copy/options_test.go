package copycmd

import (
	"flag"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
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

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/core"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/registryflags"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
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
	cmd := NewCmdCopy(f, func(o *Options) error { got = o; return nil })
	cmd.SetArgs(append([]string{}, args...))
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return got, cmd.Execute()
}

func TestNewCmdCopy(t *testing.T) {
	noCredentials(t)
	auth := filepath.Join(t.TempDir(), "auth.json")
	if err := os.WriteFile(auth, []byte(`{"auths":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		pairs     []mirror.Pair
		conc      int
		platforms []string
		overwrite bool
		registry  registryflags.Flags
		err       string
	}{
		{name: "one pair", args: []string{"a:1", "b:1"},
			pairs: []mirror.Pair{{Source: "a:1", Destination: "b:1"}}, conc: mirror.DefaultConcurrency},
		{name: "every flag", args: []string{"a:1", "b:1", "c:2", "d:2", "--concurrency", "2", "--platform", "linux/amd64,linux/arm64/v8", "--overwrite",
			"--registry-auth-file", auth, "--insecure-registry", "r1:5000", "--insecure-registry", "r2:5000", "--registry-ca-file", "ca.pem",
			"--registry-mirror", "docker.io=proxy:5000"},
			pairs: []mirror.Pair{{Source: "a:1", Destination: "b:1"}, {Source: "c:2", Destination: "d:2"}}, conc: 2,
			platforms: []string{"linux/amd64", "linux/arm64/v8"}, overwrite: true,
			registry: registryflags.Flags{AuthFile: auth, Insecure: []string{"r1:5000", "r2:5000"}, CAFile: "ca.pem", Mirrors: []string{"docker.io=proxy:5000"}}},
		{name: "no arguments", err: "want SOURCE DESTINATION pairs, got 0 argument(s)"},
		{name: "odd arguments", args: []string{"a:1", "b:1", "c:1"}, err: "want SOURCE DESTINATION pairs, got 3 argument(s)"},
		{name: "no concurrency", args: []string{"a:1", "b:1", "--concurrency", "0"}, err: "--concurrency 0: must be at least 1"},
		{name: "two mirrors for one host", args: []string{"a:1", "b:1", "--registry-mirror", "docker.io=m1:5000", "--registry-mirror", "docker.io=m2:5000"},
			err: "two mirrors"},
		{name: "unreadable auth file", args: []string{"a:1", "b:1", "--registry-auth-file", "/nonexistent/auth.json"}, err: "--registry-auth-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := core.NewTest(nil)
			o, err := parse(f, tc.args...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("copy %q: error %v, want %q", tc.args, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("copy %q: %v", tc.args, err)
			}
			if !reflect.DeepEqual(o.Pairs, tc.pairs) || o.Concurrency != tc.conc || !reflect.DeepEqual(o.Platforms, tc.platforms) ||
				o.Overwrite != tc.overwrite || !reflect.DeepEqual(o.Registry, tc.registry) {
				t.Errorf("copy %q: options %+v, want pairs %v, concurrency %d, platforms %q, overwrite %v, registry %+v",
					tc.args, o, tc.pairs, tc.conc, tc.platforms, tc.overwrite, tc.registry)
			}
			if len(o.opts) == 0 {
				t.Errorf("copy %q: Complete built no engine options", tc.args)
			}
		})
	}
}

// serve starts an in-process registry and returns its host.
func serve(t *testing.T) string {
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// pushImage pushes a one-layer image whose digest never changes.
func pushImage(t *testing.T, ref string) {
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
}

// columnGap separates the columns of a table.
var columnGap = regexp.MustCompile(` {2,}`)

// stable replaces the registries' random ports, and, in a table, the
// padding that depends on their length.
func stable(s string, table bool, hosts ...string) string {
	for i, h := range hosts {
		s = strings.ReplaceAll(s, h, []string{"SRC", "DST"}[i])
	}
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
	tests := []struct {
		name   string
		output string
		images []string // repositories pushed to the source
		args   []string // pairs, with SRC and DST for the registries
		err    string
	}{
		{name: "copied", output: "table", images: []string{"atlanhq/app:1.0"}, args: []string{"SRC/atlanhq/app:1.0", "DST/atlan/app:1.0"}},
		{name: "copied-json", output: "json", images: []string{"atlanhq/app:1.0"}, args: []string{"SRC/atlanhq/app:1.0", "DST/atlan/app:1.0"}},
		{name: "present", output: "table", images: []string{"atlanhq/app:1.0"}, args: []string{"SRC/atlanhq/app:1.0", "SRC/atlanhq/app:1.0"}},
		{name: "missing", output: "table", args: []string{"SRC/atlanhq/missing:1.0", "DST/atlan/missing:1.0"}, err: "atlanhq/missing:1.0"},
		{name: "one-of-two-missing", output: "json", images: []string{"atlanhq/app:1.0"},
			args: []string{"SRC/atlanhq/app:1.0", "DST/atlan/app:1.0", "SRC/atlanhq/missing:1.0", "DST/atlan/missing:1.0"},
			err:  "1 of 2 images failed to copy (each error is above); rerun to finish, completed images are skipped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := serve(t), serve(t)
			for _, img := range tc.images {
				pushImage(t, src+"/"+img)
			}
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.NewReplacer("SRC", src, "DST", dst).Replace(a)
			}
			f, out, errOut := core.NewTest(nil)
			f.Global.Output = tc.output
			o, err := parse(f, append(args, "--insecure-registry", src, "--insecure-registry", dst)...)
			if err != nil {
				t.Fatal(err)
			}
			err = o.Run(t.Context())
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("copy %q: error %v, want %q", args, err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatalf("copy %q: %v", args, err)
			}
			golden(t, tc.name, stable(out.String(), tc.output == "table", src, dst))
			// Images are copied at once: their progress lines come in any order.
			lines := strings.SplitAfter(stable(errOut.String(), false, src, dst), "\n")
			slices.Sort(lines)
			golden(t, tc.name+"-stderr", strings.Join(lines, ""))
		})
	}
}
