package plan

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// Registry looks at sources and destinations without copying: for each
// pair, the source digest and what the destination holds. The copy engine
// (mirror.Copier) is one.
type Registry interface {
	Check(ctx context.Context, pairs []mirror.Pair) []mirror.Inspection
}

// Item is one needed source image in the plan, or one found and skipped.
type Item struct {
	Source string `json:"source"`
	// Resolved is what the SDR pulls today, as resolve shows it: for an
	// unmapped image, the source itself; empty for a skipped one.
	Resolved string        `json:"resolved,omitempty"`
	Rule     imagemap.Rule `json:"rule,omitempty"`
	State    State         `json:"state"`
	// Proposed is where sync copies an unmapped image and what the map
	// will resolve it to once its entry is added; empty when no target is
	// known yet (Reason says so).
	Proposed     string   `json:"proposed,omitempty"`
	Digest       string   `json:"digest,omitempty"`
	TargetDigest string   `json:"targetDigest,omitempty"`
	Why          []string `json:"why"`
	// Entry is the map entry sync adds for an unmapped image.
	Entry *imagemap.Entry `json:"entry,omitempty"`
	// Reason says why a skipped image is left out, or why an unmapped
	// image has no destination yet.
	Reason  string `json:"reason,omitempty"`
	Error   string `json:"error,omitempty"`
	Warning string `json:"warning,omitempty"`
	// Signer is who signed the source, when sync verified it.
	Signer *imagemap.Signer `json:"signer,omitempty"`
	// Done says what sync did: "copied", "mapped" or "copied, mapped".
	Done string `json:"done,omitempty"`
}

// NeedsCopy reports whether sync copies this image: its state needs work
// (drift only with overwrite) and the destination does not already hold
// the source's digest.
func (it Item) NeedsCopy(overwrite bool) bool {
	return it.State.NeedsWork(overwrite) && (it.TargetDigest != it.Digest || it.Digest == "")
}

// Destination is where the image is, or is to be, mirrored: the proposed
// destination of an unmapped image, else the resolved one. It is empty
// for an unmapped image with no target known, and for a skipped one.
func (it Item) Destination() string {
	switch {
	case it.Proposed != "":
		return it.Proposed
	case it.State == Skipped || it.Rule == imagemap.RuleNone:
		return ""
	}
	return it.Resolved
}

// Mirrored reports whether the destination was checked and holds the
// source's digest: for an unmapped image, only the map entry is missing.
func (it Item) Mirrored() bool {
	return it.Digest != "" && it.TargetDigest == it.Digest
}

// MapInfo names the map the plan was made against.
type MapInfo struct {
	URL     string `json:"url"`
	Entries int    `json:"entries"`
}

// StaleEntry is a map entry no needed image uses.
type StaleEntry struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
}

// Plan is the diff.
type Plan struct {
	Map    *MapInfo `json:"map"`
	Target string   `json:"target"`
	// TargetFrom says where a target that was not given came from: the
	// image map's naming (see InferTarget).
	TargetFrom string        `json:"targetFrom,omitempty"`
	Images     []Item        `json:"images"`
	Stale      []StaleEntry  `json:"stale"`
	Summary    map[State]int `json:"summary"`
}

// InSync reports whether every needed image is ok (or, offline, mapped).
func (p *Plan) InSync() bool {
	for _, it := range p.Images {
		if it.State.Rule().Exit != InSync {
			return false
		}
	}
	return true
}

// Needed is the number of needed images: every image but the skipped.
func (p *Plan) Needed() int {
	n := 0
	for _, it := range p.Images {
		if it.State != Skipped {
			n++
		}
	}
	return n
}

// Count is the number of needed images whose state has the given effect
// on the exit code.
func (p *Plan) Count(e Exit) int {
	n := 0
	for _, it := range p.Images {
		if it.State.Rule().Exit == e {
			n++
		}
	}
	return n
}

// Unfixable counts the images a sync leaves not ok: not in sync, and in a
// state sync does no work for (given overwrite). A dry run exits by it, as
// the real run would.
func (p *Plan) Unfixable(overwrite bool) int {
	n := 0
	for _, it := range p.Images {
		if it.State.Rule().Exit != InSync && !it.State.NeedsWork(overwrite) {
			n++
		}
	}
	return n
}

type options struct {
	target   string
	keepPath bool
	registry Registry
	mapURL   string
	seen     []string
	skipped  []Skip
}

// Skip is an image the inventory found and left out, and why.
type Skip struct {
	Image  string
	Why    []string
	Reason string
}

// Option configures Build.
type Option func(*options)

// WithTarget sets the registry prefix new entries point into (--target),
// and the prefix rewrite when there is no map.
func WithTarget(prefix string) Option {
	return func(o *options) { o.target = strings.TrimRight(prefix, "/") }
}

// WithKeepPath names new destinations after the whole source path instead
// of its last element (--keep-path).
func WithKeepPath(keep bool) Option { return func(o *options) { o.keepPath = keep } }

// WithRegistry checks digests in the registries; without it the plan is
// offline and mapped images are unchecked.
func WithRegistry(r Registry) Option { return func(o *options) { o.registry = r } }

// WithSeen names images the inventory found but does not mirror (outside
// the allowed sources, skipped releases): the map entries they resolve
// through are in use, never stale.
func WithSeen(images ...string) Option {
	return func(o *options) { o.seen = append(o.seen, images...) }
}

// WithSkipped adds images found but left out as skipped rows, with their
// reasons. Like WithSeen, the map entries they resolve through are in use,
// never stale; they count as no needed image.
func WithSkipped(skips ...Skip) Option {
	return func(o *options) { o.skipped = append(o.skipped, skips...) }
}

// WithMapURL names the map in the plan.
func WithMapURL(u string) Option { return func(o *options) { o.mapURL = u } }

// Build makes the plan. m is the image map, or nil when the SDR has none
// configured (then the prefix rewrite applies and nothing is unmapped).
// Without a target, the map's own naming is the default (InferTarget);
// failing that, unmapped images have no destination yet, and say why.
func Build(ctx context.Context, needs []inventory.Item, m *imagemap.ImageMap, opts ...Option) (*Plan, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if m == nil && o.target == "" {
		return nil, fmt.Errorf("no image map and no registry prefix: pass %s (and %s), or %s", setting.ImageMapPath, setting.Bucket, setting.Target)
	}
	if o.target != "" {
		if err := CheckTarget(o.target); err != nil {
			return nil, err
		}
	}
	p := &Plan{Target: o.target, Stale: []StaleEntry{}, Summary: map[State]int{}}
	noTarget := ""
	if m != nil {
		p.Map = &MapInfo{URL: o.mapURL, Entries: m.Len()}
		if o.target == "" {
			if inf, ok := InferTarget(m); ok {
				o.target, p.Target, p.TargetFrom = inf.Prefix, inf.Prefix, inf.From()
			} else {
				noTarget = inf.Reason()
			}
		}
	}
	resolver := imagemap.Resolver{Map: m, Prefix: o.target}
	items, err := merge(needs)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for i := range items {
		it := &items[i]
		res, err := resolver.Resolve(it.Source)
		if err != nil {
			return nil, err
		}
		it.Resolved, it.Rule = res.Resolved, res.Rule
		if res.Key != "" {
			used[res.Key] = true
		}
		if m != nil && res.Rule == imagemap.RuleNone {
			it.State = Unmapped
			if k := m.NormalizedKey(it.Source); k != "" {
				it.Warning = fmt.Sprintf("key %q names the same image after normalisation, but the SDR matches keys literally", k)
			}
			if o.target == "" {
				it.Reason = fmt.Sprintf("no destination can be named yet: %s; pass %s", noTarget, setting.Target)
				continue
			}
			ref, _ := imagemap.ParseReference(it.Source)
			entry := newEntry(m, ref, o)
			it.Entry = &entry
			it.Proposed = entry.Destination + ref.Suffix()
		}
	}
	if o.registry != nil {
		check(ctx, items, o.registry)
	} else {
		for i := range items {
			if items[i].State == "" {
				items[i].State = Unchecked
			}
		}
	}
	for _, img := range o.seen {
		if res, err := resolver.Resolve(img); err == nil && res.Key != "" {
			used[res.Key] = true
		}
	}
	for _, sk := range o.skipped {
		if res, err := resolver.Resolve(sk.Image); err == nil && res.Key != "" {
			used[res.Key] = true
		}
		why := slices.Clone(sk.Why)
		if why == nil {
			why = []string{}
		}
		items = append(items, Item{Source: sk.Image, State: Skipped, Reason: sk.Reason, Why: why})
	}
	if m != nil {
		for _, e := range m.Entries() {
			if !used[e.Source] {
				p.Stale = append(p.Stale, StaleEntry{Source: e.Source, Destination: e.Destination})
			}
		}
	}
	p.Images = items
	p.Recount()
	return p, ctx.Err()
}

// Recount refreshes the summary from the items' states.
func (p *Plan) Recount() {
	p.Summary = map[State]int{}
	for _, s := range States {
		p.Summary[s] = 0
	}
	for _, it := range p.Images {
		p.Summary[it.State]++
	}
}

// merge folds needs into one item per source, reasons merged and sorted.
func merge(needs []inventory.Item) ([]Item, error) {
	bySource := map[string]*Item{}
	var order []string
	for _, n := range needs {
		src := n.Image
		if n.MappedFrom != "" {
			src = n.MappedFrom
		}
		if _, err := imagemap.ParseReference(src); err != nil {
			return nil, fmt.Errorf("needed image: %w", err)
		}
		it, ok := bySource[src]
		if !ok {
			it = &Item{Source: src}
			bySource[src] = it
			order = append(order, src)
		}
		for _, w := range n.Why {
			if !slices.Contains(it.Why, w) {
				it.Why = append(it.Why, w)
			}
		}
	}
	slices.Sort(order)
	out := make([]Item, len(order))
	for i, s := range order {
		out[i] = *bySource[s]
		if out[i].Why == nil {
			out[i].Why = []string{}
		}
		slices.Sort(out[i].Why)
	}
	return out, nil
}

// newEntry names the destination of an unmapped source: a repository the
// map already sends other tags of this source to, else
// <target>/<image name> (or the whole source path with --keep-path).
// It is always a bare repository entry.
func newEntry(m *imagemap.ImageMap, src imagemap.Reference, o options) imagemap.Entry {
	dest := ""
	for _, e := range m.EntriesFor(src.Repository) {
		d, err := imagemap.ParseReference(e.Destination)
		if err != nil {
			continue
		}
		if dest == "" {
			dest = d.Repository
		} else if dest != d.Repository {
			dest = "" // existing entries disagree: fall back to the naming rule
			break
		}
	}
	if dest == "" {
		name := src.LastElement()
		if o.keepPath {
			name = pathOf(src.Repository)
		}
		dest = o.target + "/" + name
	}
	return imagemap.Entry{Source: src.Repository, Destination: dest}
}

// pathOf drops the registry host from a repository.
func pathOf(repo string) string {
	first, rest, ok := strings.Cut(repo, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return rest
	}
	return repo
}

// check asks the registries for the source and destination digests of
// every item that has a destination, in one batch, and sets the states.
func check(ctx context.Context, items []Item, r Registry) {
	var (
		pairs   []mirror.Pair
		checked []*Item
	)
	for i := range items {
		if d := items[i].Destination(); d != "" {
			pairs = append(pairs, mirror.Pair{Source: items[i].Source, Destination: d})
			checked = append(checked, &items[i])
		}
	}
	if len(pairs) == 0 {
		return
	}
	for i, in := range r.Check(ctx, pairs) {
		setState(checked[i], in)
	}
}

func setState(it *Item, in mirror.Inspection) {
	if in.Err != nil {
		it.State, it.Error = Error, in.Err.Error()
		return
	}
	it.Digest, it.TargetDigest = in.Digest, in.DestinationDigest
	if in.Warning != "" {
		it.Warning = strings.TrimPrefix(it.Warning+"; "+in.Warning, "; ")
	}
	switch {
	case in.DestinationDigest == "":
		if it.State != Unmapped {
			it.State = Missing
		}
	case in.DestinationDigest != in.Digest:
		it.State = Drift
	case it.State != Unmapped:
		it.State = OK
	}
}
