package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
)

var helms = []struct{ name, variable string }{{"helm3", "SDR_MIRROR_HELM3"}, {"helm4", "SDR_MIRROR_HELM4"}}

// pluginTree copies the plugin's files from the repository (plugin.yaml and
// the install hooks) into a new directory, as a checkout or source archive
// has them.
func pluginTree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "kubectl-sdr-mirror")
	root := testenv.RepoRoot()
	for _, f := range []string{"plugin.yaml", "plugin/install.sh", "plugin/install.ps1"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// helmCmd runs helm with its homes under home and returns the combined
// output and the error.
func helmCmd(t *testing.T, helm, home string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helm, args...)
	cmd.Env = append(os.Environ(),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		// Helm 4 reads plugins from $HELM_DATA_HOME/plugins only; Helm 3
		// from HELM_PLUGINS.
		"HELM_PLUGINS="+filepath.Join(home, "data", "plugins"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"))
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func pluginBinary(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(binDir, "kubectl-sdr_mirror"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestHelmPluginFromWorkingTree installs the plugin with helm 3 and helm 4
// from a tree where the binary is already built, as make
// install-helm-plugin does, and runs it.
func TestHelmPluginFromWorkingTree(t *testing.T) {
	for _, h := range helms {
		t.Run(h.name, func(t *testing.T) {
			helm := testenv.Path(t, h.variable)
			dir := pluginTree(t)
			if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "bin", "kubectl-sdr_mirror"), pluginBinary(t), 0o700); err != nil { //nolint:gosec // the test's own binary
				t.Fatal(err)
			}
			home := t.TempDir()
			if out, err := helmCmd(t, helm, home, nil, "plugin", "install", dir); err != nil {
				t.Fatalf("helm plugin install %s: %v\n%s", dir, err, out)
			}
			out, err := helmCmd(t, helm, home, nil, "sdr-mirror", "version")
			if err != nil || !strings.HasPrefix(out, "kubectl-sdr-mirror ") {
				t.Errorf("helm sdr-mirror version = %q, %v; want kubectl-sdr-mirror <version> ...", out, err)
			}
			out, err = helmCmd(t, helm, home, nil, "sdr-mirror", "--help")
			if err != nil {
				t.Fatalf("helm sdr-mirror --help: %v\n%s", err, out)
			}
			for _, cmd := range []string{"sync", "diff", "cronjob", "copy", "verify", "map", "resolve", "images", "version"} {
				if !strings.Contains(out, "\n  "+cmd+" ") {
					t.Errorf("helm sdr-mirror --help does not list %q:\n%s", cmd, out)
				}
			}
			if !strings.Contains(out, "helm sdr-mirror") {
				t.Errorf("helm sdr-mirror --help does not call itself helm sdr-mirror:\n%s", out)
			}
		})
	}
}

// releaseServer serves a release's archive for this platform and its
// checksums.txt, as the release page does; sum overrides the checksum.
func releaseServer(t *testing.T, binary []byte, sum string) string {
	t.Helper()
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(gz)
	files := map[string][]byte{"kubectl-sdr_mirror": binary, "LICENSE": []byte("license\n"), "README.md": []byte("readme\n")}
	for _, name := range []string{"kubectl-sdr_mirror", "LICENSE", "README.md"} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(files[name]))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	archive := fmt.Sprintf("kubectl-sdr_mirror_%s_%s.tar.gz", runtime.GOOS, runtime.GOARCH)
	if sum == "" {
		s := sha256.Sum256(buf.Bytes())
		sum = hex.EncodeToString(s[:])
	}
	checksums := fmt.Sprintf("%s  %s\n%s  kubectl-sdr_mirror_windows_amd64.zip\n", sum, archive, strings.Repeat("0", 64))
	mux := http.NewServeMux()
	mux.HandleFunc("/v0.1.0/"+archive, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(buf.Bytes()) })
	mux.HandleFunc("/v0.1.0/checksums.txt", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(checksums)) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/v0.1.0"
}

// TestHelmPluginInstallHook installs the plugin as from its repository:
// no binary, so the install hook fetches the release archive for the
// platform from SDR_MIRROR_PLUGIN_DOWNLOAD_URL and checks its checksum.
func TestHelmPluginInstallHook(t *testing.T) {
	binary := pluginBinary(t)
	for _, h := range helms {
		t.Run(h.name, func(t *testing.T) {
			helm := testenv.Path(t, h.variable)

			home := t.TempDir()
			env := []string{"SDR_MIRROR_PLUGIN_DOWNLOAD_URL=" + releaseServer(t, binary, "")}
			dir := pluginTree(t)
			if out, err := helmCmd(t, helm, home, env, "plugin", "install", dir); err != nil {
				t.Fatalf("helm plugin install %s: %v\n%s", dir, err, out)
			}
			got, err := os.ReadFile(filepath.Join(dir, "bin", "kubectl-sdr_mirror"))
			if err != nil || !bytes.Equal(got, binary) {
				t.Fatalf("the hook installed %d bytes (%v), want the %d of the archive's binary", len(got), err, len(binary))
			}
			out, err := helmCmd(t, helm, home, nil, "sdr-mirror", "version")
			if err != nil || !strings.HasPrefix(out, "kubectl-sdr-mirror ") {
				t.Errorf("helm sdr-mirror version = %q, %v; want kubectl-sdr-mirror <version> ...", out, err)
			}

			// A tampered archive is refused.
			home = t.TempDir()
			env = []string{"SDR_MIRROR_PLUGIN_DOWNLOAD_URL=" + releaseServer(t, binary, strings.Repeat("ab", 32))}
			dir = pluginTree(t)
			out, err = helmCmd(t, helm, home, env, "plugin", "install", dir)
			if err == nil || !strings.Contains(out, "checksums.txt says '"+strings.Repeat("ab", 32)+"'; not installing") {
				t.Errorf("helm plugin install with a wrong checksum = %v, %q; want a checksum error", err, out)
			}
			if _, err := os.Stat(filepath.Join(dir, "bin", "kubectl-sdr_mirror")); err == nil {
				t.Error("a binary with a wrong checksum was installed")
			}
		})
	}
}
