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
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
)

var helms = []struct{ name, variable string }{{"helm3", "SDR_MIRROR_HELM3"}, {"helm4", "SDR_MIRROR_HELM4"}}

// pluginTree copies the plugin's files from the repository (plugin.yaml,
// the install hooks and Helm's completion program) into a new directory,
// as a checkout or source archive has them.
func pluginTree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "kubectl-sdr-mirror")
	for _, f := range []string{"plugin.yaml", "plugin/install.sh", "plugin/install.ps1", "plugin.complete"} {
		copyRepoFile(t, f, filepath.Join(dir, f))
	}
	return dir
}

// copyRepoFile copies the repository's file f to dst, keeping its mode.
func copyRepoFile(t *testing.T, f, dst string) {
	t.Helper()
	src := filepath.Join(testenv.RepoRoot(), f)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

// completions returns the candidates of cobra's __complete output, without
// their descriptions and the directive line.
func completions(out string) []string {
	var got []string
	for _, line := range strings.Split(out, "\n") {
		if line == "" || strings.HasPrefix(line, ":") || strings.HasPrefix(line, "Completion ended") {
			continue
		}
		c, _, _ := strings.Cut(line, "\t")
		got = append(got, c)
	}
	return got
}

// wantCompletions checks that the candidates in out include each of want.
func wantCompletions(t *testing.T, what, out string, want ...string) {
	t.Helper()
	got := completions(out)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s completes %q, want %q among them (output %q)", what, got, w, out)
		}
	}
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
			// Helm's own completion asks the plugin's plugin.complete.
			out, err = helmCmd(t, helm, home, nil, "__complete", "sdr-mirror", "sync", "--fr")
			if err != nil {
				t.Fatalf("helm __complete sdr-mirror sync --fr: %v\n%s", err, out)
			}
			wantCompletions(t, "helm sdr-mirror sync --fr<TAB>", out, "--from")
			out, _ = helmCmd(t, helm, home, nil, "__complete", "sdr-mirror", "")
			wantCompletions(t, "helm sdr-mirror <TAB>", out, "sync", "diff", "map")
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

// signingKey makes a throwaway OpenPGP signing key with gpg and returns a
// keyring file with its secret key and one with its public key, both
// ASCII-armoured, as a release's maintainers export them.
func signingKey(t *testing.T, name string) (secret, public string) {
	t.Helper()
	gpg, err := exec.LookPath("gpg")
	if err != nil {
		t.Fatal("gpg makes the test's signing key and is not on PATH: apt-get install gnupg")
	}
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		_ = os.RemoveAll(home)
	})
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(gpg, append([]string{"--homedir", home, "--batch", "--quiet"}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	uid := name + " <" + name + "@example.com>"
	run("--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
	dir := t.TempDir()
	secret, public = filepath.Join(dir, name+"-secret.asc"), filepath.Join(dir, name+".asc")
	if err := os.WriteFile(secret, run("--export-secret-keys", "-a", uid), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(public, run("--export", "-a", uid), 0o600); err != nil {
		t.Fatal(err)
	}
	return secret, public
}

// packagePlugin runs hack/helmplugin, as a release does after building the
// binary for this platform, with env added, and returns its combined output.
func packagePlugin(t *testing.T, helm4, dest string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args = append([]string{"run", "./hack/helmplugin", "--helm", helm4, "--dest", dest,
		"--binary", filepath.Join(binDir, "kubectl-sdr_mirror"), "--os", runtime.GOOS, "--arch", runtime.GOARCH}, args...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = testenv.RepoRoot()
	cmd.Env = append(os.Environ(), "SDR_MIRROR_SIGNING_KEY=", "SDR_MIRROR_SIGNING_KEYRING=", "SDR_MIRROR_SIGNING_PUBLIC_KEY=")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// tarNames lists a gzipped tarball's entries with their modes.
func tarNames(t *testing.T, file string) map[string]os.FileMode {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]os.FileMode{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			return names
		}
		names[strings.TrimSuffix(h.Name, "/")] = os.FileMode(h.Mode).Perm()
	}
}

// TestHelmPluginSignedTarball packages the plugin for this platform as a
// release does (Helm 4 signs it) and installs it offline with Helm 4,
// verification on: the tarball holds the plugin in a folder named as the
// plugin, its .prov names the tarball, the key verifies it, and another
// key or a changed tarball is refused.
func TestHelmPluginSignedTarball(t *testing.T) {
	helm4 := testenv.Path(t, "SDR_MIRROR_HELM4")
	version := pluginVersion(t)
	platform := version + "-" + runtime.GOOS + "-" + runtime.GOARCH
	tgzName := "sdr-mirror-" + platform + ".tgz"

	// Without a signing key the release refuses, and writes nothing.
	dest := t.TempDir()
	out, err := packagePlugin(t, helm4, dest, nil)
	if err == nil || !strings.Contains(out, "SDR_MIRROR_SIGNING_KEY is not set") {
		t.Errorf("packaging without a key = %v, %q; want a refusal naming SDR_MIRROR_SIGNING_KEY", err, out)
	}
	if entries, _ := os.ReadDir(dest); len(entries) != 0 {
		t.Errorf("packaging without a key wrote %d files", len(entries))
	}
	// A release whose version is not plugin.yaml's is refused too.
	secret, public := signingKey(t, "release")
	keyEnv := []string{"SDR_MIRROR_SIGNING_KEY=release@example.com", "SDR_MIRROR_SIGNING_KEYRING=" + secret, "SDR_MIRROR_SIGNING_PUBLIC_KEY=" + public}
	if out, err := packagePlugin(t, helm4, dest, keyEnv, "--version", "v99.0.0"); err == nil || !strings.Contains(out, "plugin.yaml says version "+version+", the release is 99.0.0") {
		t.Errorf("packaging version 99.0.0 = %v, %q; want a refusal", err, out)
	}

	out, err = packagePlugin(t, helm4, dest, keyEnv, "--version", "v"+version)
	if err != nil {
		t.Fatalf("packaging the plugin: %v\n%s", err, out)
	}
	tgz := filepath.Join(dest, tgzName)
	names := tarNames(t, tgz)
	for name, mode := range map[string]os.FileMode{"sdr-mirror/plugin.yaml": 0, "sdr-mirror/bin/kubectl-sdr_mirror": 0o100,
		"sdr-mirror/plugin.complete": 0o100, "sdr-mirror/plugin/install.sh": 0, "sdr-mirror/LICENSE": 0} {
		got, ok := names[name]
		if !ok || got&mode != mode {
			t.Errorf("%s: %s has mode %v (present %v), want it with %v; it holds %v", tgzName, name, got, ok, mode, names)
		}
	}
	for name := range names {
		if name != "sdr-mirror" && !strings.HasPrefix(name, "sdr-mirror/") {
			t.Errorf("%s holds %q outside the folder sdr-mirror/", tgzName, name)
		}
	}
	prov, err := os.ReadFile(tgz + ".prov")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(prov), "-----BEGIN PGP SIGNED MESSAGE-----") || !strings.Contains(string(prov), "  "+tgzName+": sha256:") {
		t.Errorf("%s.prov is not a signed message naming %s:\n%s", tgzName, tgzName, prov)
	}

	// Serve the release's files, as its download page does.
	srv := httptest.NewServer(http.FileServer(http.Dir(dest)))
	t.Cleanup(srv.Close)
	url := srv.URL + "/" + tgzName

	home := t.TempDir()
	out, err = helmCmd(t, helm4, home, nil, "plugin", "install", "--keyring", public, url)
	if err != nil {
		t.Fatalf("helm 4 plugin install --keyring %s %s: %v\n%s", public, url, err, out)
	}
	if !strings.Contains(out, "Plugin Hash Verified: sha256:") || !strings.Contains(out, "Signed by: release <release@example.com>") {
		t.Errorf("helm 4 plugin install did not verify the signature:\n%s", out)
	}
	out, err = helmCmd(t, helm4, home, nil, "plugin", "list")
	if err != nil || !regexp.MustCompile(`sdr-mirror\s+`+regexp.QuoteMeta(platform)+`\s+.*\bsigned\b`).MatchString(out) {
		t.Errorf("helm 4 plugin list = %v\n%s\nwant sdr-mirror %s, signed", err, out, platform)
	}
	out, err = helmCmd(t, helm4, home, nil, "sdr-mirror", "version")
	if err != nil || !strings.HasPrefix(out, "kubectl-sdr-mirror ") {
		t.Errorf("helm sdr-mirror version = %q, %v; want kubectl-sdr-mirror <version> ...", out, err)
	}
	out, _ = helmCmd(t, helm4, home, nil, "__complete", "sdr-mirror", "diff", "--detailed")
	wantCompletions(t, "helm sdr-mirror diff --detailed<TAB>", out, "--detailed-exitcode")

	// The local file installs the same way.
	home = t.TempDir()
	if out, err := helmCmd(t, helm4, home, nil, "plugin", "install", "--keyring", public, tgz); err != nil {
		t.Errorf("helm 4 plugin install --keyring %s %s: %v\n%s", public, tgz, err, out)
	}

	// Another key does not verify it, and nothing is installed.
	_, other := signingKey(t, "other")
	home = t.TempDir()
	out, err = helmCmd(t, helm4, home, nil, "plugin", "install", "--keyring", other, url)
	if err == nil {
		t.Errorf("helm 4 installed the plugin with another key's keyring:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(home, "data", "plugins", "sdr-mirror")); err == nil {
		t.Error("a plugin whose signature another key cannot verify was installed")
	}

	// A changed tarball does not match its .prov.
	data, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tgz, append(data, 0), 0o600); err != nil {
		t.Fatal(err)
	}
	home = t.TempDir()
	out, err = helmCmd(t, helm4, home, nil, "plugin", "install", "--keyring", public, url)
	if err == nil || !strings.Contains(out, "sha256 sum does not match") {
		t.Errorf("helm 4 plugin install of a changed tarball = %v\n%s\nwant a checksum refusal", err, out)
	}
}

// pluginVersion is plugin.yaml's version.
func pluginVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "plugin.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^version:\s*"?([^"\s]+)"?\s*$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("plugin.yaml has no version")
	}
	return string(m[1])
}

// TestKubectlPluginCompletion completes "kubectl sdr-mirror ..." through
// the real kubectl, which runs kubectl_complete-sdr_mirror from PATH, as
// the release archives ship it.
func TestKubectlPluginCompletion(t *testing.T) {
	needKubectl(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "kubectl_complete-sdr_mirror")
	copyRepoFile(t, "plugin/kubectl_complete-sdr_mirror", script)
	path := dir + string(os.PathListSeparator) + binDir + string(os.PathListSeparator) + os.Getenv("PATH")
	run := func(name string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = append(os.Environ(), "PATH="+path, "HOME="+t.TempDir(), "KUBECONFIG="+filepath.Join(dir, "no-kubeconfig"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// The script itself, as kubectl runs it.
	wantCompletions(t, "kubectl_complete-sdr_mirror sync --fr", run(script, "sync", "--fr"), "--from")
	wantCompletions(t, "kubectl_complete-sdr_mirror sync --from ''", run(script, "sync", "--from", ""), "helm", "latest-releases", "file")

	kubectl := filepath.Join(binDir, "kubectl")
	wantCompletions(t, "kubectl sdr-mirror <TAB>", run(kubectl, "__complete", "sdr-mirror", ""), "sync", "diff", "map", "version")
	wantCompletions(t, "kubectl sdr-mirror sync --fr<TAB>", run(kubectl, "__complete", "sdr-mirror", "sync", "--fr"), "--from")
	wantCompletions(t, "kubectl sdr-mirror diff -o <TAB>", run(kubectl, "__complete", "sdr-mirror", "diff", "-o", ""), "table", "json", "yaml")
	wantCompletions(t, "kubectl sdr-mirror map <TAB>", run(kubectl, "__complete", "sdr-mirror", "map", ""), "get", "set", "rm", "validate")

	// Run by its own name, with the bash script completion bash prints
	// (bash-completion's word splitting reduced to what the script needs).
	bash := `_get_comp_words_by_ref() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
source <(kubectl-sdr_mirror completion bash)
complete -p kubectl-sdr_mirror >&2
COMP_WORDS=(kubectl-sdr_mirror sync --fr); COMP_CWORD=2; COMP_LINE="kubectl-sdr_mirror sync --fr"; COMP_POINT=${#COMP_LINE}
__start_kubectl-sdr_mirror 2>/dev/null
printf '%s\n' "${COMPREPLY[@]}"`
	wantCompletions(t, "bash: kubectl-sdr_mirror sync --fr<TAB>", run("bash", "-c", bash), "--from")

	// Without the script kubectl has nothing to offer past the plugin's name.
	if err := os.Remove(script); err != nil {
		t.Fatal(err)
	}
	if got := completions(run(kubectl, "__complete", "sdr-mirror", "sync", "--fr")); slices.Contains(got, "--from") {
		t.Errorf("kubectl completed %q without kubectl_complete-sdr_mirror: the test does not reach the script", got)
	}
}
