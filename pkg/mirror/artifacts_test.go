package mirror_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

// TestReferrersAPIAndProgress copies between registries that serve the OCI
// referrers API, and checks the progress events add up.
func TestReferrersAPIAndProgress(t *testing.T) {
	src, srcRec := inProcessRegistry(t, nil)
	dst, _ := inProcessRegistry(t, nil)
	seeds, pairs := mirrorSet(t, src, dst)
	srcRec.reset()
	var events []mirror.Event
	c := newCopier(t, mirror.WithProgress(func(e mirror.Event) { events = append(events, e) }))
	if _, err := c.Copy(ctx(t), pairs[:1]); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	usedAPI := false
	for _, r := range srcRec.reset() {
		usedAPI = usedAPI || (strings.Contains(r.Path, "/referrers/") && r.Status == http.StatusOK)
	}
	if !usedAPI {
		t.Error("the source's referrers API was never answered with 200: the test does not exercise it")
	}
	subject, _ := name.NewDigest(strings.TrimSuffix(pairs[0].Destination, ":1.0") + "@" + seeds[0].index.String())
	idx, err := remote.Referrers(subject)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != seeds[0].referrer {
		t.Errorf("Referrers(%s) = %v, want only %s", subject, im.Manifests, seeds[0].referrer)
	}

	var total, done int64
	kinds := map[mirror.EventKind]int{}
	for _, e := range events {
		kinds[e.Kind]++
		switch e.Kind {
		case mirror.ImageStarted:
			total += e.Total
		case mirror.BlobBytes:
			done += e.Bytes
		}
	}
	if kinds[mirror.ImageStarted] != 1 || kinds[mirror.ImageCopied] != 1 {
		t.Errorf("events = %v, want one started and one copied", kinds)
	}
	if total == 0 || done < total {
		t.Errorf("progress: %d of %d bytes reported done, want all of them", done, total)
	}
}
