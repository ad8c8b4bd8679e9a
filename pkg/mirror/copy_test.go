package mirror_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

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
