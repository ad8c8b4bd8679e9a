package syncer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/airgap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// Config is what a run reads and where it writes.
type Config struct {
	// Origins are the needed-image sources to read, in order, and Input
	// what they read.
	Origins []inventory.Origin
	Input   inventory.Input
	// AllowedSources are the registry/path prefixes images may be
	// mirrored from; other images are left out of the plan.
	AllowedSources []string

	// Map is the image map the SDR reads, and ImageMap its content (see
	// LoadMap); both nil when the SDR rewrites images to Target instead.
	Map      store.Object
	ImageMap *imagemap.ImageMap
	// MapKey is the map's object key or file name; the lock file is named
	// after it.
	MapKey string
	// Target is the registry prefix new entries point into.
	Target string
	// KeepPath names new destinations after the whole source path.
	KeepPath bool
	// Installation is the SDR found in its cluster; nil without one.
	Installation *sdr.Installation

	// Registry configures the copy engine that checks and copies;
	// Concurrency bounds images (and blobs) handled at once.
	Registry    []mirror.Option
	Concurrency int
	// Overwrite copies over drift.
	Overwrite bool
	// Offline plans without consulting the registries.
	Offline bool
	// Bundle, when set, is read in place of the source registries:
	// Registry must hold its Registry option. Needed images it does not
	// hold are missing, "not in the bundle", and never worked on.
	Bundle *airgap.Source

	// Log receives debug logs; nil discards them.
	Log *slog.Logger
	// OnSkipped is told of each announced entry an origin left out, when
	// found (see inventory.Skipped).
	OnSkipped func(inventory.Skipped)
}

func (c *Config) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c.Log
}

// LoadMap reads the image map in obj; a map that does not exist yet is
// empty. A nil obj (the SDR uses the prefix rewrite) gives a nil map.
func LoadMap(ctx context.Context, obj store.Object, log *slog.Logger) (*imagemap.ImageMap, error) {
	if obj == nil {
		return nil, nil
	}
	if err := probeMap(ctx, obj); err != nil {
		return nil, err
	}
	m, err := store.LoadMap(ctx, obj)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if log != nil {
			log.Debug("the image map does not exist yet", "url", obj.URL())
		}
		return imagemap.New(), nil
	case err != nil:
		return nil, err
	}
	return m, nil
}

// Run is a planned run; Apply carries it out.
type Run struct {
	// Plan is the diff: every needed image and its state.
	Plan *plan.Plan
	// Skipped are the entries origins left out.
	Skipped []inventory.Skipped
	// Ignored are needed images outside the allowed sources (or not
	// valid references), left out of the plan as skipped rows.
	Ignored []string

	cfg    Config
	copier *mirror.Copier
	skips  []plan.Skip
}

// Plan gathers the needed images from every origin, keeps those that may
// be mirrored and plans them against the map and, unless offline, the
// registries.
func Plan(ctx context.Context, cfg Config) (*Run, error) {
	r := &Run{cfg: cfg}
	inv, err := r.gather(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.ImageMap != nil {
		inv.ReverseLookup(cfg.ImageMap)
	}
	if err := r.newCopier(); err != nil {
		return nil, err
	}
	items := r.filter(inv.Items())
	if err := r.reach(ctx, items); err != nil {
		return nil, err
	}
	if r.Plan, err = r.build(ctx, items); err != nil {
		return nil, err
	}
	r.markNotInBundle()
	return r, nil
}

// gather reads every origin into one inventory, keeping what each left
// out (and announcing it).
func (r *Run) gather(ctx context.Context) (*inventory.Inventory, error) {
	inv := inventory.New()
	for _, o := range r.cfg.Origins {
		found, err := o.Needs(ctx, r.cfg.Input)
		if err != nil {
			return nil, err
		}
		for _, s := range found.Skipped {
			if r.cfg.OnSkipped != nil && s.Announced {
				r.cfg.OnSkipped(s)
			}
		}
		r.Skipped = append(r.Skipped, found.Skipped...)
		for _, it := range found.Items {
			for _, why := range it.Why {
				inv.Add(it.Image, why)
			}
		}
	}
	return inv, nil
}

func (r *Run) newCopier() error {
	opts := append(slices.Clone(r.cfg.Registry), mirror.WithConcurrency(r.cfg.Concurrency), mirror.WithOverwrite(r.cfg.Overwrite))
	var err error
	r.copier, err = mirror.New(opts...)
	return err
}

// filter keeps the images that may be mirrored: those from an allowed
// source, or already a map destination. Others (third-party images in the
// Helm releases, references that do not parse) are left out, and become
// skipped rows with the reason.
func (r *Run) filter(items []inventory.Item) []inventory.Item {
	var out []inventory.Item
	for _, it := range items {
		src := it.Image
		if it.MappedFrom != "" {
			src = it.MappedFrom
		}
		ref, err := imagemap.ParseReference(src)
		var reason, short string
		switch {
		case err != nil:
			reason, short = err.Error(), "not a valid reference"
		case !inventory.Allowed(ref, r.cfg.AllowedSources):
			short = "outside " + setting.AllowedSource.String()
			reason = fmt.Sprintf("%s (%s)", short, strings.Join(r.cfg.AllowedSources, ", "))
		default:
			out = append(out, it)
			continue
		}
		r.Ignored = append(r.Ignored, it.Image)
		r.skips = append(r.skips, plan.Skip{Image: it.Image, Why: it.Why, Reason: reason})
		r.cfg.log().Debug("not an image to mirror ("+short+")", "image", it.Image)
	}
	return out
}

func (r *Run) build(ctx context.Context, items []inventory.Item) (*plan.Plan, error) {
	opts := []plan.Option{plan.WithTarget(r.cfg.Target), plan.WithKeepPath(r.cfg.KeepPath)}
	if r.cfg.Map != nil {
		opts = append(opts, plan.WithMapURL(r.cfg.Map.URL()))
	}
	if !r.cfg.Offline {
		opts = append(opts, plan.WithRegistry(r.copier))
	}
	// Images seen but not mirrored are skipped rows, and keep their map
	// entries in use.
	opts = append(opts, plan.WithSkipped(r.skips...))
	for _, s := range r.Skipped {
		var why []string
		if s.Why != "" {
			why = []string{s.Why}
		}
		reason := s.Reason
		if s.Image == "" && s.App != "" {
			reason = fmt.Sprintf("%s: %s", s.App, reason)
		}
		opts = append(opts, plan.WithSkipped(plan.Skip{Image: s.Image, Why: why, Reason: reason}))
	}
	return plan.Build(ctx, items, r.cfg.ImageMap, opts...)
}

// MapPreview is the change a sync would make to the map, as a unified
// diff, writing nothing; "" when none, or when the SDR has no map.
func (r *Run) MapPreview(ctx context.Context) (string, error) {
	if r.cfg.Map == nil {
		return "", nil
	}
	return plan.MapPreview(ctx, r.cfg.Map, r.Plan, r.blockDecider(sdr.BlockAuto))
}

// Release describes the SDR release and the map's release: block as mode
// decides it; nil without a cluster.
func (r *Run) Release(mode sdr.BlockMode) *sdr.ReleaseInfo {
	inst := r.cfg.Installation
	if inst == nil {
		return nil
	}
	var current *imagemap.Release
	if r.cfg.ImageMap != nil {
		current = r.cfg.ImageMap.Release()
	}
	info := inst.Release(mode, current)
	return &info
}
