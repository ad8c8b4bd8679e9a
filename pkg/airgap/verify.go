package airgap

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
)

// Verdict is one bundle image's signature, checked again from the
// bundle's own artefacts.
type Verdict struct {
	Source string `json:"source"`
	Digest string `json:"digest"`
	verify.Verdict
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
		if out[i].Verdict, err = v.Check(ctx, d); err != nil {
			return nil, "", err
		}
	}
	policy := ""
	if v != nil {
		policy = v.Policy()
	}
	return out, policy, nil
}
