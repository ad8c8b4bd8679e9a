package mirror_test

import (
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

// TestRegistryMirror pulls a source host's images from its mirror.
func TestRegistryMirror(t *testing.T) {
	mirrorHost, rec := inProcessRegistry(t, nil)
	dst, _ := inProcessRegistry(t, nil)
	seeds, _ := mirrorSet(t, mirrorHost, dst)
	rec.reset()
	c := newCopier(t, mirror.WithMirrors(map[string]string{"registry.example.invalid": mirrorHost}))
	rep, err := c.Copy(ctx(t), []mirror.Pair{{Source: "registry.example.invalid/atlanhq/app-a:1.0", Destination: dst + "/m/app-a:1.0"}})
	if err != nil {
		t.Fatalf("Copy through a mirror: %v", err)
	}
	if rep.Images[0].Digest != seeds[0].index.String() {
		t.Errorf("Digest = %s, want %s", rep.Images[0].Digest, seeds[0].index)
	}
	if len(rec.reset()) == 0 {
		t.Error("the mirror saw no request")
	}
}
