package mirror

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/capool"
)

// Pair is one image to copy: from Source (a tag, digest or tag@digest
// reference) to Destination (a tag or digest reference).
type Pair struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
}

// Status is what happened to one image.
type Status string

// Statuses of an ImageResult.
const (
	StatusCopied  Status = "copied"
	StatusSkipped Status = "skipped"
	StatusFailed  Status = "failed"
)

// ImageResult is the outcome for one Pair.
type ImageResult struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// Digest is the digest at the destination: the source's, unless a
	// platform subset was copied.
	Digest string `json:"digest,omitempty"`
	// SourceDigest is the digest of the source reference.
	SourceDigest string   `json:"sourceDigest,omitempty"`
	Status       Status   `json:"status"`
	Attached     int      `json:"attached,omitempty"` // signatures, attestations and referrers copied
	Warnings     []string `json:"warnings,omitempty"`
	Err          error    `json:"-"`
	Error        string   `json:"error,omitempty"`
}

// Report sums up a Copy.
type Report struct {
	Images []ImageResult `json:"images"`
	// BytesStreamed counts blob bytes read from source registries.
	BytesStreamed int64 `json:"bytesStreamed"`
	// BlobsStreamed counts blobs read from source registries (each unique
	// blob once per destination registry per run).
	BlobsStreamed int64 `json:"blobsStreamed"`
}

// Copier copies images between registries. It is safe for one Copy at a
// time; blobs are shared across the images of one Copy.
type Copier struct {
	o      *options
	puller *pullers
	pusher *remote.Pusher

	emitMu sync.Mutex

	blobSem chan struct{}
	blobsMu sync.Mutex
	blobs   map[string]*blobHome // destination registry + digest

	tagsMu sync.Mutex
	tags   map[string]*tagList // source repository

	bytesStreamed atomic.Int64
	blobsStreamed atomic.Int64
}

type blobHome struct {
	done chan struct{}
	repo name.Repository
	err  error
}

type tagList struct {
	once sync.Once
	tags map[string]bool
	err  error
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
		remote.WithJobs(o.concurrency),
		remote.WithUserAgent(o.userAgent),
	}
	pusher, err := remote.NewPusher(ropts...)
	if err != nil {
		return nil, err
	}
	return &Copier{
		o:       o,
		puller:  &pullers{keychain: o.keychain, rt: rt, jobs: o.concurrency, reg: map[string]*registryPuller{}},
		pusher:  pusher,
		blobSem: make(chan struct{}, o.concurrency),
		blobs:   map[string]*blobHome{},
		tags:    map[string]*tagList{},
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
	err = fmt.Errorf("copying %q to %q: %w", p.Source, p.Destination, err)
	c.emit(Event{Kind: ImageFailed, Source: p.Source, Destination: p.Destination, Err: err})
	return ImageResult{Source: p.Source, Destination: p.Destination, Status: StatusFailed, Err: err, Error: err.Error()}
}

// side names the registry an error came from, so the operator knows whose
// credentials or availability to check.
type side struct {
	role string // "source" or "destination"
	host string
}

func (s side) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		verb := "authentication failed"
		if te.StatusCode == http.StatusForbidden {
			verb = "access denied"
		}
		return fmt.Errorf("%s registry %q: %s (%s): log in with 'docker login %s', or pass --registry-auth-file: %w",
			s.role, s.host, verb, what, s.host, ErrAuth)
	}
	return fmt.Errorf("%s on %s registry %q: %w%s", what, s.role, s.host, err, capool.Hint(err, RegistryCARemedy))
}

// RegistryCARemedy is what trusts a registry's private CA.
const RegistryCARemedy = "--registry-ca-file (or the host with --insecure-registry)"

// ErrAuth marks errors where a registry refused the credentials (or their
// absence).
var ErrAuth = errors.New("registry refused the credentials")

// parse reads a reference, marking hosts given to WithInsecure as plain
// HTTP.
func (c *Copier) parse(s string) (name.Reference, error) {
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("parsing image reference %q: %w", s, err)
	}
	if c.o.insecure[ref.Context().RegistryStr()] {
		return name.ParseReference(s, name.Insecure)
	}
	return ref, nil
}

// pullFrom is where the source is read: its registry's mirror, when one is
// configured.
func (c *Copier) pullFrom(ref name.Reference) (name.Reference, error) {
	m, ok := c.o.mirrors[ref.Context().RegistryStr()]
	if !ok {
		return ref, nil
	}
	var opts []name.Option
	if c.o.insecure[m] {
		opts = append(opts, name.Insecure)
	}
	s := m + "/" + ref.Context().RepositoryStr()
	if d, ok := ref.(name.Digest); ok {
		s += "@" + d.DigestStr()
	} else {
		s += ":" + ref.Identifier()
	}
	return name.ParseReference(s, opts...)
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// rawManifest is a manifest to put verbatim, so its digest is preserved.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

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

// inspection is what a copy learns before moving anything.
type inspection struct {
	j       *job
	res     ImageResult
	pullRef name.Reference
	dstRef  name.Reference
	want    v1.Hash
	top     *rawManifest   // set when already fetched (platform subset)
	have    *v1.Descriptor // nil when the destination does not exist
}

// inspect resolves the source digest (the subset's, with WithPlatforms)
// and what the destination holds: one manifest request to each registry.
func (c *Copier) inspect(ctx context.Context, p Pair) (*inspection, error) {
	srcRef, err := c.parse(p.Source)
	if err != nil {
		return nil, err
	}
	dstRef, err := c.parse(p.Destination)
	if err != nil {
		return nil, err
	}
	pullRef, err := c.pullFrom(srcRef)
	if err != nil {
		return nil, err
	}
	in := &inspection{
		j: &job{
			pair:    p,
			src:     side{"source", pullRef.Context().RegistryStr()},
			dst:     side{"destination", dstRef.Context().RegistryStr()},
			srcRepo: pullRef.Context(),
			dstRepo: dstRef.Context(),
		},
		res:     ImageResult{Source: p.Source, Destination: p.Destination},
		pullRef: pullRef,
		dstRef:  dstRef,
	}
	j := in.j

	// One HEAD on the destination, sent alongside the source's.
	type head struct {
		desc *v1.Descriptor
		err  error
	}
	dstHead := make(chan head, 1)
	go func() {
		d, err := c.puller.Head(ctx, dstRef)
		dstHead <- head{d, err}
	}()

	// The source digest: free for a digest reference, one HEAD otherwise.
	if d, ok := pullRef.(name.Digest); ok {
		if in.want, err = v1.NewHash(d.DigestStr()); err != nil {
			return nil, err
		}
	} else {
		desc, err := c.puller.Head(ctx, pullRef)
		if err != nil {
			return nil, j.src.wrap("reading "+pullRef.String(), err)
		}
		in.want = desc.Digest
	}
	in.res.SourceDigest = in.want.String()

	// A platform subset is a new index: build it before comparing.
	if len(c.o.platforms) > 0 {
		desc, err := c.puller.Get(ctx, pullRef.Context().Digest(in.want.String()))
		if err != nil {
			return nil, j.src.wrap("reading "+pullRef.String(), err)
		}
		in.top = &rawManifest{raw: desc.Manifest, mt: desc.MediaType}
		if desc.MediaType.IsIndex() {
			raw, err := c.subset(desc.Manifest)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", pullRef, err)
			}
			in.top = &rawManifest{raw: raw, mt: desc.MediaType}
			h, _, err := v1.SHA256(bytes.NewReader(raw))
			if err != nil {
				return nil, err
			}
			if h != in.want {
				in.res.Warnings = append(in.res.Warnings, fmt.Sprintf(
					"copying platforms %s of %s: the destination index digest %s differs from the source's %s",
					platformList(c.o.platforms), p.Source, h, in.want))
			}
			in.want = h
		}
	}
	in.res.Digest = in.want.String()

	if d, ok := dstRef.(name.Digest); ok && d.DigestStr() != in.want.String() {
		return nil, fmt.Errorf("destination digest %s differs from the source's %s: give a tag, or the source's digest", d.DigestStr(), in.want)
	}
	h := <-dstHead
	switch {
	case h.err == nil:
		in.have = h.desc
	case !isNotFound(h.err):
		return nil, j.dst.wrap("checking "+dstRef.String(), h.err)
	}
	return in, nil
}

// Inspection is what the destination holds for one Pair.
type Inspection struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// Digest is what a copy would write: the source digest, or the
	// platform subset's.
	Digest       string `json:"digest,omitempty"`
	SourceDigest string `json:"sourceDigest,omitempty"`
	// DestinationDigest is empty when the destination does not exist.
	DestinationDigest string `json:"destinationDigest,omitempty"`
	Err               error  `json:"-"`
}

// Present reports whether the destination already has the digest.
func (i Inspection) Present() bool {
	return i.Err == nil && i.Digest != "" && i.DestinationDigest == i.Digest
}

// Check looks at every pair without copying: one manifest request to each
// registry per image (plus one handshake per registry). The plan uses it
// to tell ok, missing and drift apart.
func (c *Copier) Check(ctx context.Context, pairs []Pair) []Inspection {
	out := make([]Inspection, len(pairs))
	sem := make(chan struct{}, checkFactor*c.o.concurrency)
	var wg sync.WaitGroup
	for i, p := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = Inspection{Source: p.Source, Destination: p.Destination}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i].Err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			in, err := c.inspect(ctx, p)
			if err != nil {
				out[i].Err = fmt.Errorf("checking %q against %q: %w", p.Source, p.Destination, err)
				return
			}
			out[i].Digest, out[i].SourceDigest = in.res.Digest, in.res.SourceDigest
			if in.have != nil {
				out[i].DestinationDigest = in.have.Digest.String()
			}
		}()
	}
	wg.Wait()
	return out
}

// ErrDrift marks a destination tag that holds a different image than the
// source, left alone without WithOverwrite.
var ErrDrift = errors.New("destination holds a different image")

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
			return c.fail(p, fmt.Errorf("destination has digest %s, the source %s: pass --overwrite to replace it: %w", in.have.Digest, want, ErrDrift))
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
	n, err := c.copyArtifacts(ctx, j, &res)
	if err != nil {
		return c.fail(p, err)
	}
	res.Attached = n
	if err := c.pusher.Put(ctx, in.dstRef, *top); err != nil {
		return c.fail(p, j.dst.wrap("writing "+in.dstRef.String(), err))
	}
	res.Status = StatusCopied
	c.emit(Event{Kind: ImageCopied, Source: p.Source, Destination: p.Destination, Digest: want.String(), Total: j.total.Load()})
	return res
}

func platformList(ps []v1.Platform) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// subset keeps the index children matching a requested platform, and
// nothing else: attestation manifests without a platform go too.
func (c *Copier) subset(raw []byte) ([]byte, error) {
	var idx map[string]json.RawMessage
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("parsing index: %w", err)
	}
	var children []v1.Descriptor
	if err := json.Unmarshal(idx["manifests"], &children); err != nil {
		return nil, fmt.Errorf("parsing index manifests: %w", err)
	}
	var kept []v1.Descriptor
	for _, d := range children {
		if d.Platform == nil {
			continue
		}
		for _, want := range c.o.platforms {
			if d.Platform.Satisfies(want) {
				kept = append(kept, d)
				break
			}
		}
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("no manifest for platforms %s in the index", platformList(c.o.platforms))
	}
	b, err := json.Marshal(kept)
	if err != nil {
		return nil, err
	}
	idx["manifests"] = b
	return json.Marshal(idx)
}

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
		return j.dst.wrap("writing "+ref.String(), err)
	}
	j.addCopied(n.digest)
	return nil
}

func (j *job) addCopied(d v1.Hash) {
	j.copiedMu.Lock()
	defer j.copiedMu.Unlock()
	j.copied = append(j.copied, d)
}

// ensureBlob makes blob b present in the destination repository. The
// first image of a run to need a blob in a destination registry streams
// it from the source; every other repository of that registry mounts it
// from there, after the stream finished.
func (c *Copier) ensureBlob(ctx context.Context, j *job, b v1.Descriptor) error {
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
	ref := b.j.srcRepo.Digest(b.desc.Digest.String())
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

var _ authn.Keychain = configKeychain{}

// SourceRemote is how this copier reads a source: the reference to fetch
// (its registry's mirror, when one is configured; plain HTTP where asked)
// and the remote options (credentials, CA, retries). The signature gate
// reads signatures through it, so it sees what the copy sees.
func (c *Copier) SourceRemote(source string) (name.Reference, []remote.Option, error) {
	ref, err := c.parse(source)
	if err != nil {
		return nil, nil, err
	}
	pull, err := c.pullFrom(ref)
	if err != nil {
		return nil, nil, err
	}
	return pull, []remote.Option{remote.WithAuthFromKeychain(c.o.keychain), remote.WithTransport(c.puller.rt)}, nil
}
