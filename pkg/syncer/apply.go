package syncer

import (
	"context"
	"slices"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
)

// Apply is how a planned run is carried out.
type Apply struct {
	// Gate checks signatures (see Run.Gate); nil when verification is off.
	Gate plan.Gate
	// DryRun verifies but copies and writes nothing.
	DryRun bool
	// Prune removes stale entries: at most PruneMax of them (see
	// plan.Apply) unless ConfirmPrune; BeforePrune is told which, before
	// the map is written.
	Prune        bool
	PruneMax     int
	ConfirmPrune bool
	BeforePrune  func(remove []plan.StaleEntry)
	// Block decides the map's release: block.
	Block sdr.BlockMode
	// Progress is told of every copy event.
	Progress func(mirror.Event)
	// Repositories, when set, creates the destination repositories of
	// the images to copy first (see plan.Apply).
	Repositories plan.RepositoryCreator
}

// Gate builds the signature gate when the plan has an image to verify; a
// run with nothing to do reads no trusted root and fetches nothing
// through TUF. It is nil when enabled is false.
func (r *Run) Gate(ctx context.Context, enabled bool, opts ...verify.Option) (plan.Gate, error) {
	if !enabled || !needsVerify(r.Plan, r.cfg.Overwrite) {
		return nil, nil
	}
	g, err := verify.NewGate(ctx, r.copier, opts...)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// needsVerify says whether Apply would verify any image of p: those it
// copies or maps.
func needsVerify(p *plan.Plan, overwrite bool) bool {
	for _, it := range p.Images {
		// Images a bundle lacks are missing, but never verified.
		if it.State.NeedsWork(overwrite) && !notInBundle(it) {
			return true
		}
	}
	return false
}

// Copies is the number of images Apply copies, for a progress total.
func (r *Run) Copies() int {
	n := 0
	for _, it := range r.Plan.Images {
		if it.NeedsCopy(r.cfg.Overwrite) && !notInBundle(it) {
			n++
		}
	}
	return n
}

// Apply verifies, copies and writes the map and its lock, updating the
// plan's states, and returns what it did. The copier that checked the
// plan copies too, so its registry sessions (ping, token) are reused.
func (r *Run) Apply(ctx context.Context, a Apply) (*plan.Outcome, error) {
	if err := r.CheckExternal(ctx); err != nil {
		return nil, err
	}
	if a.Progress != nil {
		r.copier.SetProgress(a.Progress)
	}
	pa := plan.Apply{Gate: a.Gate, Copier: r.copier, Map: r.cfg.Map, Overwrite: r.cfg.Overwrite, Prune: a.Prune,
		DryRun: a.DryRun, Concurrency: r.cfg.Concurrency, ConfirmPrune: a.ConfirmPrune, PruneMax: a.PruneMax,
		BeforePrune: a.BeforePrune, Repositories: a.Repositories}
	if b := r.cfg.Bundle; b != nil {
		pa.Bundle = &imagemap.LockBundle{ID: b.Manifest().ID, Digest: b.Digest()}
	}
	if r.cfg.Map != nil {
		pa.Lock = r.cfg.Map.Sibling(imagemap.LockKey(r.cfg.MapKey))
		pa.Release = r.blockDecider(a.Block)
	}
	if r.NotInBundle() == 0 {
		return pa.Run(ctx, r.Plan)
	}
	// Images the bundle lacks stay missing: they are neither verified,
	// copied nor mapped; the rest is applied as usual.
	sub := *r.Plan
	sub.Images = slices.DeleteFunc(slices.Clone(r.Plan.Images), notInBundle)
	out, err := pa.Run(ctx, &sub)
	j := 0
	for i := range r.Plan.Images {
		if notInBundle(r.Plan.Images[i]) {
			continue
		}
		r.Plan.Images[i] = sub.Images[j]
		j++
	}
	r.Plan.Recount()
	return out, err
}

// blockDecider keeps the map's release: block as the SDR release needs it.
// Without a cluster the block is kept as it is, unless mode is remove.
func (r *Run) blockDecider(mode sdr.BlockMode) func(*imagemap.Release) *imagemap.Release {
	inst := r.cfg.Installation
	return func(current *imagemap.Release) *imagemap.Release {
		if inst == nil {
			if mode == sdr.BlockRemove {
				return nil
			}
			return current
		}
		return inst.Release(mode, current).Block
	}
}
