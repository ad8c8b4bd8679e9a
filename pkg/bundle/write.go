package bundle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Contents is what Write puts in a bundle.
type Contents struct {
	// Parent is the ID of the bundle this one follows, if any.
	Parent      string
	ToolVersion string
	// Images are the images to export, each with the digest that was
	// verified; all their platforms, signatures and referrers go along.
	Images []Image
	// Needed is every image the connected side found needed.
	Needed []Needed
	// Releases is the latest-releases snapshot read, if any.
	Releases *Releases
	// TrustedRoot is the trusted_root.json signatures were verified with,
	// if a file was given or it was fetched through TUF.
	TrustedRoot []byte
	// TUF is the TUF metadata the trusted root was fetched with, by file
	// name (N.root.json, timestamp.json, …), written under TUFDir.
	TUF map[string][]byte
	// Inside are needed images the inside holds already (per its lock):
	// named, not carried. Locked is every image that lock names: the
	// config and layer blobs they hold are left out of the bundle and
	// recorded as external.
	Inside []Inside
	Locked []Locked
}

// Stats says what a Write did.
type Stats struct {
	ID     string `json:"id"`
	Images int    `json:"images"`
	// Attached are the signatures, attestations, SBOMs and referrers.
	Attached int `json:"attached"`
	// Blobs and Bytes are what blobs/ holds: every manifest, config and
	// layer once, however many images share it.
	Blobs int   `json:"blobs"`
	Bytes int64 `json:"bytes"`
	// Fetched blobs were read from the registries this run; Kept were
	// there already and hashed to their names; Replaced were there but
	// corrupt or partial, and were removed.
	Fetched      int   `json:"fetched"`
	FetchedBytes int64 `json:"fetchedBytes"`
	Kept         int   `json:"kept"`
	Replaced     int   `json:"replaced"`
	// Inside are the needed images the inside holds already; External
	// and ExternalBytes the blobs left out because it holds them.
	Inside        int      `json:"inside,omitempty"`
	External      int      `json:"external,omitempty"`
	ExternalBytes int64    `json:"externalBytes,omitempty"`
	Warnings      []string `json:"warnings,omitempty"`
}

// ErrNoSpace is returned, before anything is written, when the file
// system holding the bundle has less room than the blobs still to fetch.
var ErrNoSpace = errors.New("not enough free space")

// Write exports c into the directory dir as a bundle (docs/bundle.md).
// Run again on the same directory it resumes: every blob there is hashed,
// kept when it matches its name, and only what is missing or corrupt is
// fetched. SHA256SUMS is removed first and written last, so the bundle is
// refused as incomplete until Write returns without error.
func Write(ctx context.Context, dir string, c Contents, opts ...Option) (*Stats, error) {
	o, err := apply(opts)
	if err != nil {
		return nil, err
	}
	if err := checkTarget(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(BlobsDir)), 0o750); err != nil {
		return nil, fmt.Errorf("creating bundle %q: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, MetaDir), 0o750); err != nil {
		return nil, fmt.Errorf("creating bundle %q: %w", dir, err)
	}
	if err := os.Remove(filepath.Join(dir, SumsFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("bundle %q: %w", dir, err)
	}
	w := &writer{o: o, dir: dir, manifests: map[string]manifestBlob{}, blobs: map[string]blobSource{},
		pullers: map[string]*remote.Puller{}, tags: map[string]*tagList{}, seen: map[string]bool{}}
	st := &Stats{ID: o.newID(), Images: len(c.Images), Inside: len(c.Inside)}

	// Every manifest is read before the first byte is written, so the
	// free space can be checked against what is still to fetch. Images are
	// read concurrently; their index entries keep the images' order.
	outs := make([]imageOut, len(c.Images))
	idx := make([]int, len(c.Images))
	for i := range idx {
		idx[i] = i
	}
	if err := forEach(idx, o.concurrency, func(i int) (err error) {
		outs[i], err = w.addImage(ctx, c.Images[i])
		return err
	}); err != nil {
		return nil, err
	}
	for _, out := range outs {
		for _, e := range out.index {
			w.addIndex(e.desc, e.refName, e.subject)
		}
		for _, warning := range out.warnings {
			if !slices.Contains(st.Warnings, warning) {
				st.Warnings = append(st.Warnings, warning)
			}
		}
	}
	var external []External
	if len(c.Locked) > 0 {
		held, err := w.readLocked(ctx, c.Locked, st)
		if err != nil {
			return nil, err
		}
		external = w.leaveOut(held)
		st.External = len(external)
		for _, e := range external {
			st.ExternalBytes += e.Size
		}
	}
	good, removed, err := scanBlobs(dir, o.concurrency)
	if err != nil {
		return nil, fmt.Errorf("bundle %q: checking the blobs already there: %w", dir, err)
	}
	st.Replaced = len(removed)
	var missing []string
	var need int64
	for hx, m := range w.manifests {
		if _, ok := good[hx]; !ok {
			missing = append(missing, hx)
			need += int64(len(m.raw))
		}
	}
	for hx, b := range w.blobs {
		if _, ok := good[hx]; !ok {
			missing = append(missing, hx)
			need += b.desc.Size
		}
	}
	slices.Sort(missing)
	if err := w.checkSpace(need); err != nil {
		return nil, err
	}
	o.report(Progress{Start: true, Blobs: len(missing), Bytes: need})

	var mu sync.Mutex
	err = forEach(missing, o.concurrency, func(hx string) error {
		n, err := w.fetch(ctx, hx)
		if err != nil {
			return err
		}
		o.report(Progress{Blobs: 1})
		mu.Lock()
		st.Fetched++
		st.FetchedBytes += n
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	for hx := range good {
		if w.wanted(hx) {
			st.Kept++
			continue
		}
		// Left by an earlier export of other images: not part of this one.
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(BlobsDir), hx)); err != nil {
			return nil, fmt.Errorf("bundle %q: %w", dir, err)
		}
	}
	for _, m := range w.manifests {
		st.Bytes += int64(len(m.raw))
	}
	for _, b := range w.blobs {
		st.Bytes += b.desc.Size
	}
	st.Blobs = len(w.manifests) + len(w.blobs)
	st.Attached = len(w.index) - len(c.Images)

	if err := w.writeMeta(c, external, st); err != nil {
		return nil, err
	}
	return st, w.writeSums()
}

// checkTarget refuses to write into a directory that holds something
// other than a bundle: a mistyped path must not mix a bundle into, or
// remove blobs from, a directory of other files.
func checkTarget(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) || len(entries) == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bundle %q: %w", dir, err)
	}
	known := map[string]bool{LayoutFile: true, IndexFile: true, "blobs": true, MetaDir: true, SumsFile: true}
	for _, e := range entries {
		if !known[e.Name()] && !strings.HasSuffix(e.Name(), partialSuffix) {
			return fmt.Errorf("bundle %q: the directory holds %q, so it is not a bundle: write to a new or empty directory", dir, e.Name())
		}
	}
	return nil
}

// manifestBlob is a manifest read, kept as its exact bytes.
type manifestBlob struct {
	raw []byte
	mt  types.MediaType
}

// blobSource is where a config or layer blob is read from.
type blobSource struct {
	repo  name.Repository // as fetched: mirror applied
	desc  v1.Descriptor
	image string // the first image that uses it
}

type writer struct {
	o   *options
	dir string

	// mu guards the maps images are read into, concurrently.
	mu        sync.Mutex
	manifests map[string]manifestBlob
	blobs     map[string]blobSource
	pullers   map[string]*remote.Puller
	tags      map[string]*tagList
	index     []v1.Descriptor
	seen      map[string]bool // index ref names
}

// tagList is a repository's tags, listed once however many images ask.
type tagList struct {
	once sync.Once
	tags map[string]bool
	err  error
}

// imageOut is what reading one image adds to the index, in order, and
// what it warns of.
type imageOut struct {
	index    []indexEntry
	warnings []string
}

type indexEntry struct {
	desc             v1.Descriptor
	refName, subject string
}

func (o *imageOut) add(desc v1.Descriptor, refName, subject string) {
	o.index = append(o.index, indexEntry{desc, refName, subject})
}

func (w *writer) wanted(hx string) bool {
	_, m := w.manifests[hx]
	_, b := w.blobs[hx]
	return m || b
}

// puller keeps one puller per registry, so each is pinged and
// authenticated once.
func (w *writer) puller(reg name.Registry, opts []remote.Option) (*remote.Puller, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p, ok := w.pullers[reg.String()]; ok {
		return p, nil
	}
	p, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, err
	}
	w.pullers[reg.String()] = p
	return p, nil
}

// source is one image or artefact being read: where it is fetched, under
// which name it is recorded.
type source struct {
	pull name.Repository // where it is read (a mirror applied)
	repo name.Repository // its source repository, for ref names
	// image is the image being exported, for the blobs it records.
	image string
	opts  []remote.Option
	p     *remote.Puller
}

func (w *writer) addImage(ctx context.Context, img Image) (imageOut, error) {
	var out imageOut
	ref, err := name.ParseReference(img.Source)
	if err != nil {
		return out, fmt.Errorf("exporting %q: %w", img.Source, err)
	}
	d, err := v1.NewHash(img.Digest)
	if err != nil {
		return out, fmt.Errorf("exporting %q: digest %q: %w", img.Source, img.Digest, err)
	}
	pullRef, ropts, err := w.o.remote(img.Source)
	if err != nil {
		return out, fmt.Errorf("exporting %q: %w", img.Source, err)
	}
	p, err := w.puller(pullRef.Context().Registry, ropts)
	if err != nil {
		return out, err
	}
	src := source{pull: pullRef.Context(), repo: ref.Context(), image: img.Source, opts: ropts, p: p}
	desc, ds, err := w.walk(ctx, src, d, "")
	if err != nil {
		return out, fmt.Errorf("exporting %q: %w", img.Source, err)
	}
	refName := ref.Name()
	if dr, ok := ref.(name.Digest); ok {
		refName = dr.Context().Name() + "@" + dr.DigestStr()
	}
	out.add(desc, refName, "")
	return out, w.addArtifacts(ctx, src, img.Source, ds, &out)
}

// walk reads the manifest d of src and, for an index, every manifest
// under it, recording each manifest and the blobs they name (the first
// image to name a blob is the one it is attributed to). It returns the
// descriptor of d and the digests of every manifest read, d first: those
// signatures and referrers may be attached to.
func (w *writer) walk(ctx context.Context, src source, d v1.Hash, mt types.MediaType) (v1.Descriptor, []v1.Hash, error) {
	var desc v1.Descriptor
	var out []v1.Hash
	err := readTree(ctx, src.p, src.pull, d, mt, func(n treeNode) {
		w.mu.Lock()
		w.manifests[n.digest.Hex] = manifestBlob{raw: n.raw, mt: n.mediaType}
		for _, b := range n.refs.blobs() {
			if _, ok := w.blobs[b.Digest.Hex]; !ok {
				w.blobs[b.Digest.Hex] = blobSource{repo: src.pull, desc: b, image: src.image}
			}
		}
		w.mu.Unlock()
		if len(out) == 0 {
			desc = v1.Descriptor{MediaType: n.mediaType, Digest: n.digest, Size: int64(len(n.raw)), ArtifactType: n.refs.artifactType()}
		}
		out = append(out, n.digest)
	})
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	return desc, out, nil
}

// treeNode is one manifest read by readTree.
type treeNode struct {
	digest    v1.Hash
	mediaType types.MediaType
	raw       []byte
	refs      manifestRefs
}

// readTree reads the manifest d in repo and, for an index, every manifest
// it lists, depth first, calling visit with each before its children. A
// registry that answers with another digest than the one asked for is an
// error. mt, when set, is d's media type as its parent gave it.
func readTree(ctx context.Context, p *remote.Puller, repo name.Repository, d v1.Hash, mt types.MediaType, visit func(treeNode)) error {
	r := repo.Digest(d.String())
	got, err := p.Get(ctx, r)
	if err != nil {
		return fmt.Errorf("reading %s: %w", r, err)
	}
	if got.Digest != d {
		return fmt.Errorf("reading %s: the registry returned %s", r, got.Digest)
	}
	if mt == "" {
		mt = got.MediaType
	}
	var refs manifestRefs
	if err := json.Unmarshal(got.Manifest, &refs); err != nil {
		return fmt.Errorf("parsing manifest %s: %w", d, err)
	}
	visit(treeNode{digest: d, mediaType: mt, raw: got.Manifest, refs: refs})
	for _, ch := range refs.Manifests {
		if err := readTree(ctx, p, repo, ch.Digest, ch.MediaType, visit); err != nil {
			return err
		}
	}
	return nil
}

// addArtifacts records, for every manifest of an image, its cosign
// signature, attestation and SBOM tags and its OCI referrers.
func (w *writer) addArtifacts(ctx context.Context, src source, image string, ds []v1.Hash, out *imageOut) error {
	tags, err := w.listTags(ctx, src)
	if err != nil {
		out.warnings = append(out.warnings, fmt.Sprintf("listing tags of %s to find cosign signatures: %v; signatures stored as tags are not exported", src.pull, err))
	}
	for _, d := range ds {
		for _, suffix := range cosignSuffixes {
			t := strings.Replace(d.String(), ":", "-", 1) + suffix
			if !tags[t] {
				continue
			}
			got, err := src.p.Head(ctx, src.pull.Tag(t))
			if err != nil {
				return fmt.Errorf("exporting %q: reading %s: %w", image, src.pull.Tag(t), err)
			}
			desc, _, err := w.walk(ctx, src, got.Digest, got.MediaType)
			if err != nil {
				return fmt.Errorf("exporting %q: %w", image, err)
			}
			out.add(desc, src.repo.Tag(t).Name(), "")
		}
		subject := src.pull.Digest(d.String())
		idx, err := remote.Referrers(subject, remote.Reuse(src.p), remote.WithContext(ctx))
		if err != nil {
			return fmt.Errorf("exporting %q: listing referrers of %s: %w", image, subject, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return fmt.Errorf("exporting %q: listing referrers of %s: %w", image, subject, err)
		}
		for _, m := range im.Manifests {
			desc, _, err := w.walk(ctx, src, m.Digest, m.MediaType)
			if err != nil {
				return fmt.Errorf("exporting %q: %w", image, err)
			}
			if desc.ArtifactType == "" {
				desc.ArtifactType = m.ArtifactType
			}
			out.add(desc, src.repo.Name()+"@"+m.Digest.String(), d.String())
		}
	}
	return nil
}

func (w *writer) listTags(ctx context.Context, src source) (map[string]bool, error) {
	w.mu.Lock()
	tl, ok := w.tags[src.pull.String()]
	if !ok {
		tl = &tagList{}
		w.tags[src.pull.String()] = tl
	}
	w.mu.Unlock()
	tl.once.Do(func() {
		list, err := src.p.List(ctx, src.pull)
		tl.tags, tl.err = map[string]bool{}, err
		for _, s := range list {
			tl.tags[s] = true
		}
	})
	return tl.tags, tl.err
}

// addIndex adds an entry to index.json, once per ref name.
func (w *writer) addIndex(desc v1.Descriptor, refName, subject string) {
	if w.seen[refName] {
		return
	}
	w.seen[refName] = true
	desc.Annotations = map[string]string{AnnotationRefName: refName}
	if subject != "" {
		desc.Annotations[AnnotationSubject] = subject
	}
	w.index = append(w.index, desc)
}

func (w *writer) checkSpace(need int64) error {
	free, ok, err := w.o.freeSpace(w.dir)
	if err != nil {
		return fmt.Errorf("bundle %q: checking free space: %w", w.dir, err)
	}
	// Room for index.json, the metadata and SHA256SUMS too.
	const margin = 1 << 20
	if ok && uint64(need)+margin > free { //nolint:gosec // need is a sum of sizes, never negative
		return fmt.Errorf("bundle %q: %w: %d bytes still to fetch, %d free", w.dir, ErrNoSpace, need, free)
	}
	return nil
}

// fetch writes the blob or manifest hx, and returns its size.
func (w *writer) fetch(ctx context.Context, hx string) (int64, error) {
	if m, ok := w.manifests[hx]; ok {
		d := v1.Hash{Algorithm: "sha256", Hex: hx}
		return int64(len(m.raw)), writeBlob(w.dir, d, int64(len(m.raw)), w.counted(strings.NewReader(string(m.raw))), false)
	}
	b := w.blobs[hx]
	p := w.pullers[b.repo.Registry.String()]
	ref := b.repo.Digest(b.desc.Digest.String())
	l, err := p.Layer(ctx, ref)
	if err != nil {
		return 0, fmt.Errorf("reading blob %s: %w", ref, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return 0, fmt.Errorf("reading blob %s: %w", ref, err)
	}
	defer rc.Close()
	// The layer stream checks its digest as it ends.
	if err := writeBlob(w.dir, b.desc.Digest, b.desc.Size, w.counted(rc), true); err != nil {
		return 0, fmt.Errorf("%s: %w", ref, err)
	}
	return b.desc.Size, nil
}

// counted reports the bytes read from r as progress.
func (w *writer) counted(r io.Reader) io.Reader {
	if w.o.progress == nil {
		return r
	}
	return &countingReader{r: r, report: w.o.report}
}

type countingReader struct {
	r      io.Reader
	report func(Progress)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.report(Progress{Bytes: int64(n)})
	}
	return n, err
}

// writeMeta writes oci-layout, index.json and the sdr-mirror/ folder.
func (w *writer) writeMeta(c Contents, external []External, st *Stats) error {
	files := map[string]any{
		LayoutFile: map[string]string{"imageLayoutVersion": "1.0.0"},
		IndexFile:  v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: w.index},
		ManifestFile: Manifest{FormatVersion: FormatVersion, ID: st.ID, Parent: c.Parent, Created: w.o.now().UTC().Truncate(time.Second),
			ToolVersion: c.ToolVersion, Images: nonNil(c.Images), Inside: c.Inside, External: external},
		NeededFile: nonNil(c.Needed),
	}
	if c.Releases != nil {
		files[ReleasesFile] = c.Releases
	}
	for rel, v := range files {
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFile(w.dir, rel, append(data, '\n')); err != nil {
			return err
		}
	}
	if err := w.writeTUF(c.TUF); err != nil {
		return err
	}
	trusted := filepath.Join(w.dir, filepath.FromSlash(TrustedRootFile))
	if c.TrustedRoot != nil {
		return writeFile(w.dir, TrustedRootFile, c.TrustedRoot)
	}
	if err := os.Remove(trusted); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if c.Releases == nil {
		if err := os.Remove(filepath.Join(w.dir, filepath.FromSlash(ReleasesFile))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// writeTUF replaces TUFDir with files: what an earlier export into the
// same directory left there is not part of this one.
func (w *writer) writeTUF(files map[string][]byte) error {
	dir := filepath.Join(w.dir, filepath.FromSlash(TUFDir))
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("bundle %q: %w", w.dir, err)
	}
	if len(files) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("bundle %q: %w", w.dir, err)
	}
	for name, data := range files {
		if !validPath(name) || strings.Contains(name, "/") {
			return fmt.Errorf("bundle %q: TUF file name %q: want a file name", w.dir, name)
		}
		if err := writeFile(w.dir, TUFDir+"/"+name, data); err != nil {
			return err
		}
	}
	return nil
}

// writeSums hashes every file of the bundle into SHA256SUMS, written
// last: its presence says the bundle is complete.
func (w *writer) writeSums() error {
	s := sums{}
	for hx := range w.manifests {
		s[BlobsDir+"/"+hx] = hx
	}
	for hx := range w.blobs {
		s[BlobsDir+"/"+hx] = hx
	}
	meta := []string{LayoutFile, IndexFile, ManifestFile, NeededFile, ReleasesFile, TrustedRootFile}
	tuf, err := os.ReadDir(filepath.Join(w.dir, filepath.FromSlash(TUFDir)))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("bundle %q: %w", w.dir, err)
	}
	for _, e := range tuf {
		meta = append(meta, TUFDir+"/"+e.Name())
	}
	for _, rel := range meta {
		sum, _, err := hashFile(filepath.Join(w.dir, filepath.FromSlash(rel)))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("bundle %q: %w", w.dir, err)
		}
		s[rel] = sum
	}
	return writeFile(w.dir, SumsFile, s.marshal())
}

// writeFile replaces dir/rel with data atomically.
func writeFile(dir, rel string, data []byte) error {
	path := filepath.Join(dir, filepath.FromSlash(rel))
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*"+partialSuffix)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// cosignSuffixes are the tags cosign attaches to sha256-<hex>.
var cosignSuffixes = []string{".sig", ".att", ".sbom"}

// manifestRefs is the union of the fields that reference content in image
// manifests, indexes and OCI artefact manifests.
type manifestRefs struct {
	ArtifactType string          `json:"artifactType"`
	Manifests    []v1.Descriptor `json:"manifests"`
	Config       *v1.Descriptor  `json:"config"`
	Layers       []v1.Descriptor `json:"layers"`
	Blobs        []v1.Descriptor `json:"blobs"`
}

func (m manifestRefs) blobs() []v1.Descriptor {
	var out []v1.Descriptor
	if m.Config != nil {
		out = append(out, *m.Config)
	}
	out = append(out, m.Layers...)
	return append(out, m.Blobs...)
}

// artifactType is what the referrers API reports for a manifest: its
// artifactType, else its config's media type.
func (m manifestRefs) artifactType() string {
	if m.ArtifactType != "" {
		return m.ArtifactType
	}
	if m.Config != nil && m.Config.MediaType != types.OCIConfigJSON && m.Config.MediaType != types.DockerConfigJSON {
		return string(m.Config.MediaType)
	}
	return ""
}
