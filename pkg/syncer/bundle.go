package syncer

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"golang.org/x/sync/errgroup"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/bundle"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// BundleSource is a bundle, checked against its SHA256SUMS, whose images
// are served to the copy engine in place of the source registries.
type BundleSource struct {
	*bundle.Bundle
	srv *bundle.Server
}

// OpenBundle checks the bundle in dir (every file against SHA256SUMS, none
// missing or extra) and serves its images on the loopback interface.
func OpenBundle(ctx context.Context, dir string) (*BundleSource, error) {
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, err
	}
	srv, err := b.Serve(ctx)
	if err != nil {
		return nil, fmt.Errorf("serving bundle %q: %w", dir, err)
	}
	return &BundleSource{Bundle: b, srv: srv}, nil
}

// Registry are the copy engine options that read every source the bundle
// names from the bundle (its registries become mirrors of the sources),
// and mount the external blobs of an incremental bundle from the
// destination repositories that hold them.
func (s *BundleSource) Registry() []mirror.Option {
	opts := []mirror.Option{mirror.WithMirrors(s.srv.Mirrors()), mirror.WithLocalBlobs(s.OpenBlob)}
	if homes := s.ExternalHomes(); len(homes) > 0 {
		opts = append(opts, mirror.WithExternalBlobs(homes))
	}
	return opts
}

// Close stops serving the bundle and releases its files.
func (s *BundleSource) Close() error { return errors.Join(s.srv.Close(), s.Bundle.Close()) }

// OwnTrustedRoot is the bundle's own trusted root, which came on the same
// media as the images, as a verifier option, and where it is; ok is false
// when the bundle has none.
func (s *BundleSource) OwnTrustedRoot() (opt verify.Option, where string, ok bool, err error) {
	data, where, ok, err := s.TrustedRoot()
	if !ok || err != nil {
		return nil, where, ok, err
	}
	return verify.WithTrustedRootJSON(data, where), where, true, nil
}

// ChainedTrustedRoot checks, offline, that the TUF metadata the bundle
// carries chains to anchor and vouches for its trusted_root.json, as it
// did when the bundle was written (bundle.json's created time: the
// metadata may have expired since), and returns that root as a verifier
// option, and where it is. ok is false when the bundle carries no TUF
// metadata. A chain that does not hold is an error naming the bundle file
// it breaks at.
func (s *BundleSource) ChainedTrustedRoot(anchor verify.TUFAnchor) (opt verify.Option, where string, ok bool, err error) {
	files, ok, err := s.TUF()
	if !ok || err != nil {
		return nil, "", ok, err
	}
	data, where, _, err := s.TrustedRoot()
	if err != nil {
		return nil, where, true, err
	}
	err = verify.CheckTUF(anchor, verify.TUFMetadata{Files: files, TrustedRoot: data}, s.Manifest().Created)
	var te *verify.TUFError
	switch {
	case errors.As(err, &te):
		file := bundle.TUFDir + "/" + te.File
		if te.File == verify.TUFTarget {
			file = bundle.TrustedRootFile
		}
		return nil, where, true, fmt.Errorf("bundle %q: %s %s, so its trusted root does not chain to %s: pass %s FILE obtained apart from the bundle, or %s FILE with the TUF root the export trusted",
			s.Dir(), file, te.Problem, anchor.Name, setting.TrustedRoot, setting.TUFRoot)
	case err != nil:
		return nil, where, true, err
	}
	return verify.WithTrustedRootJSON(data, where), where, true, nil
}

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

// Needs is the bundle's needed set, for the bundle origin.
func (s *BundleSource) Needs() *inventory.BundleNeeds {
	out := &inventory.BundleNeeds{Dir: s.Dir()}
	if r := s.Releases(); r != nil {
		out.Releases = r.Response
	}
	for _, n := range s.Needed() {
		out.Items = append(out.Items, inventory.Item{Image: n.Image, Why: n.Why})
	}
	return out
}

// Verdict is one bundle image's signature, checked again from the
// bundle's own artefacts.
type Verdict struct {
	Source   string `json:"source"`
	Digest   string `json:"digest"`
	Verified bool   `json:"verified"`
	Identity string `json:"identity,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	Layout   string `json:"layout,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// VerifyBundle checks the signature of every image the bundle holds,
// reading the signatures from the bundle through c (a copier built with
// s.Registry()), and pushes nothing. A refused image is a verdict; the
// error is for a verifier that cannot be built or a bundle that cannot be
// read.
func VerifyBundle(ctx context.Context, s *BundleSource, c *mirror.Copier, opts ...verify.Option) ([]Verdict, string, error) {
	images := s.Manifest().Images
	out := make([]Verdict, len(images))
	var v *verify.Verifier
	for i, img := range images {
		out[i] = Verdict{Source: img.Source, Digest: img.Digest}
		ref, err := name.ParseReference(img.Source)
		if err != nil {
			return nil, "", fmt.Errorf("bundle %q: image %q: %w", s.Dir(), img.Source, err)
		}
		pull, ropts, err := c.SourceRemote(ref.Context().String() + "@" + img.Digest)
		if err != nil {
			return nil, "", err
		}
		if v == nil {
			if v, err = verify.New(ctx, append(opts, verify.WithRemoteOptions(ropts...))...); err != nil {
				return nil, "", err
			}
		}
		d, ok := pull.(name.Digest)
		if !ok {
			return nil, "", fmt.Errorf("bundle %q: image %q has no digest", s.Dir(), img.Source)
		}
		res, err := v.Verify(ctx, d)
		var f *verify.Failure
		switch {
		case errors.As(err, &f):
			out[i].Reason, out[i].Detail = string(f.Reason), f.Detail
		case err != nil:
			return nil, "", err
		default:
			out[i].Verified, out[i].Identity, out[i].Issuer, out[i].Layout = true, res.Identity, res.Issuer, res.Layout
		}
	}
	policy := ""
	if v != nil {
		policy = v.Policy()
	}
	return out, policy, nil
}

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
