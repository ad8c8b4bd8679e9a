package syncer

import (
	"context"
	"strings"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// reach probes, before any image is looked at, every registry the plan
// will talk to: where the sources are read (their mirrors where
// configured) and where they resolve, or the target for images the map
// does not name yet. Each host is asked once, all at once, with a short
// time limit; an unreachable host fails the run with one line naming it
// instead of one retried error per image. Offline plans talk to no
// registry.
func (r *Run) reach(ctx context.Context, items []inventory.Item) error {
	if r.cfg.Offline || len(items) == 0 {
		return nil
	}
	target := strings.TrimRight(r.cfg.Target, "/")
	resolver := imagemap.Resolver{Map: r.cfg.ImageMap, Prefix: target}
	var sources, destinations []string
	for _, it := range items {
		src := it.Image
		if it.MappedFrom != "" {
			src = it.MappedFrom
		}
		sources = append(sources, src)
		res, err := resolver.Resolve(src)
		switch {
		case err != nil:
			// The plan reports it.
		case res.Rule == imagemap.RuleNone && target != "":
			// A new entry: under the target, on its host.
			if ref, err := imagemap.ParseReference(src); err == nil {
				destinations = append(destinations, imagemap.PrefixRewrite(target, ref))
			}
		case res.Rule != imagemap.RuleNone:
			destinations = append(destinations, res.Resolved)
		}
	}
	return r.copier.Probe(ctx, sources, destinations)
}

// probeMap checks that the bucket holding the map answers before the map
// is read: a bounded request that is not retried, failing with one line
// naming the endpoint and what to check.
func probeMap(ctx context.Context, obj store.Object) error {
	return store.Probe(ctx, obj, store.DefaultProbeTimeout)
}
