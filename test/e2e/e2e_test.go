package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testsdr"
)

// binDir holds kubectl-sdr_mirror (named as kubectl expects) and kubectl.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sdr-mirror-e2e-bin")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	binDir = dir
	plugin := filepath.Join(dir, "kubectl-sdr_mirror")
	if src := os.Getenv("SDR_MIRROR_BIN"); src != "" {
		if err := os.Symlink(src, plugin); err != nil {
			panic(err)
		}
	} else {
		// Build the binary the way `make build` does when run without make.
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", plugin, "./cmd/kubectl-sdr-mirror")
		cmd.Dir = root
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			panic("building kubectl-sdr_mirror: " + err.Error())
		}
	}
	return testsdr.Main(m)
}

// needKubectl puts kubectl beside the plugin: the pinned one make test
// installs, else one on PATH outside CI.
func needKubectl(t *testing.T) {
	t.Helper()
	link := filepath.Join(binDir, "kubectl")
	if _, err := os.Lstat(link); err == nil {
		return
	}
	if err := os.Symlink(testenv.Bin(t, "SDR_MIRROR_KUBE_BIN", "kubectl"), link); err != nil {
		t.Fatal(err)
	}
}

// startRegistry starts a Distribution registry (bin) storing under the
// script's dir, stopped when the script ends; args go to
// hack/registry-up.sh.
func startRegistry(env *testscript.Env, bin, dir string, args ...string) (host string, pid int, err error) {
	host, pid, err = testenv.StartRegistry(bin, filepath.Join(env.WorkDir, dir), args...)
	if err != nil {
		return "", 0, err
	}
	env.Defer(func() { testenv.StopRegistry(pid) })
	return host, pid, nil
}

func params(dir string) testscript.Params {
	return testscript.Params{
		Dir: filepath.Join("testdata", dir),
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("KUBECONFIG", filepath.Join(env.WorkDir, ".kube", "config"))
			env.Setenv("DIGEST", "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
			return nil
		},
		RequireExplicitExec: true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") == "1",
	}
}

// TestPlugin runs the binary through kubectl and with Helm's plugin
// environment.
func TestPlugin(t *testing.T) {
	needKubectl(t)
	testscript.Run(t, params("plugin"))
}
