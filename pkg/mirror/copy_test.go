package mirror_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

func newCopier(t *testing.T, opts ...mirror.Option) *mirror.Copier {
	t.Helper()
	opts = append([]mirror.Option{
		mirror.WithKeychain(authn.NewMultiKeychain()), // never the developer's own credentials
		mirror.WithRetry(8, 10*time.Millisecond, 3*time.Second),
	}, opts...)
	c, err := mirror.New(opts...)
	if err != nil {
		t.Fatalf("mirror.New: %v", err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// mirrorSet seeds three images over two source repositories, all sharing a
// base layer, and returns the seeds and the pairs that mirror them into
// two destination repositories of dst.
func mirrorSet(t *testing.T, src, dst string) ([]seed, []mirror.Pair) {
	t.Helper()
	base, err := random.Layer(64<<10, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	seeds := []seed{
		pushImage(t, src+"/atlanhq/app-a:1.0", base),
		pushImage(t, src+"/atlanhq/app-a:2.0", base),
		pushImage(t, src+"/atlanhq/app-b:1.0", base),
	}
	pairs := []mirror.Pair{
		{Source: src + "/atlanhq/app-a:1.0", Destination: dst + "/mirror/app-a:1.0"},
		{Source: src + "/atlanhq/app-a:2.0", Destination: dst + "/mirror/app-a:2.0"},
		{Source: src + "/atlanhq/app-b:1.0", Destination: dst + "/mirror/app-b:1.0"},
	}
	return seeds, pairs
}

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

// TestAuthFailureNamesRegistry copies into a Distribution registry with
// htpasswd auth and TLS: without credentials the error names the registry;
// with --registry-auth-file and --registry-ca-file the copy succeeds.
func TestAuthFailureNamesRegistry(t *testing.T) {
	src, _ := inProcessRegistry(t, nil)
	dst, dir := testenv.Registry(t, "--htpasswd", "mirror:s3cret-pass", "--tls")
	_, pairs := mirrorSet(t, src, dst)
	pairs = pairs[:1]
	ca := filepath.Join(dir, "ca.pem")

	_, err := newCopier(t, mirror.WithCAFile(ca)).Copy(ctx(t), pairs)
	if err == nil {
		t.Fatal("Copy without credentials: got no error")
	}
	if !errors.Is(err, mirror.ErrAuth) {
		t.Errorf("Copy without credentials: error %q does not wrap ErrAuth", err)
	}
	t.Logf("error without credentials: %v", err)
	want := fmt.Sprintf("destination registry %q: authentication failed", dst)
	if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Errorf("Copy without credentials = %q, want one line containing %q", err, want)
	}

	authFile := filepath.Join(t.TempDir(), "auth.json")
	auth := base64.StdEncoding.EncodeToString([]byte("mirror:s3cret-pass"))
	if err := os.WriteFile(authFile, []byte(`{"auths":{"`+dst+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	kc, err := mirror.Keychain(authFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mirror.New(mirror.WithKeychain(kc), mirror.WithCAFile(ca))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Copy(ctx(t), pairs)
	if err != nil {
		t.Fatalf("Copy with --registry-auth-file: %v", err)
	}
	if strings.Contains(fmt.Sprint(rep), "s3cret-pass") {
		t.Error("the report contains the password")
	}
	if rep.Images[0].Status != mirror.StatusCopied {
		t.Errorf("Status = %q, want copied", rep.Images[0].Status)
	}
}

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

func TestParseMirrors(t *testing.T) {
	tests := []struct {
		in      []string
		want    map[string]string
		wantErr string
	}{
		{[]string{"docker.io=proxy:5000"}, map[string]string{"index.docker.io": "proxy:5000"}, ""},
		{[]string{"docker.io=a:5000", "index.docker.io=b:5000"}, nil, "two mirrors"},
		{[]string{"ghcr.io=m:1", "ghcr.io=m:1"}, map[string]string{"ghcr.io": "m:1"}, ""},
		{[]string{"ghcr.io"}, nil, "want SOURCEHOST=MIRRORHOST"},
	}
	for _, tc := range tests {
		got, err := mirror.ParseMirrors(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseMirrors(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("ParseMirrors(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

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

// TestCheckAndDrift inspects without copying, refuses to replace a tag that
// holds another image, and replaces it with WithOverwrite.
func TestCheckAndDrift(t *testing.T) {
	src, _ := inProcessRegistry(t, nil)
	dst, dstRec := inProcessRegistry(t, nil)
	seeds, pairs := mirrorSet(t, src, dst)
	one := pairs[:1]

	in := newCopier(t).Check(ctx(t), one)
	if in[0].Err != nil || in[0].Present() || in[0].DestinationDigest != "" || in[0].SourceDigest != seeds[0].index.String() {
		t.Errorf("Check before copying = %+v, want source digest %s and no destination", in[0], seeds[0].index)
	}
	for _, r := range dstRec.reset() {
		if r.Method != http.MethodHead && r.Method != http.MethodGet {
			t.Errorf("Check wrote to the destination: %s %s", r.Method, r.Path)
		}
	}
	if _, err := newCopier(t).Copy(ctx(t), one); err != nil {
		t.Fatal(err)
	}
	if in := newCopier(t).Check(ctx(t), one); !in[0].Present() {
		t.Errorf("Check after copying = %+v, want present", in[0])
	}

	// app-a:2.0 onto the tag that holds app-a:1.0.
	drift := []mirror.Pair{{Source: pairs[1].Source, Destination: pairs[0].Destination}}
	_, err := newCopier(t).Copy(ctx(t), drift)
	if !errors.Is(err, mirror.ErrDrift) || !strings.Contains(err.Error(), "--overwrite") {
		t.Errorf("Copy onto a drifted tag: error %v, want ErrDrift naming --overwrite", err)
	}
	if got := headDigest(t, pairs[0].Destination); got != seeds[0].index {
		t.Errorf("drifted tag now %s, want it left at %s", got, seeds[0].index)
	}
	rep, err := newCopier(t, mirror.WithOverwrite(true)).Copy(ctx(t), drift)
	if err != nil || rep.Images[0].Status != mirror.StatusCopied {
		t.Fatalf("Copy --overwrite: %v, %+v", err, rep.Images)
	}
	if got := headDigest(t, pairs[0].Destination); got != seeds[1].index {
		t.Errorf("overwritten tag = %s, want %s", got, seeds[1].index)
	}
}

// TestCheckThenCopy is sync's use of one copier: Check the plan, then set
// the progress display and Copy, reusing the source registry session.
func TestCheckThenCopy(t *testing.T) {
	src, srcRec := inProcessRegistry(t, nil)
	dst, _ := inProcessRegistry(t, nil)
	seeds, pairs := mirrorSet(t, src, dst)
	srcRec.reset()
	c := newCopier(t)
	for i, in := range c.Check(ctx(t), pairs) {
		if in.Err != nil || in.Present() {
			t.Fatalf("Check(%q) = %+v, want absent", pairs[i].Destination, in)
		}
	}
	kinds := map[mirror.EventKind]int{}
	c.SetProgress(func(e mirror.Event) { kinds[e.Kind]++ })
	if _, err := c.Copy(ctx(t), pairs); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if kinds[mirror.ImageCopied] != len(pairs) {
		t.Errorf("events after SetProgress = %v, want %d copied", kinds, len(pairs))
	}
	for i, p := range pairs {
		if got := headDigest(t, p.Destination); got != seeds[i].index {
			t.Errorf("%s = %s, want %s", p.Destination, got, seeds[i].index)
		}
	}
	pings := 0
	for _, r := range srcRec.reset() {
		if r.Path == "/v2/" {
			pings++
		}
	}
	if pings != 1 {
		t.Errorf("the source registry was pinged %d times over Check and Copy, want once", pings)
	}
}
