package airgap

import (
	"context"
	"errors"
	"fmt"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/bundle"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// Source is a bundle, checked against its SHA256SUMS, whose images
// are served to the copy engine in place of the source registries.
type Source struct {
	*bundle.Bundle
	srv *bundle.Server
}

// Open checks the bundle in dir (every file against SHA256SUMS, none
// missing or extra) and serves its images on the loopback interface.
func Open(ctx context.Context, dir string) (*Source, error) {
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, err
	}
	srv, err := b.Serve(ctx)
	if err != nil {
		return nil, fmt.Errorf("serving bundle %q: %w", dir, err)
	}
	return &Source{Bundle: b, srv: srv}, nil
}

// Registry are the copy engine options that read every source the bundle
// names from the bundle (its registries become mirrors of the sources),
// and mount the external blobs of an incremental bundle from the
// destination repositories that hold them.
func (s *Source) Registry() []mirror.Option {
	opts := []mirror.Option{mirror.WithMirrors(s.srv.Mirrors()), mirror.WithLocalBlobs(s.OpenBlob)}
	if homes := s.ExternalHomes(); len(homes) > 0 {
		opts = append(opts, mirror.WithExternalBlobs(homes))
	}
	return opts
}

// Close stops serving the bundle and releases its files.
func (s *Source) Close() error { return errors.Join(s.srv.Close(), s.Bundle.Close()) }

// OwnTrustedRoot is the bundle's own trusted root, which came on the same
// media as the images, as a verifier option, and where it is; ok is false
// when the bundle has none.
func (s *Source) OwnTrustedRoot() (opt verify.Option, where string, ok bool, err error) {
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
func (s *Source) ChainedTrustedRoot(anchor verify.TUFAnchor) (opt verify.Option, where string, ok bool, err error) {
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
