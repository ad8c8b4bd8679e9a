package sdr

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzFromDockerConfig(f *testing.F) {
	f.Add([]byte("deployment_name: prod\ncontainer_registry:\n  base: reg.example.com/atlan\n  image_map_path: sdr/map.yaml\n  username: u\n  password: hunter2-secret\nobjectstore:\n  type: bindings.aws.s3\n  metadata:\n  - name: bucket\n    value: b\n"))
	f.Add([]byte("objectstore: 3\n"))
	f.Add([]byte("container_registry: [\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := FromDockerConfig(path, Overrides{})
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			if strings.Contains(err.Error(), "hunter2-secret") {
				t.Fatalf("error carries the registry password: %q", err)
			}
			return
		}
		if s == nil {
			t.Fatal("nil settings without an error")
		}
	})
}
