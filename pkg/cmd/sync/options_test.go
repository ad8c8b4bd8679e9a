package synccmd

import (
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/mapflags"
)

func TestUsesCluster(t *testing.T) {
	explicit := mapflags.Flags{Bucket: "file:///srv/sdr", Key: "sdr/image-map.yaml"}
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

func TestParsePruneMax(t *testing.T) {
	for _, tc := range []struct {
		in      string
		entries int
		want    int
	}{
		{"10%", 6, 1}, {"10%", 40, 4}, {"50%", 6, 3}, {"3", 100, 3}, {"0", 100, -1}, {"0%", 100, -1}, {"100%", 7, 7},
	} {
		m, err := parsePruneMax(tc.in)
		if err != nil {
			t.Fatalf("parsePruneMax(%q): %v", tc.in, err)
		}
		if got := m.limit(tc.entries); got != tc.want {
			t.Errorf("parsePruneMax(%q).limit(%d) = %d, want %d", tc.in, tc.entries, got, tc.want)
		}
	}
	for _, bad := range []string{"", "ten", "-1", "101%", "5%%", "1.5"} {
		if _, err := parsePruneMax(bad); err == nil || !strings.Contains(err.Error(), "--prune-max") {
			t.Errorf("parsePruneMax(%q) = %v, want an error naming --prune-max", bad, err)
		}
	}
}
