package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// Gate checks a source's signature before it is copied or mapped.
type Gate interface {
	// Verify checks source at digest. A refusal is an error the caller
	// shows as the reason; the signer is returned on success.
	Verify(ctx context.Context, source, digest string) (*imagemap.Signer, error)
}

// Copier copies images; mirror.Copier is one.
type Copier interface {
	Copy(ctx context.Context, pairs []mirror.Pair) (*mirror.Report, error)
}

// Apply carries out a plan: verify, copy, then write the map and its lock.
type Apply struct {
	Gate   Gate // nil when verification is off
	Copier Copier
	// Map and Lock are the image map and its lock file; nil Map means the
	// SDR uses the prefix rewrite and nothing is written.
	Map, Lock store.Object
	// Overwrite copies over drift; Prune removes stale entries.
	Overwrite, Prune bool
	// PruneMax is the most entries a prune removes unless ConfirmPrune is
	// set (0: DefaultPrunePercent of the map's entries; negative: none).
	// A prune beyond it,
	// or with no needed image at all, is refused before anything is done.
	PruneMax     int
	ConfirmPrune bool
	// BeforePrune, when set, is told the entries to be removed before the
	// map is written.
	BeforePrune func(remove []StaleEntry)
	// DryRun verifies but copies and writes nothing.
	DryRun bool
	// Bundle, when set, is the air-gap bundle the images are imported
	// from; the lock file records it with each entry.
	Bundle *imagemap.LockBundle
	// Repositories, when set, creates the destination repositories of the
	// images to copy before the copy, for registries that refuse a push
	// into one that does not exist (ECR).
	Repositories RepositoryCreator
	// Release decides the map's release: block from the current one; nil
	// leaves it as it is.
	Release func(current *imagemap.Release) *imagemap.Release
	// Concurrency bounds signature checks at once (default 8).
	Concurrency int
	Now         func() time.Time
}

// Outcome is what Apply did.
type Outcome struct {
	Verified int `json:"verified"`
	Copied   int `json:"copied"`
	// Added and Removed are the map keys added and pruned.
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	// MapDiff is the change to the map as a unified diff ("" when none).
	MapDiff    string `json:"mapDiff,omitempty"`
	MapWritten bool   `json:"mapWritten"`
	DryRun     bool   `json:"dryRun,omitempty"`
	// CreatedRepositories are the destination repositories created
	// (HOST/PATH).
	CreatedRepositories []string `json:"createdRepositories,omitempty"`
}

// RepositoryCreator creates destination repositories.
type RepositoryCreator interface {
	// Create makes sure each repository (HOST/PATH) of its registry
	// exists, leaving the others alone, and returns the ones it created
	// and, by repository, the ones it could not check or create.
	Create(ctx context.Context, repos []string) (created []string, failed map[string]error)
}

// Run applies p, updating its items' states, and returns what it did. An
// image to map that has no destination (no target known) stops it before
// anything is done. The
// map gains an entry only for an image that is in the destination with the
// source's digest; an image that fails verification is neither copied nor
// mapped. The error is for the map or lock write; per-image failures are
// in the items' states.
func (a Apply) Run(ctx context.Context, p *Plan) (*Outcome, error) {
	out := &Outcome{Added: []string{}, Removed: []string{}, DryRun: a.DryRun}
	defer p.Recount()
	var remove []StaleEntry
	if a.Prune {
		limit := max(a.PruneMax, 0)
		if a.PruneMax == 0 {
			entries := 0
			if p.Map != nil {
				entries = p.Map.Entries
			}
			limit = PruneMax(entries, DefaultPrunePercent)
		}
		var err error
		if remove, err = p.Prunable(limit, a.ConfirmPrune); err != nil {
			return out, err
		}
	}
	var work []*Item
	for i := range p.Images {
		it := &p.Images[i]
		if it.State.NeedsWork(a.Overwrite) {
			if it.Destination() == "" {
				return out, fmt.Errorf("%q has no map entry and no registry prefix is known to mirror it to: pass %s", it.Source, setting.Target)
			}
			work = append(work, it)
		}
	}
	if a.Gate != nil {
		out.Verified = a.verify(ctx, work)
		work = slices.DeleteFunc(work, func(it *Item) bool { return it.State == Unverified })
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	if !a.DryRun && a.Repositories != nil {
		out.CreatedRepositories = a.createRepositories(ctx, work)
	}
	if !a.DryRun {
		out.Copied = a.copy(ctx, work)
	}
	if a.Map == nil {
		return out, nil
	}
	if len(remove) > 0 && a.BeforePrune != nil {
		a.BeforePrune(remove)
	}
	// The lock is written before the map: it records what is in the
	// destination, which is true whether or not the map write then
	// succeeds, and the next run maps what a failed map write left out
	// (docs/image-map.md, "The lock file"). The other order could leave
	// map entries the lock never learns of.
	if !a.DryRun && a.Lock != nil {
		if err := a.writeLock(ctx, p); err != nil {
			return out, err
		}
	}
	return out, a.writeMap(ctx, p, remove, out)
}

func (a Apply) verify(ctx context.Context, work []*Item) int {
	n := a.Concurrency
	if n < 1 {
		n = 8
	}
	sem := make(chan struct{}, n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		verified int
	)
	for _, it := range work {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			signer, err := a.Gate.Verify(ctx, it.Source, it.Digest)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				it.State, it.Error = Unverified, err.Error()
				return
			}
			it.Signer = signer
			verified++
		}()
	}
	wg.Wait()
	return verified
}

func (a Apply) copy(ctx context.Context, work []*Item) int {
	var (
		pairs []mirror.Pair
		items []*Item
	)
	for _, it := range work {
		if it.NeedsCopy(a.Overwrite) {
			pairs = append(pairs, mirror.Pair{Source: it.Source, Destination: it.Destination()})
			items = append(items, it)
		}
	}
	if len(pairs) == 0 {
		return 0
	}
	rep, _ := a.Copier.Copy(ctx, pairs)
	copied := 0
	for i, r := range rep.Images {
		it := items[i]
		switch {
		case r.Err != nil:
			it.State, it.Error = Error, r.Err.Error()
		case r.Digest != it.Digest:
			it.State, it.Error = Error, fmt.Sprintf("copied %q with digest %s, not the source's %s", it.Destination(), r.Digest, it.Digest)
		default:
			it.TargetDigest = r.Digest
			if r.Status == mirror.StatusCopied {
				copied++
				it.Done = "copied"
			}
			if it.State != Unmapped {
				it.State = OK
			}
		}
	}
	return copied
}

// createRepositories creates the destination repositories of the images
// to copy. An image whose repository could not be created is an error
// with the cause, and is not copied; one whose repository now exists
// loses the pre-flight's warning that it did not.
func (a Apply) createRepositories(ctx context.Context, work []*Item) []string {
	byRepo := map[string][]*Item{}
	var repos []string
	for _, it := range work {
		if !it.NeedsCopy(a.Overwrite) {
			continue
		}
		ref, err := imagemap.ParseReference(it.Destination())
		if err != nil {
			continue
		}
		repo := ref.Repository
		if _, ok := byRepo[repo]; !ok {
			repos = append(repos, repo)
		}
		byRepo[repo] = append(byRepo[repo], it)
	}
	if len(repos) == 0 {
		return nil
	}
	created, failed := a.Repositories.Create(ctx, repos)
	for _, repo := range repos {
		for _, it := range byRepo[repo] {
			if err, ok := failed[repo]; ok {
				it.State, it.Error = Error, err.Error()
				continue
			}
			if slices.Contains(created, repo) {
				it.Warning = ""
			}
		}
	}
	return created
}

// mappable reports whether an unmapped item may now be added to the map:
// verified (or verification off) and present with the source's digest.
func mappable(it *Item, dryRun bool) bool {
	if it.State != Unmapped || it.Entry == nil || it.Digest == "" {
		return false
	}
	return it.TargetDigest == it.Digest || (dryRun && it.Error == "")
}

// writeMap adds the mappable items and removes the entries in remove, and
// no other: a racing writer's new entries are never pruned.
func (a Apply) writeMap(ctx context.Context, p *Plan, remove []StaleEntry, out *Outcome) error {
	var add []*Item
	for i := range p.Images {
		if mappable(&p.Images[i], a.DryRun) {
			add = append(add, &p.Images[i])
		}
	}
	stale := map[string]bool{}
	for _, s := range remove {
		stale[s.Source] = true
	}
	res, err := store.Update(ctx, a.Map, func(m *imagemap.ImageMap) error {
		out.Added, out.Removed = out.Added[:0], out.Removed[:0]
		for _, it := range add {
			ch, err := m.Set(it.Entry.Source, it.Entry.Destination)
			if err != nil {
				return fmt.Errorf("adding %q: %w", it.Entry.Source, err)
			}
			if ch == imagemap.Added || ch == imagemap.Updated {
				out.Added = append(out.Added, it.Entry.Source)
			}
		}
		for _, e := range m.Entries() {
			if stale[e.Source] {
				if err := m.Remove(e.Source); err != nil && !errors.Is(err, imagemap.ErrNotFound) {
					return err
				}
				out.Removed = append(out.Removed, e.Source)
			}
		}
		if a.Release != nil {
			m.SetRelease(a.Release(m.Release()))
		}
		return nil
	}, store.DryRun(a.DryRun))
	if err != nil {
		return fmt.Errorf("writing the image map: %w", err)
	}
	out.MapWritten = res.Written
	if res.Changed {
		out.MapDiff = res.Diff(a.Map.URL())
	}
	if a.DryRun {
		return nil
	}
	for _, it := range add {
		it.State, it.Rule = OK, imagemap.RuleRepo
		it.Resolved, it.Proposed = it.Destination(), ""
		it.Done = strings.TrimPrefix(it.Done+", mapped", ", ")
	}
	p.Stale = slices.DeleteFunc(p.Stale, func(s StaleEntry) bool { return stale[s.Source] })
	return nil
}

func (a Apply) writeLock(ctx context.Context, p *Plan) error {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	t := now().UTC().Truncate(time.Second)
	// What this run copied over a map entry, and what the map is about to
	// gain.
	var done []*Item
	for i := range p.Images {
		it := &p.Images[i]
		if (it.Done != "" && it.State == OK) || mappable(it, false) {
			done = append(done, it)
		}
	}
	if len(done) == 0 {
		return nil
	}
	_, err := store.UpdateLock(ctx, a.Lock, func(l *imagemap.Lock) error {
		for _, it := range done {
			l.Put(imagemap.LockEntry{Source: it.Source, Destination: it.Destination(), Digest: it.Digest, Signer: it.Signer, Time: t, Why: it.Why, Bundle: a.Bundle})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing the lock file: %w", err)
	}
	return nil
}
