package plan

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

const pruneMap = `# owned by the platform team
images:
  "atlanhq/a": "reg.example.com/atlan/a"
  "atlanhq/b": "reg.example.com/atlan/b"
  "atlanhq/c": "reg.example.com/atlan/c"
  "atlanhq/d": "reg.example.com/atlan/d"
  "atlanhq/e": "reg.example.com/atlan/e"
  "bitnami/redis": "reg.example.com/atlan/redis"
`

func TestPruneMax(t *testing.T) {
	for _, tc := range []struct{ entries, percent, want int }{
		{0, 10, 1}, {6, 10, 1}, {10, 10, 1}, {11, 10, 2}, {100, 10, 10}, {101, 10, 11}, {6, 50, 3}, {6, 100, 6},
	} {
		if got := PruneMax(tc.entries, tc.percent); got != tc.want {
			t.Errorf("PruneMax(%d, %d) = %d, want %d", tc.entries, tc.percent, got, tc.want)
		}
	}
}

// pruneWorld is a map in a file:// bucket and a plan made against it.
func pruneWorld(t *testing.T, needs []inventory.Item, opts ...Option) (store.Object, *Plan, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "image-map.yaml")
	if err := os.WriteFile(path, []byte(pruneMap), 0o600); err != nil {
		t.Fatal(err)
	}
	obj := store.File(path)
	t.Cleanup(func() { _ = obj.Close() })
	m, err := store.LoadMap(context.Background(), obj)
	if err != nil {
		t.Fatal(err)
	}
	reg := fakeRegistry{"atlanhq/a:1": d1, "reg.example.com/atlan/a:1": d1}
	opts = append([]Option{WithTarget("reg.example.com/atlan"), WithRegistry(reg)}, opts...)
	p, err := Build(context.Background(), needs, m, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return obj, p, []byte(pruneMap)
}

func readBack(t *testing.T, obj store.Object) []byte {
	t.Helper()
	data, _, err := obj.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestPruneRefused: an empty inventory, or one that makes more entries
// stale than allowed, removes nothing; the map stays byte-identical and no
// .bak is written.
func TestPruneRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		needs   []inventory.Item
		max     int
		wantErr func(error) bool
	}{
		{"empty inventory", nil, 0, func(err error) bool { return errors.Is(err, ErrNothingNeeded) }},
		{"empty inventory even when confirmed", nil, 100, func(err error) bool { return errors.Is(err, ErrNothingNeeded) }},
		{"over the default share", []inventory.Item{{Image: "atlanhq/a:1"}}, 0, func(err error) bool {
			var l *PruneLimitError
			return errors.As(err, &l) && len(l.Remove) == 5 && l.Max == 1 && l.Entries == 6
		}},
		{"over an explicit count", []inventory.Item{{Image: "atlanhq/a:1"}}, 4, func(err error) bool {
			var l *PruneLimitError
			return errors.As(err, &l) && l.Max == 4
		}},
		{"none allowed", []inventory.Item{{Image: "atlanhq/a:1"}}, -1, func(err error) bool {
			var l *PruneLimitError
			return errors.As(err, &l) && l.Max == 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj, p, before := pruneWorld(t, tc.needs)
			announced := false
			a := Apply{Map: obj, Prune: true, PruneMax: tc.max, BeforePrune: func([]StaleEntry) { announced = true }}
			out, err := a.Run(context.Background(), p)
			if err == nil || !tc.wantErr(err) {
				t.Fatalf("Apply.Run = %v, want a refused prune", err)
			}
			if announced || out.MapWritten || len(out.Removed) > 0 {
				t.Errorf("refused prune announced %v, wrote %v, removed %v", announced, out.MapWritten, out.Removed)
			}
			if got := readBack(t, obj); !bytes.Equal(got, before) {
				t.Errorf("map changed by a refused prune:\n%s", got)
			}
			if _, _, err := obj.Sibling("image-map.yaml.bak").Read(context.Background()); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("refused prune wrote a .bak: %v", err)
			}
		})
	}
}

// TestPruneConfirmed: with confirmation the stale entries are announced
// before the write, then removed; the previous map stays in .bak.
func TestPruneConfirmed(t *testing.T) {
	obj, p, before := pruneWorld(t, []inventory.Item{{Image: "atlanhq/a:1"}})
	var announced []string
	a := Apply{Map: obj, Prune: true, ConfirmPrune: true, BeforePrune: func(remove []StaleEntry) {
		if got := readBack(t, obj); !bytes.Equal(got, before) {
			t.Errorf("map written before the removals were announced")
		}
		for _, e := range remove {
			announced = append(announced, e.Source)
		}
	}}
	out, err := a.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(announced) != 5 || len(out.Removed) != 5 {
		t.Fatalf("announced %v, removed %v; want the 5 stale entries", announced, out.Removed)
	}
	m, err := imagemap.Parse(readBack(t, obj))
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != 1 {
		t.Errorf("map after prune has %d entries, want 1", m.Len())
	}
	bak, _, err := obj.Sibling("image-map.yaml.bak").Read(context.Background())
	if err != nil || !bytes.Equal(bak, before) {
		t.Errorf("previous map not kept in .bak: %v\n%s", err, bak)
	}
}

// TestPruneKeepsSeen: an entry for an image the inventory found but does
// not mirror (outside the allowed sources) is in use, not stale.
func TestPruneKeepsSeen(t *testing.T) {
	_, p, _ := pruneWorld(t, []inventory.Item{{Image: "atlanhq/a:1"}}, WithSeen("bitnami/redis:7.2"))
	for _, s := range p.Stale {
		if s.Source == "bitnami/redis" {
			t.Fatalf("entry for a seen image is stale: %+v", p.Stale)
		}
	}
	if len(p.Stale) != 4 {
		t.Errorf("stale = %+v, want 4 entries", p.Stale)
	}
}

func TestUnfixable(t *testing.T) {
	p := &Plan{Images: []Item{{State: OK}, {State: Unmapped}, {State: Missing}, {State: Drift}, {State: Unverified}, {State: Error}, {State: Unchecked}}}
	if got := p.Unfixable(false); got != 3 {
		t.Errorf("Unfixable(false) = %d, want 3 (drift, unverified, error)", got)
	}
	if got := p.Unfixable(true); got != 2 {
		t.Errorf("Unfixable(true) = %d, want 2 (unverified, error)", got)
	}
}

// TestPruneRefusesSkippedOnly: an inventory whose images are all skipped
// (outside the allowed sources, say) proves nothing needed: the prune is
// refused, even confirmed, and the map stays byte-identical.
func TestPruneRefusesSkippedOnly(t *testing.T) {
	obj, p, before := pruneWorld(t, nil, WithSkipped(Skip{Image: "quay.io/other/x:1", Reason: "outside --allowed-source"},
		Skip{Image: "atlanhq/a:1", Reason: "duplicate of line 1"}))
	if len(p.Images) != 2 || p.Needed() != 0 {
		t.Fatalf("plan = %+v", p.Images)
	}
	_, err := Apply{Map: obj, Prune: true, PruneMax: 100, ConfirmPrune: true}.Run(context.Background(), p)
	if !errors.Is(err, ErrNothingNeeded) {
		t.Fatalf("Apply.Run = %v, want ErrNothingNeeded", err)
	}
	if got := readBack(t, obj); !bytes.Equal(got, before) {
		t.Errorf("map changed by a refused prune:\n%s", got)
	}
}

// TestMapPreview: the map change a sync would make, written nowhere.
func TestMapPreview(t *testing.T) {
	reg := fakeRegistry{"atlanhq/a:1": d1, "reg.example.com/atlan/a:1": d1, "atlanhq/new:2": d2}
	obj, p, before := pruneWorld(t, []inventory.Item{{Image: "atlanhq/a:1"}, {Image: "atlanhq/new:2"}}, WithRegistry(reg))
	diff, err := MapPreview(context.Background(), obj, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(diff, "\n+  \"atlanhq/new\": \"reg.example.com/atlan/new\"\n") || strings.Contains(diff, "\n-") {
		t.Errorf("MapPreview() =\n%s", diff)
	}
	if got := readBack(t, obj); !bytes.Equal(got, before) {
		t.Errorf("MapPreview wrote the map:\n%s", got)
	}
	_, p, _ = pruneWorld(t, []inventory.Item{{Image: "atlanhq/a:1"}})
	if diff, err := MapPreview(context.Background(), obj, p, nil); err != nil || diff != "" {
		t.Errorf("MapPreview(nothing to add) = %q, %v; want no change", diff, err)
	}
}
