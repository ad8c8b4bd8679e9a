package syncer

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"golang.org/x/sync/errgroup"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/airgap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/bundle"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
)

// NotInBundle is the reason of a needed image an imported bundle lacks.
const NotInBundle = "not in the bundle"

// markNotInBundle makes every needed image the bundle does not hold
// missing, with the reason: nothing can be copied for it.
func (r *Run) markNotInBundle() {
	if r.cfg.Bundle == nil {
		return
	}
	for i := range r.Plan.Images {
		it := &r.Plan.Images[i]
		if it.State == plan.Skipped {
			continue
		}
		if _, ok := r.cfg.Bundle.Lookup(it.Source); ok {
			continue
		}
		detail := ""
		if in, ok := r.cfg.Bundle.Inside(it.Source); ok {
			if !it.State.NeedsWork(r.cfg.Overwrite) {
				// The inside holds it, as the lock said: nothing to carry.
				continue
			}
			detail = fmt.Sprintf("the lock the bundle was exported against says %s holds %s; it is not there now: export it again without the lock", in.Destination, in.Digest)
		}
		it.State, it.Reason, it.Error, it.Digest = plan.Missing, NotInBundle, detail, ""
	}
	r.Plan.Recount()
}

// NotInBundle counts the needed images the imported bundle lacks.
func (r *Run) NotInBundle() int {
	n := 0
	for _, it := range r.Plan.Images {
		if notInBundle(it) {
			n++
		}
	}
	return n
}

func notInBundle(it plan.Item) bool { return it.State == plan.Missing && it.Reason == NotInBundle }

// MissingExternalError stops an import, before anything is pushed, when
// a blob an incremental bundle leaves out is not where the inside's lock
// said it is.
type MissingExternalError struct {
	Bundle string
	// Missing are the blobs absent; the first is named.
	Missing []bundle.External
}

func (e *MissingExternalError) Error() string {
	m := e.Missing[0]
	more := ""
	if n := len(e.Missing) - 1; n > 0 {
		more = fmt.Sprintf(" (and %d more)", n)
	}
	return fmt.Sprintf("bundle %q: blob %s of %s is not carried, and %s does not hold it%s: nothing was pushed; export the bundle again against the inside's current lock, or without one",
		e.Bundle, m.Digest, m.Image, m.Repository, more)
}

// CheckExternal checks that every blob an incremental bundle leaves out
// is in the destination repository named for it, when the plan copies
// anything: Apply does before anything is pushed, diff to say so early.
func (r *Run) CheckExternal(ctx context.Context) error {
	b := r.cfg.Bundle
	if b == nil || len(b.External()) == 0 || r.Copies() == 0 {
		return nil
	}
	ext, homes := b.External(), b.ExternalHomes()
	absent := make([]bool, len(ext))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(r.cfg.Concurrency, 1))
	for i, e := range ext {
		g.Go(func() error {
			d, _ := v1.NewHash(e.Digest) // checked when the bundle was opened
			ok, err := r.copier.HasBlob(gctx, homes[d], d)
			absent[i] = !ok
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	missing := &MissingExternalError{Bundle: b.Dir()}
	for i, e := range ext {
		if absent[i] {
			missing.Missing = append(missing.Missing, e)
		}
	}
	if len(missing.Missing) > 0 {
		return missing
	}
	return nil
}

// BundleNeeds is the needed set of the bundle s, for the bundle origin.
func BundleNeeds(s *airgap.Source) *inventory.BundleNeeds {
	out := &inventory.BundleNeeds{Dir: s.Dir()}
	if r := s.Releases(); r != nil {
		out.Releases = r.Response
	}
	for _, n := range s.Needed() {
		out.Items = append(out.Items, inventory.Item{Image: n.Image, Why: n.Why})
	}
	return out
}
