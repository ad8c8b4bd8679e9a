package verify

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

// Gate is the signature gate sync passes every image through before it is
// copied or mapped (it satisfies plan.Gate). It reads signatures through
// the copier's view of the registries — its mirrors, credentials and CA —
// so it checks what the copy will read.
type Gate struct {
	v *Verifier
	c *mirror.Copier
}

// NewGate builds a verifier from opts plus the copier's remote options.
func NewGate(ctx context.Context, c *mirror.Copier, opts ...Option) (*Gate, error) {
	// Any source reference yields the copier's common remote options.
	_, ropts, err := c.SourceRemote("index.docker.io/library/x")
	if err != nil {
		return nil, err
	}
	v, err := New(ctx, append(opts, WithRemoteOptions(ropts...))...)
	if err != nil {
		return nil, err
	}
	return &Gate{v: v, c: c}, nil
}

// Verify checks source at digest and returns who signed it. A refusal is
// an error saying why, for the plan's detail column.
func (g *Gate) Verify(ctx context.Context, source, digest string) (*imagemap.Signer, error) {
	ref, err := imagemap.ParseReference(source)
	if err != nil {
		return nil, err
	}
	pull, _, err := g.c.SourceRemote(ref.Repository + "@" + digest)
	if err != nil {
		return nil, err
	}
	d, ok := pull.(name.Digest)
	if !ok {
		return nil, fmt.Errorf("verifying %q: no digest", source)
	}
	res, err := g.v.Verify(ctx, d)
	if err != nil {
		var f *Failure
		if errors.As(err, &f) {
			return nil, fmt.Errorf("%s: %s", f.Reason, f.Detail)
		}
		return nil, err
	}
	return &imagemap.Signer{Identity: res.Identity, Issuer: res.Issuer}, nil
}
