package syncer

import (
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
)

func TestNeedsVerify(t *testing.T) {
	tests := []struct {
		states    []plan.State
		overwrite bool
		want      bool
	}{
		{nil, false, false},
		{[]plan.State{plan.OK, plan.OK}, false, false},
		{[]plan.State{plan.OK, plan.Unverified, plan.Error}, false, false},
		{[]plan.State{plan.OK, plan.Unmapped}, false, true},
		{[]plan.State{plan.Missing}, false, true},
		{[]plan.State{plan.Drift}, false, false},
		{[]plan.State{plan.Drift}, true, true},
	}
	for _, tc := range tests {
		p := &plan.Plan{}
		for _, s := range tc.states {
			p.Images = append(p.Images, plan.Item{State: s})
		}
		if got := needsVerify(p, tc.overwrite); got != tc.want {
			t.Errorf("needsVerify(%v, overwrite=%v) = %v, want %v", tc.states, tc.overwrite, got, tc.want)
		}
	}
}
