package mapcmd

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"helm.sh/helm/v3/pkg/chart"
	rspb "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// testdata is absolute: TestRun changes the working directory.
var testdata, _ = filepath.Abs("testdata")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(testdata, name+".golden")
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

const imageMap = `# Image map for the SDR in prod.
images:
  # every tag of teradata
  "atlanhq/atlan-teradata-app": "registry.mycompany.com/atlan/atlan-teradata-app"
  "atlanhq/atlan-teradata-app:3.1.4": "registry.mycompany.com/atlan/teradata:3.1.4-approved"
release:
  name: my-sdr-release
  storage_namespace: flux-system
`

const brokenMap = `images:
  "atlanhq/app": "registry.mycompany.com/atlan/app:1.0"
  "": "registry.mycompany.com/atlan/empty"
`

// suspectMap passes the structural checks, yet the SDR would pull the wrong
// image for three of its entries.
const suspectMap = `images:
  "docker.io/atlanhq/atlan-teradata-app": "registry.mycompany.com/atlan/atlan-teradata-app"
  "atlanhq/atlan-teradata-app": "registry.mycompany.com/atlan/atlan-teradata-app"
  "atlanhq/atlan-postgres-app:2.0.1": "registry.mycompany.com/atlan/atlan-postgres-app"
  "atlanhq/atlan-mysql-app": "registry.mycompany.com"
`

// duplicateMap holds one key three times; the SDR uses the last copy.
const duplicateMap = `images:
  # every tag of teradata
  "atlanhq/atlan-teradata-app": "registry.mycompany.com/atlan/old-teradata"
  "atlanhq/atlan-postgres-app": "registry.mycompany.com/atlan/atlan-postgres-app"
  "atlanhq/atlan-teradata-app": "registry.mycompany.com/atlan/atlan-teradata-app"
  "atlanhq/atlan-teradata-app": "registry.mycompany.com/atlan/teradata"
`

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// releaseRecord is a Helm release record (secret driver) of the SDR in
// namespace atlan, naming its image map path.
func releaseRecord(t *testing.T) runtime.Object {
	t.Helper()
	rel := rspb.Release{
		Name: "atlan-sdr-acme", Namespace: "atlan", Version: 1,
		Info:   &rspb.Info{Status: rspb.StatusDeployed},
		Chart:  &chart.Chart{Metadata: &chart.Metadata{Name: "atlan-sdr", Version: "1.0.0"}},
		Config: map[string]any{"sdr": map[string]any{"deploymentName": "acme", "config": map[string]any{"imageMapPath": "sdr/image-map.yaml"}}},
	}
	data, err := json.Marshal(rel)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "atlan", Name: "sh.helm.release.v1.atlan-sdr-acme.v1",
			Labels: map[string]string{"owner": "helm", "name": "atlan-sdr-acme", "version": "1", "status": "deployed"}},
		Type: "helm.sh/release.v1",
		Data: map[string][]byte{"release": []byte(base64.StdEncoding.EncodeToString(data))},
	}
}

// withCluster gives f a fake cluster holding objects, in namespace ns.
func withCluster(f *factory.Factory, ns string, objects ...runtime.Object) {
	kube := fake.NewClientset(objects...)
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{sdr.HelmReleaseGVR: "HelmReleaseList"})
	f.KubeClients = func() (kubernetes.Interface, dynamic.Interface, error) { return kube, dyn, nil }
	*f.ConfigFlags.Namespace = ns
}

// command builds map with the one verb sub, as NewCmdMap does.
func command(f *factory.Factory, sub func(loc *factory.MapLocation) *cobra.Command, args ...string) *cobra.Command {
	loc := &factory.MapLocation{}
	cmd := &cobra.Command{Use: "map"}
	loc.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(sub(loc))
	cmd.SetArgs(append([]string{}, args...))
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return cmd
}

// options is what one verb's runF saw.
type options struct {
	url, source, destination string
	raw, dryRun              bool
}

// parse runs map args up to the options Run would get.
func parse(t *testing.T, f *factory.Factory, args ...string) (options, error) {
	t.Helper()
	var got options
	subs := map[string]func(loc *factory.MapLocation) *cobra.Command{
		"get": func(loc *factory.MapLocation) *cobra.Command {
			return NewCmdGet(f, loc, func(o *GetOptions) error {
				defer o.obj.Close()
				got = options{url: o.obj.URL(), raw: o.Raw}
				return nil
			})
		},
		"validate": func(loc *factory.MapLocation) *cobra.Command {
			return NewCmdValidate(f, loc, func(o *ValidateOptions) error {
				defer o.obj.Close()
				got = options{url: o.obj.URL()}
				return nil
			})
		},
		"set": func(loc *factory.MapLocation) *cobra.Command {
			return NewCmdSet(f, loc, func(o *SetOptions) error {
				defer o.obj.Close()
				got = options{url: o.obj.URL(), source: o.Source, destination: o.Destination, dryRun: o.DryRun}
				return nil
			})
		},
		"rm": func(loc *factory.MapLocation) *cobra.Command {
			return NewCmdRemove(f, loc, func(o *RemoveOptions) error {
				defer o.obj.Close()
				got = options{url: o.obj.URL(), source: o.Source, dryRun: o.DryRun}
				return nil
			})
		},
	}
	err := command(f, subs[args[0]], args...).Execute()
	return got, err
}

func TestNewCmdMapVerbs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "image-map.yaml")
	writeFile(t, file, imageMap)
	component := filepath.Join(dir, "component.yaml")
	writeFile(t, component, "apiVersion: dapr.io/v1alpha1\nkind: Component\n")
	tests := []struct {
		name    string
		args    []string
		cluster bool
		want    options
		secrets bool // the SDR's secrets were adopted
		err     string
	}{
		{name: "get a file", args: []string{"get", "--map", file}, want: options{url: file}},
		{name: "get raw from a bucket", args: []string{"get", "--raw", "--bucket", "file://" + dir, "--image-map-path", "sdr/image-map.yaml"},
			want: options{url: "file://" + dir + "/sdr/image-map.yaml", raw: true}},
		{name: "validate", args: []string{"validate", "--map", file}, want: options{url: file}},
		{name: "set", args: []string{"set", "atlanhq/a", "registry.example.com/atlan/a", "--map", file, "--dry-run"},
			want: options{url: file, source: "atlanhq/a", destination: "registry.example.com/atlan/a", dryRun: true}},
		{name: "rm", args: []string{"rm", "atlanhq/a", "--map", file}, want: options{url: file, source: "atlanhq/a"}},
		{name: "the SDR's map path, a bucket given", args: []string{"get", "--bucket", "file://" + dir}, cluster: true,
			want: options{url: "file://" + dir + "/sdr/image-map.yaml"}, secrets: true},
		{name: "set needs two arguments", args: []string{"set", "atlanhq/a", "--map", file}, err: "accepts 2 arg(s), received 1"},
		{name: "rm needs one argument", args: []string{"rm", "--map", file}, err: "accepts 1 arg(s), received 0"},
		{name: "bucket and component", args: []string{"get", "--bucket", "mem://", "--objectstore-component", component},
			err: "--bucket cannot be combined with --objectstore-component: give one bucket"},
		{name: "map and config", args: []string{"get", "--map", file, "--config", component},
			err: "--config and --values read the SDR's map location; they cannot be combined with a map given by --map, --bucket or --objectstore-component"},
		{name: "map and key", args: []string{"get", "--map", file, "--image-map-path", "k"},
			err: "--map cannot be combined with --bucket, --objectstore-component or --image-map-path: give one location"},
		{name: "no map and no cluster", args: []string{"validate"},
			err: "no image map given, and the SDR's could not be read from the cluster: "},
		{name: "bucket, no SDR in the cluster", args: []string{"get", "--bucket", "mem://"}, cluster: true,
			err: "--bucket needs --image-map-path, the object key of the image map (the SDR, which names it, could not be read from the cluster: finding the SDR: no Helm release"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := factory.NewTest(nil)
			if tc.cluster {
				objects := []runtime.Object{}
				if tc.err == "" {
					objects = append(objects, releaseRecord(t))
				}
				withCluster(f, "atlan", objects...)
			}
			got, err := parse(t, f, tc.args...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("map %q: error %v, want %q", tc.args, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("map %q: %v", tc.args, err)
			}
			if got != tc.want {
				t.Errorf("map %q: options %+v, want %+v", tc.args, got, tc.want)
			}
			if (f.Secrets != nil) != tc.secrets {
				t.Errorf("map %q: secrets adopted = %v, want %v", tc.args, f.Secrets != nil, tc.secrets)
			}
		})
	}
}

// TestRun runs each verb on a map file in the working directory, so that
// the map's name in the output is stable.
func TestRun(t *testing.T) {
	tests := []struct {
		name   string
		output string
		text   string // the map; none when empty
		args   []string
		err    string
		after  string // the map file afterwards; unchanged when empty
	}{
		{name: "get", output: "table", text: imageMap, args: []string{"get"}},
		{name: "get-json", output: "json", text: imageMap, args: []string{"get"}},
		{name: "get-raw", output: "table", text: imageMap, args: []string{"get", "--raw"}},
		{name: "validate", output: "table", text: imageMap, args: []string{"validate"}},
		{name: "validate-problems", output: "table", text: brokenMap, args: []string{"validate"}, err: `image map "image-map.yaml": 2 problems`},
		{name: "validate-problems-json", output: "json", text: brokenMap, args: []string{"validate"}, err: `image map "image-map.yaml": 2 problems`},
		{name: "set", output: "table", text: imageMap, args: []string{"set", "atlanhq/atlan-postgres-app", "registry.mycompany.com/atlan/atlan-postgres-app"}, after: "set-map"},
		{name: "set-new-map", output: "yaml", args: []string{"set", "atlanhq/atlan-postgres-app:2.0.1", "registry.mycompany.com/atlan/postgres:2.0.1"}, after: "set-new-map-map"},
		{name: "set-dry-run", output: "table", text: imageMap, args: []string{"set", "atlanhq/atlan-teradata-app", "registry.example.com/other/teradata", "--dry-run"}},
		{name: "set-dry-run-json", output: "json", text: imageMap, args: []string{"set", "atlanhq/atlan-teradata-app", "registry.example.com/other/teradata", "--dry-run"}},
		{name: "rm", output: "table", text: imageMap, args: []string{"rm", "atlanhq/atlan-teradata-app:3.1.4"}, after: "rm-map"},
		{name: "rm-dry-run", output: "table", text: imageMap, args: []string{"rm", "atlanhq/atlan-teradata-app:3.1.4", "--dry-run"}},
		{name: "rm-unknown", output: "table", text: imageMap, args: []string{"rm", "docker.io/atlanhq/atlan-teradata-app"},
			err: `map rm: `},
		{name: "rm-no-map", output: "table", args: []string{"rm", "atlanhq/a"}, err: `--map "image-map.yaml": the image map file does not exist; check the path`},
		{name: "get-no-map", output: "table", args: []string{"get"}, err: `--map "image-map.yaml": the image map file does not exist; check the path`},
		{name: "get-raw-no-map", output: "table", args: []string{"get", "--raw"}, err: `--map "image-map.yaml": the image map file does not exist; check the path`},
		{name: "validate-no-map", output: "table", args: []string{"validate"}, err: `--map "image-map.yaml": the image map file does not exist; check the path`},
		{name: "validate-suspect", output: "table", text: suspectMap, args: []string{"validate"}, err: `image map "image-map.yaml": 3 problems`},
		{name: "validate-suspect-json", output: "json", text: suspectMap, args: []string{"validate"}, err: `image map "image-map.yaml": 3 problems`},
		{name: "validate-duplicate", output: "table", text: duplicateMap, args: []string{"validate"}, err: `image map "image-map.yaml": 2 problems`},
		// set and rm repair a map with a duplicated key and say what they did.
		{name: "set-duplicate", output: "table", text: duplicateMap,
			args: []string{"set", "atlanhq/atlan-teradata-app", "registry.mycompany.com/atlan/teradata"}, after: "set-duplicate-map"},
		{name: "set-duplicate-json", output: "json", text: duplicateMap,
			args: []string{"set", "atlanhq/atlan-teradata-app", "registry.mycompany.com/atlan/atlan-teradata-app"}, after: "set-duplicate-json-map"},
		{name: "set-duplicate-dry-run", output: "table", text: duplicateMap,
			args: []string{"set", "atlanhq/atlan-teradata-app", "registry.mycompany.com/atlan/teradata", "--dry-run"}},
		{name: "rm-duplicate", output: "table", text: duplicateMap, args: []string{"rm", "atlanhq/atlan-teradata-app"}, after: "rm-duplicate-map"},
		{name: "rm-duplicate-json", output: "json", text: duplicateMap, args: []string{"rm", "atlanhq/atlan-teradata-app"}, after: "rm-duplicate-map"},
		{name: "rm-duplicate-dry-run", output: "table", text: duplicateMap, args: []string{"rm", "atlanhq/atlan-teradata-app", "--dry-run"}},
		// An edit of another key leaves the duplicate, and is refused with the way out.
		{name: "set-other-duplicate", output: "table", text: duplicateMap,
			args: []string{"set", "atlanhq/atlan-mysql-app", "registry.mycompany.com/atlan/atlan-mysql-app"}, err: `'map set'`},
		{name: "set-tag-without-tag", output: "table", text: imageMap,
			args: []string{"set", "atlanhq/atlan-postgres-app:2.0.1", "registry.mycompany.com/atlan/atlan-postgres-app"}, err: `would pull "registry.mycompany.com/atlan/atlan-postgres-app:latest"`},
		{name: "set-host", output: "table", text: imageMap,
			args: []string{"set", "atlanhq/atlan-postgres-app", "registry.mycompany.com"}, err: `is a registry host`},
		// A set that changes nothing writes nothing, not even a respelling.
		{name: "set-unchanged", output: "table", text: "images:\n    atlanhq/a: reg.example.com/atlan/a\n",
			args: []string{"set", "atlanhq/a", "reg.example.com/atlan/a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if tc.text != "" {
				writeFile(t, "image-map.yaml", tc.text)
			}
			f, out, errOut := factory.NewTest(nil)
			f.Global.Output = tc.output
			cmd := NewCmdMap(f)
			cmd.SetArgs(append(append([]string{}, tc.args...), "--map", "image-map.yaml"))
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("map %q: error %v, want %q", tc.args, err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatalf("map %q: %v", tc.args, err)
			case err != nil:
				golden(t, tc.name+"-error", err.Error()+"\n")
			}
			golden(t, tc.name, out.String())
			golden(t, tc.name+"-stderr", errOut.String())
			data, readErr := os.ReadFile("image-map.yaml")
			switch {
			case tc.after != "":
				golden(t, tc.after, string(data))
			case tc.text != "" && string(data) != tc.text:
				t.Errorf("map %q changed the map to\n%s", tc.args, data)
			}
			if tc.text == "" && tc.after == "" && readErr == nil {
				t.Errorf("map %q created the map", tc.args)
			}
		})
	}
}
