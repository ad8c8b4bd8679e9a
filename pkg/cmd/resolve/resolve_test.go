package resolve

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/core"
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

const imageMap = `images:
  # every tag of teradata
  "atlanhq/atlan-teradata-app": "registry.mycompany.com/atlan/atlan-teradata-app"
  "atlanhq/atlan-teradata-app:3.1.4": "registry.mycompany.com/atlan/teradata:3.1.4-approved"
  "docker.io/atlanhq/postgres": "registry.mycompany.com/atlan/postgres"
`

// writeMap writes the image map into dir under key and returns its path.
func writeMap(t *testing.T, dir, key string) string {
	t.Helper()
	path := filepath.Join(dir, key)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(imageMap), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// parse runs the command line up to the options Run would get.
func parse(f *core.Factory, args ...string) (*Options, error) {
	var got *Options
	cmd := NewCmdResolve(f, func(o *Options) error { got = o; return nil })
	cmd.SetArgs(append([]string{}, args...))
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return got, cmd.Execute()
}

func TestNewCmdResolve(t *testing.T) {
	dir := t.TempDir()
	file := writeMap(t, dir, "image-map.yaml")
	writeMap(t, dir, "sdr/image-map.yaml")
	tests := []struct {
		name    string
		args    []string
		images  []string
		base    string
		mapped  bool   // a map was loaded
		warning string // on standard error
		err     string
	}{
		{name: "map file", args: []string{"atlanhq/a:1", "atlanhq/b:2", "--map", file},
			images: []string{"atlanhq/a:1", "atlanhq/b:2"}, mapped: true},
		{name: "prefix only", args: []string{"atlanhq/a:1", "--base", "registry.example.com/atlan"},
			images: []string{"atlanhq/a:1"}, base: "registry.example.com/atlan"},
		{name: "file bucket", args: []string{"atlanhq/a:1", "--bucket", "file://" + dir, "--image-map-path", "sdr/image-map.yaml"},
			images: []string{"atlanhq/a:1"}, mapped: true},
		// A map that is named but missing is an error, as for map get.
		{name: "empty memory bucket", args: []string{"atlanhq/a:1", "--bucket", "mem://", "--image-map-path", "sdr/image-map.yaml"},
			err: `image map "mem:/sdr/image-map.yaml" does not exist: check --bucket and --image-map-path`},
		{name: "missing map file", args: []string{"atlanhq/a:1", "--map", filepath.Join(dir, "missing.yaml")},
			err: `--map "` + filepath.Join(dir, "missing.yaml") + `": the image map file does not exist; check the path`},
		{name: "missing key in a file bucket", args: []string{"atlanhq/a:1", "--bucket", "file://" + dir, "--image-map-path", "sdr/missing.yaml"},
			err: `image map "file://` + dir + `/sdr/missing.yaml" does not exist: check --bucket and --image-map-path`},
		{name: "base beside a map", args: []string{"atlanhq/a:1", "--map", file, "--base", "registry.example.com/atlan"},
			images: []string{"atlanhq/a:1"}, base: "registry.example.com/atlan", mapped: true, warning: "warning: --base is ignored"},
		{name: "no image", args: nil, err: "requires at least 1 arg(s), only received 0"},
		{name: "bad image", args: []string{"Atlanhq/App:1", "--map", file}, err: `image argument: invalid image reference "Atlanhq/App:1"`},
		{name: "bucket without key", args: []string{"atlanhq/a:1", "--bucket", "mem://"},
			err: "--bucket needs --image-map-path: the object key of the image map in the bucket"},
		{name: "map and bucket", args: []string{"atlanhq/a:1", "--map", file, "--bucket", "mem://", "--image-map-path", "k"},
			err: "--map cannot be combined with --bucket, --objectstore-component or --image-map-path: give one location"},
		{name: "key without bucket", args: []string{"atlanhq/a:1", "--image-map-path", "k"},
			err: "--image-map-path needs --bucket or --objectstore-component: the bucket that holds the map"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, errOut := core.NewTest(nil)
			o, err := parse(f, tc.args...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("resolve %q: error %v, want %q", tc.args, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolve %q: %v", tc.args, err)
			}
			if strings.Join(o.Images, " ") != strings.Join(tc.images, " ") || o.Base != tc.base || o.resolver.Prefix != tc.base {
				t.Errorf("resolve %q: images %q, base %q, prefix %q; want %q, %q", tc.args, o.Images, o.Base, o.resolver.Prefix, tc.images, tc.base)
			}
			if (o.resolver.Map != nil) != tc.mapped {
				t.Errorf("resolve %q: map loaded = %v, want %v", tc.args, o.resolver.Map != nil, tc.mapped)
			}
			if !strings.Contains(errOut.String(), tc.warning) || (tc.warning == "" && errOut.Len() > 0) {
				t.Errorf("resolve %q: stderr %q, want %q", tc.args, errOut, tc.warning)
			}
		})
	}
}

func TestRun(t *testing.T) {
	file := writeMap(t, t.TempDir(), "image-map.yaml")
	images := []string{"atlanhq/atlan-teradata-app:3.1.4", "atlanhq/atlan-teradata-app:3.2.0", "atlanhq/postgres:16", "atlanhq/unmapped:1.0"}
	tests := []struct {
		name   string
		output string
		args   []string
	}{
		{"table", "table", append(images, "--map", file)},
		{"json", "json", append(images, "--map", file)},
		{"yaml", "yaml", append(images, "--map", file)},
		{"prefix", "table", append(images, "--base", "registry.example.com/atlan")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, out, errOut := core.NewTest(nil)
			f.Global.Output = tc.output
			o, err := parse(f, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if err := o.Run(t.Context()); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, out.String())
			golden(t, tc.name+"-stderr", errOut.String())
		})
	}
}
