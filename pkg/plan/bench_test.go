package plan

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
)

// BenchmarkBuildOffline is diff --offline on 2,000 needed images against a
// 2,000-entry map (target: under 200 ms).
func BenchmarkBuildOffline(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("images:\n")
	for i := range 2000 {
		if i%2 == 0 {
			fmt.Fprintf(&sb, "  \"atlanhq/app-%d\": \"reg.example.com/atlan/app-%d\"\n", i, i)
		} else {
			fmt.Fprintf(&sb, "  \"atlanhq/app-%d:1.%d\": \"reg.example.com/atlan/app-%d:1.%d\"\n", i, i, i, i)
		}
	}
	data := []byte(sb.String())
	needs := make([]inventory.Item, 2000)
	for i := range needs {
		needs[i] = inventory.Item{Image: fmt.Sprintf("atlanhq/app-%d:1.%d", i+500, i), Why: []string{"latest-releases"}}
	}
	b.ReportAllocs()
	for b.Loop() {
		m, err := imagemap.Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Build(context.Background(), needs, m, WithTarget("reg.example.com/atlan")); err != nil {
			b.Fatal(err)
		}
	}
}
