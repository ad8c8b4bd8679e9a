package mirror

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// Copier copies images between registries. It is safe for one Copy at a
// time; blobs are shared across the images of one Copy.
type Copier struct {
	o      *options
	base   http.RoundTripper // under the retries: the probe's
	puller *pullers
	pusher *remote.Pusher

	emitMu sync.Mutex

	blobSem chan struct{}
	blobsMu sync.Mutex
	blobs   map[string]*blobHome // destination registry + digest

	tagsMu sync.Mutex
	tags   map[string]*tagList // source repository

	reposMu sync.Mutex
	repos   map[string]*repoCheck // destination repository

	bytesStreamed atomic.Int64
	blobsStreamed atomic.Int64
}

// New returns a Copier. Options are checked here: conflicting or invalid
// ones are an error.
func New(opts ...Option) (*Copier, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	for src, m := range o.mirrors {
		if normalizeHost(m) == src {
			return nil, fmt.Errorf("registry %q cannot mirror itself", src)
		}
	}
	if o.keychain == nil {
		kc, err := Keychain("")
		if err != nil {
			return nil, err
		}
		o.keychain = kc
	}
	base, err := baseTransport(o)
	if err != nil {
		return nil, err
	}
	rt := &retryTransport{inner: base, policy: o.retry}
	ropts := []remote.Option{
		remote.WithAuthFromKeychain(o.keychain),
		remote.WithTransport(rt),
		// Status-code retries happen in retryTransport, which honours
		// Retry-After; go-containerregistry still restarts whole blob
		// uploads that fail.
		remote.WithRetryStatusCodes(),
		remote.WithRetryBackoff(remote.Backoff{Duration: o.retry.initial, Factor: 2, Jitter: 0.2, Steps: o.retry.attempts}),
		// retryTransport has already retried a refused connection; an
		// unresolvable name or an untrusted certificate will not change.
		remote.WithRetryPredicate(restartable),
		remote.WithJobs(o.concurrency),
		remote.WithUserAgent(o.userAgent),
	}
	pusher, err := remote.NewPusher(ropts...)
	if err != nil {
		return nil, err
	}
	return &Copier{
		o:       o,
		base:    base,
		puller:  &pullers{keychain: o.keychain, rt: rt, jobs: o.concurrency, reg: map[string]*registryPuller{}},
		pusher:  pusher,
		blobSem: make(chan struct{}, o.concurrency),
		blobs:   map[string]*blobHome{},
		tags:    map[string]*tagList{},
		repos:   map[string]*repoCheck{},
	}, nil
}

// SetProgress replaces the WithProgress callback, for a caller that looks
// at the registries with Check before it knows how to show the copies it
// will make. Call it between Copy calls, never during one.
func (c *Copier) SetProgress(fn func(Event)) {
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	c.o.progress = fn
}

func (c *Copier) emit(e Event) {
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	if c.o.progress == nil {
		return
	}
	c.o.progress(e)
}

// Copy copies every pair, at most the configured concurrency at once, and
// returns one result per pair in order. The error joins the failures;
// the report is complete either way.
func (c *Copier) Copy(ctx context.Context, pairs []Pair) (*Report, error) {
	rep := &Report{Images: make([]ImageResult, len(pairs))}
	// Checking whether the destination has an image is two light manifest
	// requests: up to checkFactor times the concurrency run at once.
	// Copying is bounded by the concurrency itself.
	checkSem := make(chan struct{}, checkFactor*c.o.concurrency)
	copySem := make(chan struct{}, c.o.concurrency)
	acquire := func(sem chan struct{}) error {
		select {
		case sem <- struct{}{}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var wg sync.WaitGroup
	for i, p := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := acquire(checkSem); err != nil {
				rep.Images[i] = c.fail(p, err)
				return
			}
			held := checkSem
			defer func() {
				if held != nil {
					<-held
				}
			}()
			enterCopy := func() error {
				<-checkSem
				held = nil
				if err := acquire(copySem); err != nil {
					return err
				}
				held = copySem
				return nil
			}
			rep.Images[i] = c.copyImage(ctx, p, enterCopy)
		}()
	}
	wg.Wait()
	rep.BytesStreamed = c.bytesStreamed.Load()
	rep.BlobsStreamed = c.blobsStreamed.Load()
	var errs []error
	for _, r := range rep.Images {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return rep, errors.Join(errs...)
}

func (c *Copier) fail(p Pair, err error) ImageResult {
	c.explain(err)
	err = fmt.Errorf("copying %q to %q: %w", p.Source, p.Destination, err)
	c.emit(Event{Kind: ImageFailed, Source: p.Source, Destination: p.Destination, Err: err})
	return ImageResult{Source: p.Source, Destination: p.Destination, Status: StatusFailed, Err: err, Error: err.Error()}
}

// job is the state of one image's copy.
type job struct {
	pair     Pair
	src, dst side
	srcRepo  name.Repository // where blobs and manifests are read (mirror applied)
	dstRepo  name.Repository
	total    atomic.Int64
	copied   []v1.Hash // manifests copied unchanged, whose signatures and referrers travel too
	copiedMu sync.Mutex
}

func (c *Copier) copyImage(ctx context.Context, p Pair, enterCopy func() error) ImageResult {
	in, err := c.inspect(ctx, p)
	if err != nil {
		return c.fail(p, err)
	}
	j, res, want, top := in.j, in.res, in.want, in.top
	for _, w := range res.Warnings {
		c.emit(Event{Kind: Warning, Source: p.Source, Destination: p.Destination, Message: w})
	}
	if in.have != nil {
		if in.have.Digest == want {
			res.Status = StatusSkipped
			c.emit(Event{Kind: ImageSkipped, Source: p.Source, Destination: p.Destination, Digest: want.String()})
			return res
		}
		if !c.o.overwrite {
			return c.fail(p, fmt.Errorf("destination has digest %s, the source %s: pass %s to replace it: %w", in.have.Digest, want, setting.Overwrite, ErrDrift))
		}
	}

	if err := enterCopy(); err != nil {
		return c.fail(p, err)
	}
	if top == nil {
		desc, err := c.puller.Get(ctx, in.pullRef.Context().Digest(want.String()))
		if err != nil {
			return c.fail(p, j.src.wrap("reading "+in.pullRef.String(), err))
		}
		top = &rawManifest{raw: desc.Manifest, mt: desc.MediaType}
	}

	// Walk the tree once to learn the total, then copy leaves first and
	// the top manifest last: its presence means the copy is complete.
	tree, err := c.fetchTree(ctx, j, want, top)
	if err != nil {
		return c.fail(p, err)
	}
	c.emit(Event{Kind: ImageStarted, Source: p.Source, Destination: p.Destination, Digest: want.String(), Total: j.total.Load()})
	if err := c.copyTree(ctx, j, tree, false); err != nil {
		return c.fail(p, err)
	}
	putTop := func() error {
		ref := j.dstRepo.Digest(want.String())
		return j.dst.wrapPut(ref, *top, c.pusher.Put(ctx, ref, *top))
	}
	n, err := c.copyArtifacts(ctx, j, &res, want, putTop)
	if err != nil {
		return c.fail(p, err)
	}
	res.Attached = n
	if err := c.pusher.Put(ctx, in.dstRef, *top); err != nil {
		return c.fail(p, j.dst.wrapPut(in.dstRef, *top, err))
	}
	res.Status = StatusCopied
	c.emit(Event{Kind: ImageCopied, Source: p.Source, Destination: p.Destination, Digest: want.String(), Total: j.total.Load()})
	return res
}

func (j *job) addCopied(d v1.Hash) {
	j.copiedMu.Lock()
	defer j.copiedMu.Unlock()
	j.copied = append(j.copied, d)
}
