package mirror_test

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

// TestPlatformSubset copies one platform and warns that the digest changes.
func TestPlatformSubset(t *testing.T) {
	src, _ := inProcessRegistry(t, nil)
	dst, _ := inProcessRegistry(t, nil)
	seeds, pairs := mirrorSet(t, src, dst)
	rep, err := newCopier(t, mirror.WithPlatforms("linux/arm64")).Copy(ctx(t), pairs[:1])
	if err != nil {
		t.Fatalf("Copy --platform linux/arm64: %v", err)
	}
	r := rep.Images[0]
	if r.Digest == seeds[0].index.String() {
		t.Errorf("Digest = source digest %s, want a new index digest", r.Digest)
	}
	if len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "index digest") {
		t.Errorf("Warnings = %q, want one saying the index digest differs", r.Warnings)
	}
	ref, _ := name.ParseReference(pairs[0].Destination)
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != seeds[0].children[1] {
		t.Errorf("destination index children = %v, want only the arm64 image %s", im.Manifests, seeds[0].children[1])
	}
	// The rerun sees the subset digest and skips.
	rep, err = newCopier(t, mirror.WithPlatforms("linux/arm64")).Copy(ctx(t), pairs[:1])
	if err != nil || rep.Images[0].Status != mirror.StatusSkipped {
		t.Errorf("rerun of the subset: status %q, error %v; want skipped", rep.Images[0].Status, err)
	}
}
