//go:build integration

package mirror_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

// TestCopyDistribution runs the engine between two real Distribution
// registries: digests preserved, signatures and referrers carried, shared
// blobs crossing the wire once, and a rerun that copies nothing.
func TestCopyDistribution(t *testing.T) {
	srcReal, _ := testenv.Registry(t)
	dstReal, _ := testenv.Registry(t)
	src, srcRec := proxied(t, srcReal)
	dst, dstRec := proxied(t, dstReal)
	seeds, pairs := mirrorSet(t, src, dst)
	srcRec.reset()

	rep, err := newCopier(t).Copy(ctx(t), pairs)
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	for i, r := range rep.Images {
		if r.Status != mirror.StatusCopied {
			t.Errorf("Copy(%q).Status = %q, want %q", r.Source, r.Status, mirror.StatusCopied)
		}
		if r.Digest != seeds[i].index.String() {
			t.Errorf("Copy(%q).Digest = %q, want %q", r.Source, r.Digest, seeds[i].index)
		}
	}

	t.Run("digests identical, index and every child", func(t *testing.T) {
		for i, p := range pairs {
			if got := headDigest(t, p.Destination); got != seeds[i].index {
				t.Errorf("HEAD %s = %s, want %s", p.Destination, got, seeds[i].index)
			}
			repo := p.Destination[:strings.LastIndex(p.Destination, ":")]
			for _, c := range seeds[i].children {
				if got := headDigest(t, repo+"@"+c.String()); got != c {
					t.Errorf("HEAD %s@%s = %s", repo, c, got)
				}
			}
		}
	})

	t.Run("signature and referrer arrive", func(t *testing.T) {
		for i, p := range pairs {
			repo := p.Destination[:strings.LastIndex(p.Destination, ":")]
			srcRepo := seeds[i].ref[:strings.LastIndex(seeds[i].ref, ":")]
			if got, want := headDigest(t, repo+":"+seeds[i].sig), headDigest(t, srcRepo+":"+seeds[i].sig); got != want {
				t.Errorf("signature %s:%s = %s, want %s", repo, seeds[i].sig, got, want)
			}
			subject, _ := name.NewDigest(repo + "@" + seeds[i].index.String())
			idx, err := remote.Referrers(subject)
			if err != nil {
				t.Fatalf("Referrers(%s): %v", subject, err)
			}
			im, _ := idx.IndexManifest()
			found := false
			for _, m := range im.Manifests {
				found = found || m.Digest == seeds[i].referrer
			}
			if !found {
				t.Errorf("Referrers(%s) = %v, want %s among them", subject, im.Manifests, seeds[i].referrer)
			}
			if rep.Images[i].Attached < 2 {
				t.Errorf("Copy(%q).Attached = %d, want at least 2 (signature and referrer)", p.Source, rep.Images[i].Attached)
			}
		}
	})

	t.Run("each blob crosses the wire once", func(t *testing.T) {
		gets := map[string]int{}
		for _, r := range srcRec.reset() {
			if r.Method == http.MethodGet && strings.Contains(r.Path, "/blobs/sha256:") {
				gets[r.Path[strings.LastIndex(r.Path, "/")+1:]]++
			}
		}
		commits, mounts := map[string]int{}, 0
		for _, r := range dstRec.reset() {
			if r.Method == http.MethodPut && strings.Contains(r.Path, "/blobs/uploads/") {
				for _, kv := range strings.Split(r.Query, "&") {
					if d, ok := strings.CutPrefix(kv, "digest="); ok {
						commits[strings.Replace(d, "%3A", ":", 1)]++
					}
				}
			}
			if r.Method == http.MethodPost && strings.Contains(r.Query, "mount=") && strings.Contains(r.Query, "from=") && r.Status == http.StatusCreated {
				mounts++
			}
		}
		t.Logf("blobs read from the source: %d; uploaded: %d; mounted: %d", len(gets), len(commits), mounts)
		for d, n := range gets {
			if n != 1 {
				t.Errorf("source blob %s read %d times, want 1", d, n)
			}
		}
		for d, n := range commits {
			if n != 1 {
				t.Errorf("destination blob %s uploaded %d times, want 1", d, n)
			}
		}
		if len(commits) != len(gets) {
			t.Errorf("uploaded %d blobs, read %d: every blob read must be uploaded once", len(commits), len(gets))
		}
		// The base layer lives in mirror/app-a and is mounted into mirror/app-b.
		if mounts < 1 {
			t.Errorf("cross-repository mounts = %d, want at least 1 (the shared base layer into mirror/app-b)", mounts)
		}
		if rep.BlobsStreamed != int64(len(gets)) {
			t.Errorf("Report.BlobsStreamed = %d, want %d", rep.BlobsStreamed, len(gets))
		}
	})

	t.Run("second run copies nothing", func(t *testing.T) {
		rep, err := newCopier(t).Copy(ctx(t), pairs)
		if err != nil {
			t.Fatalf("Copy again: %v", err)
		}
		for _, r := range rep.Images {
			if r.Status != mirror.StatusSkipped {
				t.Errorf("Copy(%q) again: Status = %q, want %q", r.Source, r.Status, mirror.StatusSkipped)
			}
		}
		// Per image one manifest HEAD on each side, plus one /v2/ handshake
		// per registry.
		for _, side := range []struct {
			name string
			rec  *recorder
		}{{"source", srcRec}, {"destination", dstRec}} {
			reqs := side.rec.reset()
			heads, pings := 0, 0
			for _, r := range reqs {
				switch {
				case r.Path == "/v2/":
					pings++
				case r.Method == http.MethodHead && strings.Contains(r.Path, "/manifests/"):
					heads++
				default:
					t.Errorf("%s: unexpected request on a no-op run: %s %s", side.name, r.Method, r.Path)
				}
			}
			t.Logf("no-op run, %s registry: %d requests (%d manifest HEADs, %d handshake) for %d images", side.name, len(reqs), heads, pings, len(pairs))
			if heads != len(pairs) {
				t.Errorf("%s: %d manifest HEADs on a no-op run, want %d (one per image)", side.name, heads, len(pairs))
			}
			if pings > 1 {
				t.Errorf("%s: %d handshakes on a no-op run, want at most 1 (one per registry)", side.name, pings)
			}
		}
	})
}
