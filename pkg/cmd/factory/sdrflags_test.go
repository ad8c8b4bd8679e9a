package factory

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/mapflags"
)

func TestSourceFlagsSettings(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("deployment_name: acme\ncontainer_registry:\n  base: reg.example.com/atlan\n  image_map_path: sdr/map.yaml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	values := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(values, []byte("sdr:\n  deploymentName: eu\n  config:\n    imageMapPath: eu/map.yaml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name                     string
		src                      SourceFlags
		sdr                      *SDRFlags
		m                        *mapflags.Flags
		deployment, mapKey, base string
		err                      string
	}{
		{name: "config", src: SourceFlags{Config: cfg}, deployment: "acme", mapKey: "sdr/map.yaml", base: "reg.example.com/atlan"},
		{name: "config and flags", src: SourceFlags{Config: cfg}, sdr: &SDRFlags{Target: "other.example.com/x"}, m: &mapflags.Flags{Key: "k.yaml"},
			deployment: "acme", mapKey: "k.yaml", base: "other.example.com/x"},
		{name: "values", src: SourceFlags{Values: values}, deployment: "eu", mapKey: "eu/map.yaml"},
		{name: "both", src: SourceFlags{Config: cfg, Values: values}, err: "--config cannot be combined with --values: give the Docker/Podman config.yaml or the Helm values file"},
		{name: "neither", err: "no SDR settings source: pass --config or --values, or read them from the cluster"},
	} {
		s, err := tc.src.Settings(tc.sdr, tc.m)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: Settings() error = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if s.DeploymentName != tc.deployment || s.ImageMapPath != tc.mapKey || s.Target != tc.base {
			t.Errorf("%s: Settings() = %q, %q, %q; want %q, %q, %q", tc.name, s.DeploymentName, s.ImageMapPath, s.Target, tc.deployment, tc.mapKey, tc.base)
		}
	}
}

func TestBlockFlag(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"auto", "auto", ""}, {"keep", "keep", ""}, {"remove", "remove", ""},
		{"always", "", `--release-block "always": must be one of auto, keep, remove`},
	} {
		got, err := (&BlockFlag{Mode: tc.in}).Parse()
		if string(got) != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("Parse(%q) = %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}
