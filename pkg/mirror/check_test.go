package mirror_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

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
