package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// blobHome is where a blob first landed in a destination registry; other
// repositories there mount it from that one once done is closed.
type blobHome struct {
	done chan struct{}
	repo name.Repository
	err  error
}

// ensureBlob makes blob b present in the destination repository. The
// first image of a run to need a blob in a destination registry streams
// it from the source; every other repository of that registry mounts it
// from there, after the stream finished.
func (c *Copier) ensureBlob(ctx context.Context, j *job, b v1.Descriptor) error {
	if home, ok := c.o.external[b.Digest]; ok {
		return c.mountExternal(ctx, j, b, home)
	}
	key := j.dstRepo.RegistryStr() + "@" + b.Digest.String()
	c.blobsMu.Lock()
	h, found := c.blobs[key]
	if !found {
		h = &blobHome{done: make(chan struct{}), repo: j.dstRepo}
		c.blobs[key] = h
	}
	c.blobsMu.Unlock()

	l := &blob{ctx: ctx, c: c, j: j, desc: b}
	if !found {
		var first v1.Layer = l
		if j.srcRepo.Registry == j.dstRepo.Registry && j.srcRepo != j.dstRepo {
			// Same registry: mount from the source repository, no stream.
			first = &remote.MountableLayer{Layer: l, Reference: j.srcRepo.Digest(b.Digest.String())}
		}
		h.err = c.upload(ctx, j, first)
		close(h.done)
		return h.err
	}
	select {
	case <-h.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if h.err == nil && h.repo == j.dstRepo {
		c.emit(Event{Kind: BlobBytes, Source: j.pair.Source, Destination: j.pair.Destination, Bytes: b.Size})
		return nil
	}
	var layer v1.Layer = l
	if h.err == nil {
		// A failed mount falls back to a normal upload inside Upload.
		layer = &remote.MountableLayer{Layer: l, Reference: h.repo.Digest(b.Digest.String())}
	}
	return c.upload(ctx, j, layer)
}

func (c *Copier) upload(ctx context.Context, j *job, l v1.Layer) error {
	select {
	case c.blobSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.blobSem }()
	d, _ := l.Digest()
	size, _ := l.Size()
	var streamed int64
	inner := l
	if ml, ok := l.(*remote.MountableLayer); ok {
		inner = ml.Layer
	}
	bl := inner.(*blob)
	bl.streamed = &streamed
	if err := c.pusher.Upload(ctx, j.dstRepo, l); err != nil {
		return j.dst.wrap("copying blob "+d.String(), err)
	}
	if rest := size - atomic.LoadInt64(&streamed); rest > 0 {
		c.emit(Event{Kind: BlobBytes, Source: j.pair.Source, Destination: j.pair.Destination, Bytes: rest})
	}
	return nil
}

// blob is a source blob described by its manifest: digest, size and media
// type cost no request; its content is streamed from the source only when
// the destination needs it.
type blob struct {
	ctx      context.Context //nolint:containedctx // v1.Layer has no context parameter
	c        *Copier
	j        *job
	desc     v1.Descriptor
	streamed *int64
}

func (b *blob) Digest() (v1.Hash, error) { return b.desc.Digest, nil }
func (b *blob) DiffID() (v1.Hash, error) {
	return v1.Hash{}, errors.New("diff ID of a copied blob is not needed")
}
func (b *blob) Size() (int64, error)                { return b.desc.Size, nil }
func (b *blob) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }
func (b *blob) Uncompressed() (io.ReadCloser, error) {
	return nil, errors.New("a copied blob is never decompressed")
}

func (b *blob) Compressed() (io.ReadCloser, error) {
	if home, ok := b.c.o.external[b.desc.Digest]; ok {
		return nil, fmt.Errorf("blob %s is not carried and could not be mounted from %s, which the lock says holds it: check it is there, or bring the blob along", b.desc.Digest, home)
	}
	ref := b.j.srcRepo.Digest(b.desc.Digest.String())
	if open := b.c.o.local; open != nil {
		rc, ok, err := open(b.desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading blob %s: %w", ref, err)
		}
		if ok {
			b.c.blobsStreamed.Add(1)
			return &countingReader{rc: rc, b: b}, nil
		}
	}
	l, err := b.c.puller.Layer(b.ctx, ref)
	if err != nil {
		return nil, b.j.src.wrap("reading blob "+ref.String(), err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, b.j.src.wrap("reading blob "+ref.String(), err)
	}
	b.c.blobsStreamed.Add(1)
	return &countingReader{rc: rc, b: b}, nil
}

// countingReader reports streamed bytes in steps of about a megabyte.
type countingReader struct {
	rc      io.ReadCloser
	b       *blob
	pending int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.pending += int64(n)
	if r.pending >= 1<<20 || (err != nil && r.pending > 0) {
		r.flush()
	}
	return n, err
}

func (r *countingReader) flush() {
	n := r.pending
	r.pending = 0
	if r.b.streamed != nil {
		atomic.AddInt64(r.b.streamed, n)
	}
	r.b.c.bytesStreamed.Add(n)
	r.b.c.emit(Event{Kind: BlobBytes, Source: r.b.j.pair.Source, Destination: r.b.j.pair.Destination, Bytes: n})
}

func (r *countingReader) Close() error {
	if r.pending > 0 {
		r.flush()
	}
	return r.rc.Close()
}
