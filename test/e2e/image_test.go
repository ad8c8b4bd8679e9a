package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
)

// TestMakeImage builds the container image with make image, pushes it to a
// Distribution registry on loopback, pulls it back and runs its
// entrypoint, taken from the layer, with version: no container runtime is
// needed for any of it.
func TestMakeImage(t *testing.T) {
	bin := testenv.Path(t, "SDR_MIRROR_REGISTRY_BIN")
	host, pid, err := testenv.StartRegistry(bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.StopRegistry(pid) })

	tag := host + "/sdr-mirror/kubectl-sdr-mirror:e2e"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-C", testenv.RepoRoot(), "image",
		"IMAGE="+tag, "IMAGE_PLATFORMS=linux/"+runtime.GOARCH, "IMAGE_FLAGS=--insecure")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}

	ref, err := name.ParseReference(tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Config.Entrypoint, []string{"/kubectl-sdr_mirror"}; !slices.Equal(got, want) {
		t.Errorf("Entrypoint = %q, want %q", got, want)
	}
	if cfg.Config.User != "65532:65532" {
		t.Errorf("User = %q, want 65532:65532 (non-root)", cfg.Config.User)
	}
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("platform = %s/%s, want linux/%s", cfg.OS, cfg.Architecture, runtime.GOARCH)
	}

	files := map[string][]byte{}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if files[h.Name], err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, f := range []string{"kubectl-sdr_mirror", "etc/ssl/certs/ca-certificates.crt", "etc/passwd"} {
		if len(files[f]) == 0 {
			t.Errorf("the image has no file /%s", f)
		}
	}
	entry := files["kubectl-sdr_mirror"]
	ef, err := elf.NewFile(bytes.NewReader(entry))
	if err != nil {
		t.Fatalf("the entrypoint is not an ELF binary: %v", err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the entrypoint is dynamically linked; FROM scratch it needs CGO_ENABLED=0")
		}
	}
	exe := filepath.Join(t.TempDir(), "kubectl-sdr_mirror")
	if err := os.WriteFile(exe, entry, 0o700); err != nil { //nolint:gosec // the image's own binary
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, exe, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "kubectl-sdr-mirror ") {
		t.Errorf("the image's entrypoint version = %q, %v; want kubectl-sdr-mirror <version> ...", out, err)
	}
}
