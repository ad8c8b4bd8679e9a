package mirror

import (
	"context"
	"net/http"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// pullers reads from registries with one authentication handshake per
// registry per run, not one per repository: a no-op run then costs one
// /v2/ ping per registry plus one manifest HEAD per image. Token
// registries widen the token's scope on their 401 challenge as new
// repositories are read.
type pullers struct {
	keychain authn.Keychain
	rt       http.RoundTripper
	jobs     int

	mu  sync.Mutex
	reg map[string]*registryPuller
}

type registryPuller struct {
	mu sync.Mutex
	p  *remote.Puller
	tr http.RoundTripper // authenticated, for requests the puller does not make
}

func (ps *pullers) get(ctx context.Context, reg name.Registry) (*remote.Puller, error) {
	rp, err := ps.session(ctx, reg)
	if err != nil {
		return nil, err
	}
	return rp.p, nil
}

// transport is the registry's authenticated transport.
func (ps *pullers) transport(ctx context.Context, reg name.Registry) (http.RoundTripper, error) {
	rp, err := ps.session(ctx, reg)
	if err != nil {
		return nil, err
	}
	return rp.tr, nil
}

func (ps *pullers) session(ctx context.Context, reg name.Registry) (*registryPuller, error) {
	ps.mu.Lock()
	rp, ok := ps.reg[reg.String()]
	if !ok {
		rp = &registryPuller{}
		ps.reg[reg.String()] = rp
	}
	ps.mu.Unlock()

	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.p != nil {
		return rp, nil
	}
	auth, err := authn.Resolve(ctx, ps.keychain, reg)
	if err != nil {
		return nil, err
	}
	// A failed handshake is not kept: the next image tries again.
	tr, err := transport.NewWithContext(ctx, reg, auth, ps.rt, nil)
	if err != nil {
		return nil, err
	}
	p, err := remote.NewPuller(remote.WithTransport(tr), remote.WithJobs(ps.jobs))
	if err != nil {
		return nil, err
	}
	rp.p, rp.tr = p, tr
	return rp, nil
}

func (ps *pullers) Head(ctx context.Context, ref name.Reference) (*v1.Descriptor, error) {
	p, err := ps.get(ctx, ref.Context().Registry)
	if err != nil {
		return nil, err
	}
	return p.Head(ctx, ref)
}

func (ps *pullers) Get(ctx context.Context, ref name.Reference) (*remote.Descriptor, error) {
	p, err := ps.get(ctx, ref.Context().Registry)
	if err != nil {
		return nil, err
	}
	return p.Get(ctx, ref)
}

func (ps *pullers) Layer(ctx context.Context, ref name.Digest) (v1.Layer, error) {
	p, err := ps.get(ctx, ref.Context().Registry)
	if err != nil {
		return nil, err
	}
	return p.Layer(ctx, ref)
}

func (ps *pullers) List(ctx context.Context, repo name.Repository) ([]string, error) {
	p, err := ps.get(ctx, repo.Registry)
	if err != nil {
		return nil, err
	}
	return p.List(ctx, repo)
}
