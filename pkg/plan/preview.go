package plan

import (
	"context"
	"fmt"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// MapPreview is the change a sync of p would make to the map in obj, as a
// unified diff ("" when none), writing nothing: an entry for every
// unmapped image with a destination, as if each verifies and copies, and
// the release block as release decides it (nil: unchanged). Stale entries
// stay: only sync --prune removes them.
func MapPreview(ctx context.Context, obj store.Object, p *Plan, release func(*imagemap.Release) *imagemap.Release) (string, error) {
	res, err := store.Update(ctx, obj, func(m *imagemap.ImageMap) error {
		for _, it := range p.Images {
			if it.State != Unmapped || it.Entry == nil || it.Error != "" {
				continue
			}
			if _, err := m.Set(it.Entry.Source, it.Entry.Destination); err != nil {
				return fmt.Errorf("adding %q: %w", it.Entry.Source, err)
			}
		}
		if release != nil {
			m.SetRelease(release(m.Release()))
		}
		return nil
	}, store.DryRun(true))
	if err != nil {
		return "", fmt.Errorf("reading the image map: %w", err)
	}
	if !res.Changed {
		return "", nil
	}
	return res.Diff(obj.URL()), nil
}
