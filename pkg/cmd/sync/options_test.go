package synccmd

import (
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
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
