package mirror

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// WithExternalBlobs names blobs the source does not serve because the
// destination holds them already, each with the destination repository
// that does (an incremental bundle's external blobs). The copy mounts
// them from there and never reads them from the source. Default: none.
func WithExternalBlobs(blobs map[v1.Hash]name.Repository) Option {
	return func(o *options) error {
		if o.external == nil {
			o.external = map[v1.Hash]name.Repository{}
		}
		for d, r := range blobs {
			o.external[d] = r
		}
		return nil
	}
}

// WithLocalBlobs reads the blobs open holds from it instead of over the
// network from the source: an imported bundle's files, already checked
// against their digests (the destination checks them again as they are
// pushed). open reports false for a blob it does not hold, which is then
// read from the source as usual. Default: none.
func WithLocalBlobs(open func(v1.Hash) (io.ReadCloser, bool, error)) Option {
	return func(o *options) error {
		o.local = open
		return nil
	}
}

// mountExternal makes the external blob b present in j's destination
// repository by mounting it from the repository that holds it.
func (c *Copier) mountExternal(ctx context.Context, j *job, b v1.Descriptor, home name.Repository) error {
	// By name: a host given to WithInsecure is the same registry either way.
	if home.RegistryStr() != j.dstRepo.RegistryStr() {
		return fmt.Errorf("blob %s is not carried: %s holds it, and cross-registry mounts do not exist: copy into %s, or bring the blob along", b.Digest, home, home.RegistryStr())
	}
	l := &blob{ctx: ctx, c: c, j: j, desc: b}
	return c.upload(ctx, j, &remote.MountableLayer{Layer: l, Reference: home.Digest(b.Digest.String())})
}

// HasBlob reports whether repo holds the blob d: one HEAD request, over
// plain HTTP for a host given to WithInsecure.
func (c *Copier) HasBlob(ctx context.Context, repo name.Repository, d v1.Hash) (bool, error) {
	if c.o.insecure[repo.RegistryStr()] {
		r, err := name.NewRepository(repo.Name(), name.Insecure)
		if err != nil {
			return false, err
		}
		repo = r
	}
	tr, err := c.puller.transport(ctx, repo.Registry)
	if err != nil {
		return false, err
	}
	u := url.URL{Scheme: repo.Scheme(), Host: repo.RegistryStr(), Path: "/v2/" + repo.RepositoryStr() + "/blobs/" + d.String()}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return false, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return false, fmt.Errorf("checking blob %s in %s: %w", d, repo, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return false, nil
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return false, fmt.Errorf("checking blob %s in %s: %w", d, repo, err)
	}
	return true, nil
}
