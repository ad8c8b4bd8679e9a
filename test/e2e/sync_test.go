package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/fixture"
)

// TestSync runs diff and sync through kubectl against loopback registries:
// a Docker Hub stand-in reached through --registry-mirror, an empty private
// registry, the latest-releases endpoint and images signed keyless by an
// offline Sigstore; the map lives in a file:// bucket.
func TestSync(t *testing.T) {
	needKubectl(t)
	f, err := fixture.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close) // scripts run as parallel subtests, after this function returns
	digests, err := f.Publish(
		fixture.App{Name: "atlan-teradata-app", Version: "3.1.4"},
		fixture.App{Name: "atlan-postgres-app", Version: "2.0.1"},
		fixture.App{Name: "atlan-sketchy-app", Version: "0.9.0", Unsigned: true},
		fixture.App{Name: "atlan-extra-app", Version: "1.0.0", NotAnnounced: true},
	)
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.ReadFile(f.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	p := params("sync")
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		env.Setenv("HUB", f.Source)
		env.Setenv("REG", f.Dest)
		env.Setenv("ATLAN_URL", f.AtlanURL)
		env.Setenv("ATLAN_API_TOKEN", f.Token)
		env.Setenv("TERADATA_DIGEST", digests["atlan-teradata-app"])
		env.Setenv("POSTGRES_DIGEST", digests["atlan-postgres-app"])
		if err := os.MkdirAll(filepath.Join(env.WorkDir, "bucket"), 0o700); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(env.WorkDir, "trusted_root.json"), root, 0o600)
	}
	testscript.Run(t, p)
}
