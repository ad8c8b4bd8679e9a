package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
)

// TestPruneNeverWipesTheMap: a plausible mistake (an empty images file,
// a file whose every image is outside --allowed-source, a file naming one
// app of many) never costs map entries. Each refused prune exits non-zero
// with one error line naming the reason and the flag, and leaves the map
// and its .bak byte-identical, in a file:// bucket and in a real S3 server.
// A confirmed prune lists every removal before the write.
func TestPruneNeverWipesTheMap(t *testing.T) {
	for _, bucket := range []string{"file", "s3"} {
		t.Run(bucket, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			w := newWorld(t, 41, 0, 4)
			if bucket == "s3" {
				w.moveMapToS3(t, func(endpoint string) string { return endpoint })
			}
			all := filepath.Join(w.dir, "images.txt")
			if out, err := w.run(ctx, w.syncArgs(all)...); err != nil {
				t.Fatalf("first sync failed: %v\n%s", err, out)
			}
			mapped := w.readMap(t)
			m, err := imagemap.Parse(mapped)
			if err != nil || m.Len() != 6 {
				t.Fatalf("after the first sync the map has %v entries (%v), want 6:\n%s", m.Len(), err, mapped)
			}
			bakKey := "image-map.yaml.bak" // beside the map file
			if bucket == "s3" {
				bakKey = "sdr/image-map.yaml.bak" // from the bucket's root
			}
			bak := w.mapObj.Sibling(bakKey)
			bakBefore, _, err := bak.Read(ctx)
			if err != nil {
				t.Fatalf("no .bak after the first sync: %v", err)
			}
			write := func(name, content string) string {
				p := filepath.Join(w.dir, name)
				if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			one := fmt.Sprintf("docker.io/atlanhq/%s:%s\n", w.apps[0].Name, w.apps[0].Version)
			for _, tc := range []struct {
				name, file string
				extra      []string
				want       string
			}{
				{"empty images file", write("empty.txt", "# nothing yet\n"), nil, "no needed image was found"},
				{"every image outside --allowed-source", write("thirdparty.txt", "docker.io/bitnami/redis:7.2\nquay.io/prometheus/node-exporter:v1.8.0\n"), nil,
					"no needed image was found (2 found outside --allowed-source)"},
				{"one app of four", write("one.txt", one), nil, "refusing to --prune 5 of the map's 6 entries"},
				{"one app of four, dry run", write("one.txt", one), []string{"--dry-run"}, "refusing to --prune 5 of the map's 6 entries"},
				{"one app of four, --prune-max 4", write("one.txt", one), []string{"--prune-max", "4"}, "more than --prune-max 4 allows (4)"},
				{"one app of four, --prune-max 0", write("one.txt", one), []string{"--prune-max", "0"}, "more than --prune-max 0 allows (0)"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					args := append(append(w.syncArgs(tc.file), "--prune"), tc.extra...)
					out, err := w.run(ctx, args...)
					if err == nil {
						t.Fatalf("sync --prune succeeded:\n%s", out)
					}
					var errLines []string
					for _, l := range strings.Split(out, "\n") {
						if strings.HasPrefix(l, "error: ") {
							errLines = append(errLines, l)
						}
					}
					if len(errLines) != 1 || !strings.Contains(errLines[0], tc.want) || !strings.Contains(errLines[0], "the map was not changed") {
						t.Fatalf("want one error line containing %q, got %q:\n%s", tc.want, errLines, out)
					}
					if strings.Contains(out, "removing stale map entry") || strings.Contains(out, "would remove") {
						t.Errorf("a refused prune announced removals:\n%s", out)
					}
					if got := w.readMap(t); !bytes.Equal(got, mapped) {
						t.Fatalf("map changed by a refused prune:\n%s", got)
					}
					if got, _, err := bak.Read(ctx); err != nil || !bytes.Equal(got, bakBefore) {
						t.Fatalf(".bak changed by a refused prune (%v):\n%s", err, got)
					}
				})
			}

			// Confirmed: every removal is listed, then written; the
			// previous map is the .bak.
			out, err := w.run(ctx, append(w.syncArgs(filepath.Join(w.dir, "one.txt")), "--prune", "--confirm-prune")...)
			if err != nil {
				t.Fatalf("confirmed prune failed: %v\n%s", err, out)
			}
			removals := strings.Count(out, "warning: removing stale map entry")
			if removals != 5 || strings.Index(out, "removing stale map entry") > strings.Index(out, "sync: ") {
				t.Fatalf("want 5 removals listed before the summary, got %d:\n%s", removals, out)
			}
			after, err := imagemap.Parse(w.readMap(t))
			if err != nil || after.Len() != 1 {
				t.Fatalf("after the confirmed prune the map has %d entries (%v), want 1", after.Len(), err)
			}
			if got, _, err := bak.Read(ctx); err != nil || !bytes.Equal(got, mapped) {
				t.Fatalf("the map before the prune is not the .bak (%v):\n%s", err, got)
			}
		})
	}
}
