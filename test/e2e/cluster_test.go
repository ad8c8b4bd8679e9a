package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testsdr"
)

// pluginYAML installs the binary as a Helm plugin for these tests only (the
// packaged plugin.yaml ships with the release work).
const pluginYAML = `name: sdr-mirror
version: 0.0.0
usage: test copy of kubectl-sdr-mirror
description: test copy of kubectl-sdr-mirror
command: "$HELM_PLUGIN_DIR/kubectl-sdr_mirror"
`

// TestCluster runs testdata/cluster/*.txtar against a real apiserver with
// the SDR layouts of internal/testsdr installed, through the real kubectl,
// helm 3 (as "helm") and helm 4 (as "helm4").
func TestCluster(t *testing.T) {
	needKubectl(t)
	env := testsdr.Install(t)
	linkHelm(t)
	want, err := json.MarshalIndent(testsdr.WantImages(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := params("cluster")
	setup := p.Setup
	p.Setup = func(e *testscript.Env) error {
		if err := setup(e); err != nil {
			return err
		}
		e.Setenv("KUBECONFIG", env.Kubeconfig)
		if err := installHelmPlugin(e); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(e.WorkDir, "want-images.json"), append(want, '\n'), 0o600)
	}
	testscript.Run(t, p)
}

// linkHelm puts the pinned Helm 3 (as "helm") and Helm 4 (as "helm4")
// beside the plugin.
func linkHelm(t *testing.T) {
	t.Helper()
	for name, variable := range map[string]string{"helm": "SDR_MIRROR_HELM3", "helm4": "SDR_MIRROR_HELM4"} {
		link := filepath.Join(binDir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(testenv.Path(t, variable), link); err != nil {
			t.Fatal(err)
		}
	}
}

// installHelmPlugin installs the binary as the sdr-mirror plugin in the
// script's own Helm homes.
func installHelmPlugin(e *testscript.Env) error {
	// Helm 4 reads plugins from $HELM_DATA_HOME/plugins only; Helm 3
	// from HELM_PLUGINS.
	data := filepath.Join(e.WorkDir, ".helm-data")
	dir := filepath.Join(data, "plugins", "sdr-mirror")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "plugin.yaml"), []byte(pluginYAML), 0o600); err != nil {
		return err
	}
	if err := os.Symlink(filepath.Join(binDir, "kubectl-sdr_mirror"), filepath.Join(dir, "kubectl-sdr_mirror")); err != nil {
		return err
	}
	e.Setenv("HELM_DATA_HOME", data)
	e.Setenv("HELM_PLUGINS", filepath.Join(data, "plugins"))
	e.Setenv("HELM_CONFIG_HOME", filepath.Join(e.WorkDir, ".helm-config"))
	e.Setenv("HELM_CACHE_HOME", filepath.Join(e.WorkDir, ".helm-cache"))
	return nil
}
