package e2e

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/sigtest"
	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
)

// TestCronJobSelfImage is the CronJob's first night, up to the pod: this
// tool's release image, built as a release builds it and signed with the
// project's release identity, sits in a registry standing in for ghcr.io;
// sync --from self mirrors it into the target registry after checking that
// signature; cronjob's default image is that copy; and the copy, pulled back
// from the target registry, runs version. No container runtime is needed:
// the entrypoint is taken from the image's layer and run here.
func TestCronJobSelfImage(t *testing.T) {
	regBin := testenv.Path(t, "SDR_MIRROR_REGISTRY_BIN")
	ghcr, pid, err := testenv.StartRegistry(regBin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.StopRegistry(pid) })
	target, pid2, err := testenv.StartRegistry(regBin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.StopRegistry(pid2) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	bin, version := releaseBinary(ctx, t)

	// The release image of this version, where releases publish it.
	src := ghcr + strings.TrimPrefix(inventory.SelfRepository, "ghcr.io") + ":" + version
	t.Logf("building %s", src)
	cmd := exec.CommandContext(ctx, "make", "-C", testenv.RepoRoot(), "image", "IMAGE="+src, "VERSION="+version,
		"IMAGE_PLATFORMS=linux/"+runtime.GOARCH, "IMAGE_FLAGS=--insecure")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}

	sync := []string{"sync", "--from", "self", "--allowed-source", inventory.SelfSource, "--target", target + "/atlan",
		"--registry-mirror", "ghcr.io=" + ghcr, "--insecure-registry", ghcr, "--insecure-registry", target,
		"--certificate-identity-regexp", inventory.SelfIdentityRegexp, "--certificate-oidc-issuer", inventory.SelfIssuer}
	copied := target + "/atlan/kubectl-sdr-mirror:" + version

	t.Log("mirroring it with sync --from self")
	// Unsigned, it is not mirrored: the gate checks it like any image.
	signer, err := sigtest.New()
	if err != nil {
		t.Fatal(err)
	}
	root, err := signer.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(rootFile, root, 0o600); err != nil {
		t.Fatal(err)
	}
	sync = append(sync, "--trusted-root", rootFile)
	if out, err := exec.CommandContext(ctx, bin, sync...).CombinedOutput(); err == nil || !strings.Contains(string(out), "unverified") {
		t.Fatalf("sync of the unsigned image: %v, want exit 1 and the image unverified\n%s", err, out)
	}
	if _, err := remote.Head(mustRef(t, copied)); err == nil {
		t.Fatalf("%s exists after a refused sync", copied)
	}

	// Signed as the release workflow signs it, sync mirrors it.
	srcRef, err := name.NewTag(src)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(srcRef)
	if err != nil {
		t.Fatal(err)
	}
	digest := srcRef.Context().Digest(desc.Digest.String())
	identity := "https://github.com/sdr-mirror/kubectl-sdr-mirror/.github/workflows/release.yaml@refs/tags/v1.2.3"
	if err := signer.SignClassic(digest, identity, inventory.SelfIssuer, sigtest.Payload(digest)); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, bin, sync...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(sync, " "), err, out)
	}
	got, err := remote.Head(mustRef(t, copied))
	if err != nil {
		t.Fatalf("after sync --from self, %s: %v", copied, err)
	}
	if got.Digest != desc.Digest {
		t.Errorf("%s digest = %s, want the release's %s", copied, got.Digest, desc.Digest)
	}

	// cronjob's default image is that copy.
	out, err := exec.CommandContext(ctx, bin, "cronjob", "-n", "atlan", "--objectstore-secret=", "-o", "json", "--", "--target", target+"/atlan").Output()
	if err != nil {
		t.Fatalf("cronjob: %v", err)
	}
	var list struct {
		Items []struct {
			Kind string `json:"kind"`
			Spec struct {
				JobTemplate struct {
					Spec struct {
						Template struct {
							Spec struct {
								Containers []struct {
									Image string `json:"image"`
								} `json:"containers"`
							} `json:"spec"`
						} `json:"template"`
					} `json:"spec"`
				} `json:"jobTemplate"`
			} `json:"spec"`
		} `json:"items"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatal(err)
	}
	image := ""
	for _, it := range list.Items {
		if it.Kind == "CronJob" {
			image = it.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image
		}
	}
	if image != copied {
		t.Fatalf("the CronJob's image = %q, want the copy sync made, %q", image, copied)
	}

	// Pulled back from the target registry, its entrypoint runs version.
	img, err := remote.Image(mustRef(t, image), remote.WithPlatform(platform()))
	if err != nil {
		t.Fatalf("pulling %s: %v", image, err)
	}
	exe := extractEntrypoint(t, img)
	v, err := exec.CommandContext(ctx, exe, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(v), "kubectl-sdr-mirror "+version) {
		t.Errorf("%s version = %q, %v; want kubectl-sdr-mirror %s", image, v, err, version)
	}
}

// releaseBinary is the binary under test with its version, when that version
// names a published image; a development build (plain go build) is rebuilt
// here with a release version stamped in, as make build stamps it.
func releaseBinary(ctx context.Context, t *testing.T) (bin, version string) {
	t.Helper()
	bin = filepath.Join(binDir, "kubectl-sdr_mirror")
	out, err := exec.CommandContext(ctx, bin, "version", "-o", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	if _, err := inventory.SelfImage(info.Version); err == nil {
		return bin, info.Version
	}
	version = "v0.0.0-e2e"
	bin = filepath.Join(t.TempDir(), "kubectl-sdr_mirror")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags",
		"-X github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/version.version="+version, "-o", bin, "./cmd/kubectl-sdr-mirror")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building a release-stamped binary: %v\n%s", err, out)
	}
	return bin, version
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	if _, err := imagemap.ParseReference(s); err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// extractEntrypoint writes the image's /kubectl-sdr_mirror to a temporary
// file and returns its path.
func extractEntrypoint(t *testing.T, img v1.Image) string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatal("the image has no /kubectl-sdr_mirror")
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || strings.TrimPrefix(h.Name, "/") != "kubectl-sdr_mirror" {
			continue
		}
		exe := filepath.Join(t.TempDir(), "kubectl-sdr_mirror")
		f, err := os.OpenFile(exe, os.O_CREATE|os.O_WRONLY, 0o700) //nolint:gosec // the image's own binary, run by this test
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, tr); err != nil { //nolint:gosec // a binary this test built
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return exe
	}
}

// platform is this machine's, the one whose binary can run here.
func platform() v1.Platform { return v1.Platform{OS: "linux", Architecture: runtime.GOARCH} }
