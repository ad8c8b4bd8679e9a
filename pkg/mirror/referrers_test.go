package mirror_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestSubjectBeforeArtifacts copies into a registry that refuses a
// signature tag or a referrer whose subject it does not hold
// (distribution-spec#459, #505): the index is written first.
func TestSubjectBeforeArtifacts(t *testing.T) {
	src, _ := inProcessRegistry(t, nil)
	dst, dstRec := inProcessRegistry(t, withQuirks(&quirkState{}, strongReferences))
	seeds, pairs := mirrorSet(t, src, dst)
	dstRec.reset()
	rep, err := newCopier(t).Copy(ctx(t), pairs[:1])
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if rep.Images[0].Attached != 2 {
		t.Errorf("Attached = %d, want the signature and the referrer", rep.Images[0].Attached)
	}
	subject, sig, tag := -1, -1, -1
	for i, r := range dstRec.reset() {
		if r.Method != http.MethodPut || r.Status >= 300 {
			continue
		}
		switch {
		case strings.HasSuffix(r.Path, "/manifests/"+seeds[0].index.String()) && subject < 0:
			subject = i
		case strings.HasSuffix(r.Path, "/manifests/"+seeds[0].sig):
			sig = i
		case strings.HasSuffix(r.Path, "/manifests/1.0"):
			tag = i
		}
	}
	if subject < 0 || sig < subject || tag < sig {
		t.Errorf("writes: index by digest #%d, signature tag #%d, tag 1.0 #%d; want them in that order", subject, sig, tag)
	}
}

// fallbackList is the digests the destination's fallback tag sha256-<hex>
// lists for subject d.
func fallbackList(t *testing.T, repo string, d v1.Hash) []v1.Hash {
	t.Helper()
	ref, err := name.ParseReference(repo + ":" + strings.Replace(d.String(), ":", "-", 1))
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatalf("reading the fallback tag %s: %v", ref, err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(desc.Manifest, &im); err != nil {
		t.Fatal(err)
	}
	var out []v1.Hash
	for _, m := range im.Manifests {
		out = append(out, m.Digest)
	}
	return out
}

// TestReferrersWithoutAPI: a registry that answers /referrers/ with
// anything but an OCI image index has no referrers API; its referrers are
// read from, and written to, the fallback tag.
func TestReferrersWithoutAPI(t *testing.T) {
	tests := []struct {
		name string
		// side is the registry without the API.
		side  string
		reply reply
	}{
		// Artifact Registry once answered 200 with a sign-in page
		// (soci-snapshotter#512); Quay answers 400 (quay#3071); Artifactory
		// serves the API only behind a flag (cosign#2973).
		{name: "source answers a sign-in page", side: "source", reply: reply{http.StatusOK, "text/html", signInPage}},
		{name: "source answers 400", side: "source", reply: reply{http.StatusBadRequest, "text/plain", "bad request"}},
		{name: "source answers 403", side: "source", reply: reply{http.StatusForbidden, "text/plain", "forbidden"}},
		{name: "destination answers a sign-in page", side: "destination", reply: reply{http.StatusOK, "text/html", signInPage}},
		{name: "destination answers an index type with a page", side: "destination", reply: reply{http.StatusOK, "application/vnd.oci.image.index.v1+json", signInPage}},
		{name: "destination answers 400", side: "destination", reply: reply{http.StatusBadRequest, "text/plain", "bad request"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cur := &atomic.Pointer[reply]{}
			quirky := withQuirks(&quirkState{}, referrersAnswer(cur))
			var src, dst string
			if tc.side == "source" {
				// Seeded as a registry without the API: a 404 makes the
				// writer keep the fallback tag.
				cur.Store(&reply{http.StatusNotFound, "text/plain", ""})
				src, _ = inProcessRegistry(t, quirky)
				dst, _ = inProcessRegistry(t, nil)
			} else {
				src, _ = inProcessRegistry(t, nil)
				dst, _ = inProcessRegistry(t, quirky)
			}
			seeds, pairs := mirrorSet(t, src, dst)
			cur.Store(&tc.reply)
			rep, err := newCopier(t).Copy(ctx(t), pairs[:1])
			if err != nil {
				t.Fatalf("Copy: %v", err)
			}
			if rep.Images[0].Attached != 2 {
				t.Errorf("Attached = %d, want the signature and the referrer", rep.Images[0].Attached)
			}
			if len(rep.Images[0].Warnings) != 0 {
				t.Errorf("Warnings = %q, want none", rep.Images[0].Warnings)
			}
			dstRepo := strings.TrimSuffix(pairs[0].Destination, ":1.0")
			if tc.side == "source" {
				subject, _ := name.NewDigest(dstRepo + "@" + seeds[0].index.String())
				idx, err := remote.Referrers(subject)
				if err != nil {
					t.Fatal(err)
				}
				im, _ := idx.IndexManifest()
				if len(im.Manifests) != 1 || im.Manifests[0].Digest != seeds[0].referrer {
					t.Errorf("destination referrers of %s = %v, want only %s", subject, im.Manifests, seeds[0].referrer)
				}
				return
			}
			if got := fallbackList(t, dstRepo, seeds[0].index); len(got) != 1 || got[0] != seeds[0].referrer {
				t.Errorf("destination fallback tag lists %v, want only %s", got, seeds[0].referrer)
			}
		})
	}
}
