package plan

import (
	"errors"
	"fmt"
)

// DefaultPrunePercent is the share of the map's entries one run may prune
// without confirmation: a wrong images file or filter makes almost every
// entry look stale, a real cleanup removes a few.
const DefaultPrunePercent = 10

// ErrNothingNeeded refuses a prune when no image is needed at all: an
// empty or fully filtered inventory proves nothing stale, it makes every
// entry look stale.
var ErrNothingNeeded = errors.New("no needed image was found, so every map entry would look stale")

// PruneLimitError refuses a prune that removes more entries than allowed
// without confirmation.
type PruneLimitError struct {
	// Remove are the entries the prune would remove.
	Remove []StaleEntry
	// Max is the limit; Entries the size of the map.
	Max, Entries int
}

func (e *PruneLimitError) Error() string {
	return fmt.Sprintf("%d of the map's %d entries would be removed, more than the %d allowed without confirmation",
		len(e.Remove), e.Entries, e.Max)
}

// PruneMax is the number of entries percent of a map of the given size
// allows, rounded up, and at least one.
func PruneMax(entries, percent int) int {
	n := (entries*percent + 99) / 100
	return max(n, 1)
}

// Prunable returns the stale entries a prune removes: every stale entry,
// as long as some image is needed and there are at most max of them (or
// confirmed is set). Otherwise it returns ErrNothingNeeded or a
// *PruneLimitError, and nothing may be removed. Skipped images prove
// nothing needed: a plan of only skipped rows prunes nothing.
func (p *Plan) Prunable(limit int, confirmed bool) ([]StaleEntry, error) {
	if p.Needed() == 0 {
		return nil, ErrNothingNeeded
	}
	if len(p.Stale) > limit && !confirmed {
		entries := 0
		if p.Map != nil {
			entries = p.Map.Entries
		}
		return nil, &PruneLimitError{Remove: p.Stale, Max: limit, Entries: entries}
	}
	return p.Stale, nil
}
