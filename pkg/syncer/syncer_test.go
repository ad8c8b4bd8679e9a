package syncer_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/syncer"
)

// skipping is an origin that finds one image and leaves one out.
type skipping struct{}

func (skipping) Name() string { return "skipping" }

func (skipping) Needs(context.Context, inventory.Input) (inventory.Found, error) {
	return inventory.Found{
		Items: []inventory.Item{{Image: "atlanhq/atlan-b:2", Why: []string{"skipping:1"}}, {Image: "Atlanhq/Bad:1", Why: []string{"skipping:2"}}},
		Skipped: []inventory.Skipped{{Index: 1, App: "x", Image: "atlanhq/atlan-gone:1", Why: "skipping:3", Reason: "not wanted", Announced: true},
			{App: "y", Why: "skipping:4", Reason: "missing image"}},
	}, nil
}

// TestPlanOffline drives the run as a library: origins, the allowed-source
// filter, the map and the skipped entries, without a registry.
func TestPlanOffline(t *testing.T) {
	m := imagemap.New()
	for src, dst := range map[string]string{
		"atlanhq/atlan-a":    "reg.example.com/atlan/atlan-a",
		"atlanhq/atlan-gone": "reg.example.com/atlan/atlan-gone",
		"atlanhq/atlan-old":  "reg.example.com/atlan/atlan-old",
		"quay.io/other/x":    "reg.example.com/atlan/x",
	} {
		if _, err := m.Set(src, dst); err != nil {
			t.Fatal(err)
		}
	}
	var told []inventory.Skipped
	run, err := syncer.Plan(context.Background(), syncer.Config{
		Origins: []inventory.Origin{inventory.FileOrigin{}, skipping{}},
		Input: inventory.Input{ImagesFile: "-",
			Stdin: strings.NewReader("atlanhq/atlan-a:1\nquay.io/other/x:1\natlanhq/atlan-a:1\n")},
		AllowedSources: inventory.DefaultAllowedSources,
		ImageMap:       m,
		Target:         "reg.example.com/atlan",
		Concurrency:    1,
		Offline:        true,
		OnSkipped:      func(s inventory.Skipped) { told = append(told, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range run.Plan.Images {
		got = append(got, it.Source+" "+string(it.State)+" "+it.Reason+" "+strings.Join(it.Why, ","))
	}
	// Every image left out is a skipped row with its reason: outside the
	// allowed sources, not a valid reference, listed twice, or left out by
	// its origin.
	want := []string{
		"atlanhq/atlan-a:1 unchecked  file:-:1",
		"atlanhq/atlan-b:2 unmapped  skipping:1",
		`Atlanhq/Bad:1 skipped invalid image reference "Atlanhq/Bad:1": path component "Atlanhq" must be lowercase letters, digits and separators (. _ __ -) skipping:2`,
		"quay.io/other/x:1 skipped outside --allowed-source (docker.io/atlanhq, ghcr.io/atlanhq) file:-:2",
		"atlanhq/atlan-a:1 skipped duplicate of line 1 file:-:3",
		"atlanhq/atlan-gone:1 skipped not wanted skipping:3",
		" skipped y: missing image skipping:4",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Plan images =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if run.Plan.Needed() != 2 {
		t.Errorf("Needed() = %d, want 2", run.Plan.Needed())
	}
	if want := []string{"Atlanhq/Bad:1", "quay.io/other/x:1"}; !reflect.DeepEqual(run.Ignored, want) {
		t.Errorf("Plan ignored = %q, want %q", run.Ignored, want)
	}
	// Only announced entries are told.
	if len(told) != 1 || told[0].Image != "atlanhq/atlan-gone:1" {
		t.Errorf("OnSkipped told %+v; run.Skipped %+v", told, run.Skipped)
	}
	// Ignored and skipped images keep their entries in use.
	if want := []plan.StaleEntry{{Source: "atlanhq/atlan-old", Destination: "reg.example.com/atlan/atlan-old"}}; !reflect.DeepEqual(run.Plan.Stale, want) {
		t.Errorf("Plan stale = %+v, want %+v", run.Plan.Stale, want)
	}
	if run.Release("auto") != nil {
		t.Errorf("Release without a cluster is not nil")
	}
}
