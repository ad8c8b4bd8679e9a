package synccmd

import (
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
)

func TestUsesCluster(t *testing.T) {
	explicit := factory.MapFlags{Bucket: "file:///srv/sdr", Key: "sdr/image-map.yaml"}
	tests := []struct {
		name string
		o    Options
		want bool
	}{
		{"nothing given", Options{}, true},
		{"latest-releases adds to the cluster's images", Options{AtlanURL: "https://acme.atlan.com"}, true},
		{"map given without a target", Options{Map: explicit}, true},
		{"map and target given", Options{Map: explicit, SDR: factory.SDRFlags{Target: "reg.example.com/atlan"}}, false},
		{"map and target given with latest-releases", Options{Map: explicit, SDR: factory.SDRFlags{Target: "reg.example.com/atlan"}, AtlanURL: "https://acme.atlan.com"}, false},
		{"images file", Options{ImagesFile: "images.txt"}, false},
		{"--from file", Options{From: []string{fromFile}, ImagesFile: "images.txt"}, false},
		{"--from helm", Options{From: []string{fromHelm}, Map: explicit, SDR: factory.SDRFlags{Target: "reg.example.com/atlan"}}, true},
		{"--config", Options{Source: factory.SourceFlags{Config: "config.yaml"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.o.usesCluster(); got != tc.want {
				t.Errorf("usesCluster() = %v, want %v", got, tc.want)
			}
		})
	}
}

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
