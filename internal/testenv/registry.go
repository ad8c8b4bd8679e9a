package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Registry starts a CNCF Distribution registry on 127.0.0.1 with
// hack/registry-up.sh (args are its flags: --htpasswd USER:PASSWORD,
// --tls) and stops it when the test ends. It returns host:port and the
// registry's directory (storage, config, log, ca.pem).
func Registry(t testing.TB, args ...string) (host, dir string) {
	t.Helper()
	bin := Path(t, "SDR_MIRROR_REGISTRY_BIN")
	dir = t.TempDir()
	host, pid, err := StartRegistry(bin, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { StopRegistry(pid) })
	return host, dir
}

// StartRegistry runs hack/registry-up.sh with the registry binary bin and
// returns the registry's host:port and PID; StopRegistry stops it.
func StartRegistry(bin, dir string, args ...string) (host string, pid int, err error) {
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "hack", "registry-up.sh")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, append(args, dir)...)
	cmd.Env = append(os.Environ(), "SDR_MIRROR_REGISTRY_BIN="+bin)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", 0, fmt.Errorf("hack/registry-up.sh %v: %w", args, err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return "", 0, fmt.Errorf("hack/registry-up.sh printed %q, want ADDRESS PID", out)
	}
	pid, err = strconv.Atoi(f[1])
	return f[0], pid, err
}

// StopRegistry stops the registry with SIGTERM, then SIGKILL after 5s.
func StopRegistry(pid int) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && strings.Contains(string(b), ") Z ") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}
