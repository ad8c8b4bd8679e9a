package e2e

import (
	"context"
	"encoding/base64"
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

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
)

// TestCopy runs the copy command against real Distribution registries
// started by hack/registry-up.sh: $SRC (seeded with $SRC/atlanhq/app:1.0,
// index digest $INDEX, and a different app:2.0), $DST, and $AUTHDST (htpasswd user "mirror",
// password in $WORK/auth.json, TLS with $WORK/ca.pem).
func TestCopy(t *testing.T) {
	bin := testenv.Path(t, "SDR_MIRROR_REGISTRY_BIN")
	p := params("copy")
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		start := func(dir string, args ...string) (string, error) {
			host, pid, err := startRegistry(bin, filepath.Join(env.WorkDir, dir), args...)
			if err != nil {
				return "", err
			}
			env.Defer(func() { stopRegistry(pid) })
			return host, nil
		}
		src, err := start(".registry-src")
		if err != nil {
			return err
		}
		dst, err := start(".registry-dst")
		if err != nil {
			return err
		}
		authDst, err := start(".registry-auth", "--htpasswd", "mirror:e2e-s3cret", "--tls")
		if err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(env.WorkDir, ".registry-auth", "ca.pem"), filepath.Join(env.WorkDir, "ca.pem")); err != nil {
			return err
		}
		auth := base64.StdEncoding.EncodeToString([]byte("mirror:e2e-s3cret"))
		if err := os.WriteFile(filepath.Join(env.WorkDir, "auth.json"), []byte(`{"auths":{"`+authDst+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
			return err
		}
		var d v1.Hash
		for _, tag := range []string{"2.0", "1.0"} {
			idx, err := random.Index(2048, 2, 2)
			if err != nil {
				return err
			}
			ref, err := name.ParseReference(src + "/atlanhq/app:" + tag)
			if err != nil {
				return err
			}
			if err := remote.WriteIndex(ref, idx); err != nil {
				return fmt.Errorf("seeding %s: %w", ref, err)
			}
			if d, err = idx.Digest(); err != nil {
				return err
			}
		}
		env.Setenv("SRC", src)
		env.Setenv("DST", dst)
		env.Setenv("AUTHDST", authDst)
		env.Setenv("INDEX", d.String())
		return nil
	}
	testscript.Run(t, p)
}

func startRegistry(bin, dir string, args ...string) (host string, pid int, err error) {
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

func stopRegistry(pid int) {
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
