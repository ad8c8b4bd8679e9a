package mirror_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

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

// TestCopyResumes interrupts a copy after its blobs and child manifests
// are written, then reruns it: the rerun finishes without uploading a blob.
func TestCopyResumes(t *testing.T) {
	src, _ := inProcessRegistry(t, nil)
	failTop := true
	dst, dstRec := inProcessRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failTop && r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/1.0") {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	_, pairs := mirrorSet(t, src, dst)
	if _, err := newCopier(t).Copy(ctx(t), pairs[:1]); err == nil {
		t.Fatal("Copy with the top manifest refused: got no error")
	}
	dstRec.reset()
	failTop = false
	rep, err := newCopier(t).Copy(ctx(t), pairs[:1])
	if err != nil {
		t.Fatalf("Copy after the interruption: %v", err)
	}
	if rep.Images[0].Status != mirror.StatusCopied {
		t.Errorf("rerun Status = %q, want %q", rep.Images[0].Status, mirror.StatusCopied)
	}
	for _, r := range dstRec.reset() {
		if r.Method == http.MethodPatch || (r.Method == http.MethodPut && strings.Contains(r.Path, "/blobs/")) {
			t.Errorf("rerun uploaded a blob again: %s %s", r.Method, r.Path)
		}
	}
}

// TestCopySurvivesThrottlingAndFailures copies through registries that
// answer 429 with Retry-After, 503 and dropped connections.
func TestCopySurvivesThrottlingAndFailures(t *testing.T) {
	var faults []*faultyHandler
	faulty := func(next http.Handler) http.Handler {
		f := &faultyHandler{next: next, seen: map[string]bool{}, throttled: map[string]time.Time{}}
		faults = append(faults, f)
		return f
	}
	src, srcRec := inProcessRegistry(t, faulty)
	dst, dstRec := inProcessRegistry(t, faulty)
	arm := func(on bool) {
		for _, f := range faults {
			f.mu.Lock()
			f.armed, f.n, f.seen = on, 0, map[string]bool{}
			f.mu.Unlock()
		}
	}
	arm(false) // seed without faults
	seeds, pairs := mirrorSet(t, src, dst)
	arm(true)
	srcRec.reset()
	dstRec.reset()

	rep, err := newCopier(t, mirror.WithConcurrency(4)).Copy(ctx(t), pairs)
	if err != nil {
		t.Fatalf("Copy through a faulty registry: %v", err)
	}
	for i, p := range pairs {
		if rep.Images[i].Status != mirror.StatusCopied {
			t.Errorf("Copy(%q).Status = %q, want copied", p.Source, rep.Images[i].Status)
		}
		if got := headDigest(t, p.Destination); got != seeds[i].index {
			t.Errorf("HEAD %s = %s, want %s", p.Destination, got, seeds[i].index)
		}
	}
	var n429, n503 int
	for _, rec := range []*recorder{srcRec, dstRec} {
		reqs := rec.reset()
		for i, r := range reqs {
			switch r.Status {
			case http.StatusServiceUnavailable:
				n503++
			case http.StatusTooManyRequests:
				n429++
				// The next request for the same path waited for Retry-After.
				for _, next := range reqs[i+1:] {
					if next.Path == r.Path && next.Method == r.Method {
						if wait := next.At.Sub(r.At); wait < 900*time.Millisecond {
							t.Errorf("%s %s retried %v after a 429 with Retry-After: 1, want at least 1s", r.Method, r.Path, wait)
						}
						break
					}
				}
			}
		}
	}
	if n429 == 0 || n503 == 0 {
		t.Errorf("faults injected: %d×429, %d×503; the test must exercise both", n429, n503)
	}
}
