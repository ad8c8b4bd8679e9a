package images_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testsdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cli"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/images"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestFlagsToOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		check   func(*images.Options) bool
		wantErr string
	}{
		{"why and selector", []string{"--why", "--release-selector", "team=data", "-A"},
			func(o *images.Options) bool {
				return o.Why && o.SDR.ReleaseSelector == "team=data" && o.SDR.AllNamespaces
			}, ""},
		{"a map file", []string{"--map", "m.yaml"}, func(o *images.Options) bool { return o.Map.File == "m.yaml" }, ""},
		{"bad selector", []string{"--release-selector", "a b"}, nil, `--release-selector "a b": `},
		{"map key without bucket", []string{"--image-map-path", "x.yaml"}, nil, "--image-map-path needs --bucket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := factory.New(genericiooptions.NewTestIOStreamsDiscard(), func(string) (string, bool) { return "", false })
			var got *images.Options
			cmd := images.NewCmdImages(f, func(o *images.Options) error { got = o; return nil })
			cmd.SetArgs(tc.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("images %q: error %v, want one starting %q", tc.args, err, tc.wantErr)
				}
				if got != nil {
					t.Errorf("images %q: runF was called with invalid flags", tc.args)
				}
				return
			}
			if err != nil {
				t.Fatalf("images %q: %v", tc.args, err)
			}
			if got == nil || !tc.check(got) {
				t.Errorf("images %q: options %+v", tc.args, got)
			}
		})
	}
}

// TestImagesFakeCluster lists the images of an SDR in client-go's fake
// clientset, through the factory's KubeClients.
func TestImagesFakeCluster(t *testing.T) {
	mapFile := filepath.Join(t.TempDir(), "image-map.yaml")
	if err := os.WriteFile(mapFile, []byte("images:\n  \"atlanhq/atlan-postgres-app\": \"reg.example.com/atlan/atlan-postgres-app\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clients := testsdr.FakeCluster(t,
		testsdr.FakeSDR("reg.example.com/atlan", ""),
		testsdr.FakeRelease{Name: "postgres", Namespace: testsdr.Namespace, Chart: "connector", Labels: map[string]string{"team": "data"},
			Images: []string{"reg.example.com/atlan/atlan-postgres-app:2.0.1", "atlanhq/atlan-app-init:1.0.0"}},
		testsdr.FakeRelease{Name: "mysql", Namespace: testsdr.Namespace, Chart: "connector",
			Images: []string{"atlanhq/atlan-mysql-app:8.0.0", "atlanhq/atlan-app-init:1.0.0"}},
		testsdr.FakeRelease{Name: "elsewhere", Namespace: "other", Chart: "connector", Images: []string{"atlanhq/atlan-other:1"}},
	)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"fake-table.golden", nil},
		{"fake-why.golden", []string{"--why"}},
		{"fake-selector.golden", []string{"--release-selector", "team=data", "--why"}},
		{"fake-map.golden", []string{"--map", mapFile}},
		{"fake-json.golden", []string{"-o", "json"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var out, errOut bytes.Buffer
			f := factory.New(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
				func(string) (string, bool) { return "", false })
			f.KubeClients = clients
			code := cli.Run(context.Background(), f, append([]string{"images", "-n", testsdr.Namespace}, tc.args...))
			if code != 0 || errOut.Len() > 0 {
				t.Fatalf("images %q: exit %d, stderr %q", tc.args, code, errOut.String())
			}
			golden(t, tc.golden, out.String())
		})
	}
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
