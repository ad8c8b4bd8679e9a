package airgap

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
)

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

// Verify checks the signature of every image the bundle holds,
// reading the signatures from the bundle through c (a copier built with
// s.Registry()), and pushes nothing. A refused image is a verdict; the
// error is for a verifier that cannot be built or a bundle that cannot be
// read.
func Verify(ctx context.Context, s *Source, c *mirror.Copier, opts ...verify.Option) ([]Verdict, string, error) {
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
