package mirror

import (
	"context"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// rawManifest is a manifest to put verbatim, so its digest is preserved.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// node is a manifest and what it references.
type node struct {
	digest   v1.Hash
	manifest rawManifest
	children []*node
	blobs    []v1.Descriptor
}

// manifestRefs is the union of the fields that reference content in image
// manifests, indexes and OCI artefact manifests.
type manifestRefs struct {
	Manifests []v1.Descriptor `json:"manifests"`
	Config    *v1.Descriptor  `json:"config"`
	Layers    []v1.Descriptor `json:"layers"`
	Blobs     []v1.Descriptor `json:"blobs"`
}

func (c *Copier) fetchTree(ctx context.Context, j *job, d v1.Hash, m *rawManifest) (*node, error) {
	n := &node{digest: d, manifest: *m}
	var refs manifestRefs
	if err := json.Unmarshal(m.raw, &refs); err != nil {
		return nil, fmt.Errorf("parsing manifest %s of %q: %w", d, j.pair.Source, err)
	}
	if refs.Config != nil {
		n.blobs = append(n.blobs, *refs.Config)
	}
	n.blobs = append(n.blobs, refs.Layers...)
	n.blobs = append(n.blobs, refs.Blobs...)
	for _, b := range n.blobs {
		j.total.Add(b.Size)
	}
	if len(refs.Manifests) == 0 {
		return n, nil
	}
	n.children = make([]*node, len(refs.Manifests))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.o.concurrency)
	for i, cd := range refs.Manifests {
		g.Go(func() error {
			ref := j.srcRepo.Digest(cd.Digest.String())
			desc, err := c.puller.Get(gctx, ref)
			if err != nil {
				return j.src.wrap("reading "+ref.String(), err)
			}
			mt := desc.MediaType
			if cd.MediaType != "" {
				mt = cd.MediaType
			}
			child, err := c.fetchTree(gctx, j, cd.Digest, &rawManifest{raw: desc.Manifest, mt: mt})
			n.children[i] = child
			return err
		})
	}
	return n, g.Wait()
}

// copyTree copies the blobs and child manifests of n (not n itself, which
// the caller puts under its tag), children before parents.
func (c *Copier) copyTree(ctx context.Context, j *job, n *node, putSelf bool) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, b := range n.blobs {
		g.Go(func() error { return c.ensureBlob(gctx, j, b) })
	}
	for _, ch := range n.children {
		g.Go(func() error { return c.copyTree(gctx, j, ch, true) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if !putSelf {
		j.addCopied(n.digest)
		return nil
	}
	ref := j.dstRepo.Digest(n.digest.String())
	if err := c.pusher.Put(ctx, ref, n.manifest); err != nil {
		return j.dst.wrapPut(ref, n.manifest, err)
	}
	j.addCopied(n.digest)
	return nil
}
