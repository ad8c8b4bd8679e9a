package plan

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// refusingWrite is an object store that reads but refuses every write, as
// a bucket does to a credential that lost its write permission.
type refusingWrite struct{ store.Object }

var errRefused = errors.New("AccessDenied: not authorized to write")

func (refusingWrite) Write(context.Context, []byte, store.Version) error { return errRefused }

func (r refusingWrite) Sibling(key string) store.Object { return refusingWrite{r.Object.Sibling(key)} }

// TestLockBeforeMap: the lock is written before the map. A map write that
// fails leaves a lock naming the copied image at its digest, and the next
// run maps it without copying again; a lock write that fails stops the run
// before the map is touched.
func TestLockBeforeMap(t *testing.T) {
	ctx := context.Background()
	src, srcBlobGets := serve(t, nil)
	dst, _ := serve(t, nil)
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	source := src + "/atlanhq/app:1.0"
	ref, _ := name.ParseReference(source)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	items := []inventory.Item{{Image: source, Why: []string{"file:images.txt"}}}
	const empty = "images: {}\n"

	obj, m, c := emptyMapAndCopier(ctx, t)
	lock := obj.Sibling(imagemap.LockKey("image-map.yaml"))
	build := func() *Plan {
		t.Helper()
		p, err := Build(ctx, items, m, WithTarget(dst+"/atlan"), WithRegistry(c))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// The lock cannot be written: nothing reaches the map.
	p := build()
	_, err = Apply{Copier: c, Map: obj, Lock: refusingWrite{lock}}.Run(ctx, p)
	if err == nil || !strings.Contains(err.Error(), "writing the lock file") || !errors.Is(err, errRefused) {
		t.Fatalf("Apply with an unwritable lock: err = %v, want the lock write's refusal", err)
	}
	if got := readBack(t, obj); !bytes.Equal(got, []byte(empty)) {
		t.Errorf("the map is now\n%s\nwant it untouched", got)
	}

	// The map cannot be written: the lock already records the copy.
	p = build()
	_, err = Apply{Copier: c, Map: refusingWrite{obj}, Lock: lock}.Run(ctx, p)
	if err == nil || !errors.Is(err, errRefused) {
		t.Fatalf("Apply with an unwritable map: err = %v, want the map write's refusal", err)
	}
	l, err := store.LoadLock(ctx, lock)
	if err != nil {
		t.Fatal(err)
	}
	want := dst + "/atlan/app:1.0"
	if len(l.Entries) != 1 || l.Entries[0].Source != source || l.Entries[0].Destination != want || l.Entries[0].Digest != digest.String() {
		t.Fatalf("lock entries = %+v, want %s -> %s at %s", l.Entries, source, want, digest)
	}

	// The next run finds the image mirrored but unmapped, and maps it
	// without reading a blob again.
	p = build()
	if it := p.Images[0]; it.State != Unmapped || !it.Mirrored() {
		t.Fatalf("plan after the failed map write: %s (mirrored %v), want unmapped and mirrored", it.State, it.Mirrored())
	}
	srcBlobGets.Store(0)
	out, err := Apply{Copier: c, Map: obj, Lock: lock}.Run(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if n := srcBlobGets.Load(); n != 0 {
		t.Errorf("the second run read %d source blobs, want none", n)
	}
	if out.Copied != 0 || len(out.Added) != 1 {
		t.Errorf("second run copied %d, added %v; want 0 copied and the entry added", out.Copied, out.Added)
	}
	if got := readBack(t, obj); !strings.Contains(string(got), want[:strings.LastIndex(want, ":")]) {
		t.Errorf("the map is now\n%s\nwant the entry for %s", got, source)
	}
	if l, err = store.LoadLock(ctx, lock); err != nil || len(l.Entries) != 1 || l.Entries[0].Digest != digest.String() {
		t.Errorf("lock after the second run = %+v (%v), want the one entry at %s", l, err, digest)
	}
}
