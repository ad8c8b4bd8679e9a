package synccmd_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
)

// stubOrigin is a needed-image source written in this one file: adding it
// to inventory.Origins is all that --from, its help and its validation
// need.
type stubOrigin struct{ reg string }

func (stubOrigin) Name() string { return "stub" }

func (s stubOrigin) Needs(context.Context, inventory.Input) (inventory.Found, error) {
	return inventory.Found{Items: []inventory.Item{
		{Image: s.reg + "/atlanhq/atlan-c:1", Why: []string{"stub:one"}},
		{Image: s.reg + "/atlanhq/atlan-a:1", Why: []string{"stub:two"}},
	}}, nil
}

func TestAddOrigin(t *testing.T) {
	fx := everyState(t)
	saved := slices.Clone(inventory.Origins)
	t.Cleanup(func() { inventory.Origins = saved })

	inventory.Origins = append(inventory.Origins, stubOrigin{reg: fx.reg}) // the one line that registers it

	out, errOut, code := fx.run(t, append([]string{"diff", "--from", "stub", "--why"}, fx.bucketArgs()...)...)
	if code != 0 || errOut != "" {
		t.Fatalf("diff --from stub: exit %d, stderr %q", code, errOut)
	}
	// Its images reach the plan with their reasons, like any other
	// origin's.
	golden(t, "origin.golden", out)
	out, _, _ = fx.run(t, "diff", "--help")
	if !strings.Contains(out, "where the needed images come from: helm, latest-releases, file, bundle, self, stub (default:") {
		t.Errorf("diff --help does not list the stub origin:\n%s", out)
	}
}
