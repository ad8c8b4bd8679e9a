package syncer

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"golang.org/x/sync/errgroup"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/airgap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/bundle"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
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
	if err := r.checkExternalRegistries(ext, homes); err != nil {
		return err
	}
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

// ExternalElsewhereError stops an import, before anything is pushed, when
// an image that needs an external blob goes to another registry than the
// one holding the blob: a registry mounts only from its own repositories,
// and the bundle does not carry the blob.
type ExternalElsewhereError struct {
	Bundle   string
	External bundle.External
	// Registry is where the image goes.
	Registry string
}

func (e *ExternalElsewhereError) Error() string {
	return fmt.Sprintf("bundle %q: blob %s of %s is not carried: %s holds it, and the image goes to %s, which cannot mount from another registry: nothing was pushed; import with %s on %s, or export the bundle again without the lock",
		e.Bundle, e.External.Digest, e.External.Image, e.External.Repository, e.Registry, setting.Target, registryOf(e.External.Repository))
}

// checkExternalRegistries finds an external blob whose image is to be
// copied into another registry than the one that holds the blob.
func (r *Run) checkExternalRegistries(ext []bundle.External, homes map[v1.Hash]name.Repository) error {
	dest := map[string]string{} // source, as the registry names it -> destination registry
	for _, it := range r.Plan.Images {
		if !it.NeedsCopy(r.cfg.Overwrite) || notInBundle(it) {
			continue
		}
		src, err := name.ParseReference(it.Source)
		if err != nil {
			continue
		}
		if d, err := name.ParseReference(it.Destination()); err == nil {
			dest[src.Name()] = d.Context().RegistryStr()
		}
	}
	for _, e := range ext {
		img, err := name.ParseReference(e.Image)
		if err != nil {
			continue
		}
		d, _ := v1.NewHash(e.Digest) // checked when the bundle was opened
		if reg, ok := dest[img.Name()]; ok && reg != homes[d].RegistryStr() {
			return &ExternalElsewhereError{Bundle: r.cfg.Bundle.Dir(), External: e, Registry: reg}
		}
	}
	return nil
}

// registryOf is the registry part of a repository name.
func registryOf(repo string) string {
	if r, err := name.NewRepository(repo); err == nil {
		return r.RegistryStr()
	}
	return repo
}
