//go:build integration

package images_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testsdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cli"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
)

func TestMain(m *testing.M) { os.Exit(testsdr.Main(m)) }

// run runs the command line with the given environment and returns
// stdout, stderr and the exit code.
func run(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := factory.New(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	code := cli.Run(context.Background(), f, args)
	return out.String(), errOut.String(), code
}

func items(t *testing.T, out string) []inventory.Item {
	t.Helper()
	var got []inventory.Item
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not a JSON array of items: %v\n%s", err, out)
	}
	return got
}

func TestImagesJSON(t *testing.T) {
	env := testsdr.Install(t)
	mapFile := filepath.Join(t.TempDir(), "image-map.yaml")
	if err := os.WriteFile(mapFile, []byte("images:\n  \"atlanhq/atlan-postgres-app\": \"registry.mycompany.com/atlan/atlan-postgres-app\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mapped := testsdr.WantImages()
	for i := range mapped {
		if mapped[i].Image == "registry.mycompany.com/atlan/atlan-postgres-app:2.0.1" {
			mapped[i].MappedFrom = "atlanhq/atlan-postgres-app:2.0.1"
		}
	}
	for _, tc := range []struct {
		name string
		args []string
		want []inventory.Item
	}{
		{"every release in the namespace", nil, testsdr.WantImages()},
		{"release selector", []string{"--release-selector", "team=data"}, testsdr.WantImages(testsdr.Release, "teradata")},
		{"reverse lookup through the map", []string{"--map", mapFile}, mapped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"images", "--kubeconfig", env.Kubeconfig, "-n", testsdr.Namespace, "-o", "json"}, tc.args...)
			out, errOut, code := run(t, nil, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if got := items(t, out); !reflect.DeepEqual(got, tc.want) {
				g, _ := json.MarshalIndent(got, "", "  ")
				w, _ := json.MarshalIndent(tc.want, "", "  ")
				t.Errorf("images %q =\n%s\nwant\n%s", tc.args, g, w)
			}
		})
	}
}

func TestImagesLayouts(t *testing.T) {
	env := testsdr.Install(t)
	sdrImages := func(ns, release, name string) []inventory.Item {
		r := func(kind, obj string) []string { return []string{inventory.HelmReason(ns, release, kind, obj)} }
		return []inventory.Item{
			{Image: "atlanhq/atlan-sdr-init:1.4.0", Why: r("Deployment", name)},
			{Image: "atlanhq/atlan-sdr-migrate:1.4.0", Why: r("Job", name+"-migrate")},
			{Image: "atlanhq/atlan-sdr-reconciler:1.4.0", Why: r("CronJob", name+"-reconcile")},
			{Image: "atlanhq/atlan-sdr:1.4.0", Why: r("Deployment", name)},
			{Image: "daprio/daprd:1.14.4", Why: r("Deployment", name)},
		}
	}
	// The Flux SDR's objects are named after the first 40 characters of
	// its release name.
	flux := sdrImages(testsdr.FluxNamespace, testsdr.FluxReleaseName, testsdr.FluxReleaseName[:40])

	out, errOut, code := run(t, nil, "images", "--kubeconfig", env.Kubeconfig, "-n", testsdr.FluxNamespace, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := items(t, out); !reflect.DeepEqual(got, flux) {
		t.Errorf("images (Flux) = %+v, want %+v", got, flux)
	}

	// HELM_DRIVER=configmap, as Helm passes it to a plugin.
	out, errOut, code = run(t, map[string]string{"HELM_DRIVER": "configmap"}, "images", "--kubeconfig", env.Kubeconfig, "-n", testsdr.ConfigMapNamespace, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got := items(t, out)
	var names []string
	for _, it := range got {
		names = append(names, it.Image)
	}
	want := []string{"atlanhq/atlan-app-init:1.0.0", "atlanhq/atlan-mysql-agent:8.0.0", "atlanhq/atlan-mysql-app:8.0.0",
		"atlanhq/atlan-mysql-cron:8.0.0", "atlanhq/atlan-mysql-fetch:8.0.0", "atlanhq/atlan-mysql-hook:8.0.0",
		"atlanhq/atlan-mysql-job:8.0.0", "atlanhq/atlan-mysql-legacy:8.0.0", "atlanhq/atlan-mysql-probe:8.0.0",
		"atlanhq/atlan-mysql-replica:8.0.0", "atlanhq/atlan-mysql-store:8.0.0", "atlanhq/atlan-mysql-workflow:8.0.0",
		"atlanhq/atlan-sdr-init:1.4.0", "atlanhq/atlan-sdr-migrate:1.4.0", "atlanhq/atlan-sdr-reconciler:1.4.0",
		"atlanhq/atlan-sdr:1.4.0", "daprio/daprd:1.14.4"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("images (configmap driver) = %q, want %q", names, want)
	}
}

func TestImagesTable(t *testing.T) {
	env := testsdr.Install(t)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"table.golden", nil},
		{"why.golden", []string{"--why"}},
	} {
		out, errOut, code := run(t, nil, append([]string{"images", "--kubeconfig", env.Kubeconfig, "-n", testsdr.Namespace, "--release-selector", "team=data"}, tc.args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		p := filepath.Join("testdata", tc.golden)
		if *update {
			if err := os.WriteFile(p, []byte(out), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if out != string(want) {
			t.Errorf("images %q =\n%s\nwant (%s)\n%s", tc.args, out, p, want)
		}
	}
}

func TestImagesErrors(t *testing.T) {
	env := testsdr.Install(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ambiguous", []string{"-n", testsdr.TwoNamespace}, "error: finding the SDR: more than one SDR release in namespace \"atlan-two\""},
		{"bad selector", []string{"--release-selector", "a b"}, "error: --release-selector \"a b\": "},
		{"map key without bucket", []string{"--image-map-path", "x.yaml"}, "error: --image-map-path needs --bucket"},
		{"bad selector with a map", []string{"--map", "m.yaml", "--release-selector", "a b"}, "error: --release-selector \"a b\": "},
	} {
		_, errOut, code := run(t, nil, append([]string{"images", "--kubeconfig", env.Kubeconfig}, tc.args...)...)
		if code != 1 || !strings.HasPrefix(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 and one line starting %q", tc.name, code, errOut, tc.want)
		}
	}
}
