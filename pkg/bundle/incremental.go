package bundle

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Locked is an image the inside's lock names as mirrored: its source, the
// digest mirrored and where it went (docs/bundle.md, "Incremental
// bundles").
type Locked struct {
	Source      string
	Digest      string
	Destination string
}

// lockedBlob is a config or layer blob of a locked image.
type lockedBlob struct {
	repo string // destination repository inside
	from string // the locked image's source
}

// readLocked reads, from the source registries, the manifests of every
// locked image and returns the config and layer blobs they hold: the
// blobs the inside has already. A locked image that cannot be read is a
// warning; its blobs are then carried when a new image needs them.
func (w *writer) readLocked(ctx context.Context, locked []Locked, st *Stats) (map[string]lockedBlob, error) {
	seen := map[string]bool{}
	var todo []Locked
	for _, l := range locked {
		if k := l.Source + "@" + l.Digest; !seen[k] {
			seen[k] = true
			todo = append(todo, l)
		}
	}
	out := map[string]lockedBlob{}
	var warnings []string
	err := forEach(todo, w.o.concurrency, func(l Locked) error {
		blobs, err := w.lockedImage(ctx, l)
		w.mu.Lock()
		defer w.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			warnings = append(warnings, fmt.Sprintf("%s@%s (in the lock): %v; the blobs it shares with new images are carried", l.Source, l.Digest, err))
			return nil
		}
		dst, err := name.ParseReference(l.Destination)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s (in the lock): destination %q: %v; the blobs it shares with new images are carried", l.Source, l.Destination, err))
			return nil
		}
		for _, hx := range blobs {
			if _, ok := out[hx]; !ok {
				out[hx] = lockedBlob{repo: dst.Context().Name(), from: l.Source}
			}
		}
		return nil
	})
	slices.Sort(warnings)
	st.Warnings = append(st.Warnings, warnings...)
	return out, err
}

// lockedImage lists the config and layer blobs of the locked image l,
// whose manifests are read from its source registry.
func (w *writer) lockedImage(ctx context.Context, l Locked) ([]string, error) {
	ref, err := name.ParseReference(l.Source)
	if err != nil {
		return nil, err
	}
	d, err := v1.NewHash(l.Digest)
	if err != nil {
		return nil, fmt.Errorf("digest %q: %w", l.Digest, err)
	}
	pullRef, ropts, err := w.o.remote(ref.Context().Digest(d.String()).String())
	if err != nil {
		return nil, err
	}
	p, err := w.puller(pullRef.Context().Registry, ropts)
	if err != nil {
		return nil, err
	}
	var out []string
	err = readTree(ctx, p, pullRef.Context(), d, "", func(n treeNode) {
		for _, b := range n.refs.blobs() {
			if b.Digest.Algorithm == "sha256" {
				out = append(out, b.Digest.Hex)
			}
		}
	})
	return out, err
}

// leaveOut takes out of the blobs to write those the inside holds,
// recording each as external with the first image that uses it.
func (w *writer) leaveOut(inside map[string]lockedBlob) []External {
	var out []External
	for hx, b := range w.blobs {
		l, ok := inside[hx]
		if !ok {
			continue
		}
		out = append(out, External{Digest: b.desc.Digest.String(), Size: b.desc.Size, Repository: l.repo, Image: b.image, From: l.from})
		delete(w.blobs, hx)
	}
	slices.SortFunc(out, func(a, b External) int { return strings.Compare(a.Digest, b.Digest) })
	return out
}

// loadIncremental indexes what an incremental bundle names without
// carrying: the images the inside holds and the external blobs.
func (b *Bundle) loadIncremental() error {
	b.homes = map[v1.Hash]name.Repository{}
	for i, e := range b.manifest.External {
		h, err := v1.NewHash(e.Digest)
		if err == nil && h.Algorithm != "sha256" {
			err = fmt.Errorf("algorithm %s", h.Algorithm)
		}
		var repo name.Repository
		if err == nil {
			repo, err = name.NewRepository(e.Repository, name.StrictValidation)
		}
		if err != nil {
			return &CorruptError{Dir: b.dir, File: ManifestFile, Problem: fmt.Sprintf("external blob %d: %v", i, err)}
		}
		b.homes[h] = repo
	}
	for _, in := range b.manifest.Inside {
		ref, err := name.ParseReference(in.Source, name.StrictValidation)
		var h v1.Hash
		if err == nil {
			h, err = v1.NewHash(in.Digest)
		}
		if err != nil {
			return &CorruptError{Dir: b.dir, File: ManifestFile, Problem: fmt.Sprintf("inside image %q: %v", in.Source, err)}
		}
		rc := b.repo(ref.Context())
		if t, ok := ref.(name.Tag); ok {
			rc.inside[t.TagStr()] = in
		}
		rc.inside[h.String()] = in
	}
	return nil
}

// Inside finds source among the needed images the inside holds already
// (an incremental bundle names them without carrying them).
func (b *Bundle) Inside(source string) (Inside, bool) {
	ref, err := name.ParseReference(source)
	if err != nil {
		return Inside{}, false
	}
	rc, ok := b.repos[ref.Context().Name()]
	if !ok {
		return Inside{}, false
	}
	key := ref.Identifier()
	in, ok := rc.inside[key]
	return in, ok
}

// External lists the blobs the bundle's images use but it does not
// carry, each with the destination repository inside that holds it.
func (b *Bundle) External() []External { return b.manifest.External }

// ExternalHomes maps each external blob to the destination repository
// that holds it.
func (b *Bundle) ExternalHomes() map[v1.Hash]name.Repository { return b.homes }
