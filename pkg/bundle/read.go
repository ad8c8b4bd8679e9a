package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Bundle is a bundle whose every file was checked against SHA256SUMS.
type Bundle struct {
	dir string
	// files are where its files are read: a directory or a tar archive.
	files files
	// digest is the digest of SHA256SUMS, which names every file and its
	// digest: the bundle's own.
	digest   string
	sums     sums
	manifest Manifest
	needed   []Needed
	releases *Releases
	index    v1.IndexManifest
	// mediaTypes are the media types of every manifest the index reaches.
	mediaTypes map[v1.Hash]types.MediaType
	// homes are the blobs an incremental bundle leaves out, each with
	// the destination repository inside that holds it.
	homes map[v1.Hash]name.Repository
	// refs are the index entries by repository (source registry host
	// included): tags, and referrers by subject digest.
	repos map[string]*repoContent
}

type repoContent struct {
	repo      name.Repository
	tags      map[string]v1.Descriptor
	referrers map[string][]v1.Descriptor
	// inside are the images of an incremental bundle the inside holds
	// already, by tag and by digest: their manifests are not carried.
	inside map[string]Inside
}

// Open checks the bundle in dir before anything is read from it: it must
// be complete (SHA256SUMS present), hold exactly the files SHA256SUMS
// lists with their digests, and every manifest its index names must be
// whole. The error names the first file that is not.
func Open(dir string, opts ...Option) (*Bundle, error) {
	o, err := apply(opts)
	if err != nil {
		return nil, err
	}
	fsys, err := openFiles(dir, o.concurrency)
	if err != nil {
		return nil, err
	}
	b, err := open(dir, fsys, o)
	if err != nil {
		if t, ok := fsys.(*tarFiles); ok {
			err = t.diagnose(err)
		}
		_ = fsys.Close()
		return nil, err
	}
	return b, nil
}

// openFiles opens the bundle at path: a directory, or a tar archive (whole
// or in parts).
func openFiles(path string, jobs int) (files, error) {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return dirFiles{path}, nil
	case err == nil && fi.Mode().IsRegular():
		return openTar(path, jobs)
	case errors.Is(err, os.ErrNotExist):
		if _, perr := os.Stat(path + "." + strings.Repeat("0", PartDigits)); perr == nil {
			return openTar(path, jobs)
		}
		return nil, fmt.Errorf("opening bundle: %w", err)
	case err != nil:
		return nil, fmt.Errorf("opening bundle: %w", err)
	}
	return nil, fmt.Errorf("opening bundle %q: neither a directory nor a tar archive", path)
}

func open(dir string, fsys files, o *options) (*Bundle, error) {
	data, err := readAll(fsys, SumsFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("bundle %q: %w: it has no %s, so its export did not finish (run the export again into the same directory to complete it)", dir, ErrIncomplete, SumsFile)
	}
	if err != nil {
		return nil, fmt.Errorf("opening bundle %q: %w", dir, err)
	}
	s, err := parseSums(dir, data)
	if err != nil {
		return nil, err
	}
	if err := s.check(dir, fsys, o.concurrency); err != nil {
		return nil, err
	}
	b := &Bundle{dir: dir, files: fsys, digest: digestOf(data), sums: s, mediaTypes: map[v1.Hash]types.MediaType{}, repos: map[string]*repoContent{}}
	var layout struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := b.readJSON(LayoutFile, &layout, true); err != nil {
		return nil, err
	}
	if layout.Version != "1.0.0" {
		return nil, &CorruptError{Dir: dir, File: LayoutFile, Problem: fmt.Sprintf("declares layout version %q, want 1.0.0", layout.Version)}
	}
	if err := b.readJSON(IndexFile, &b.index, true); err != nil {
		return nil, err
	}
	if err := b.readJSON(ManifestFile, &b.manifest, true); err != nil {
		return nil, err
	}
	if b.manifest.FormatVersion != FormatVersion {
		return nil, &CorruptError{Dir: dir, File: ManifestFile, Problem: fmt.Sprintf("declares format version %d; this tool reads %d", b.manifest.FormatVersion, FormatVersion)}
	}
	if err := b.readJSON(NeededFile, &b.needed, false); err != nil {
		return nil, err
	}
	if _, ok := s[ReleasesFile]; ok {
		b.releases = &Releases{}
		if err := b.readJSON(ReleasesFile, b.releases, true); err != nil {
			return nil, err
		}
	}
	if err := b.load(); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Bundle) readJSON(rel string, v any, required bool) error {
	if _, ok := b.sums[rel]; !ok {
		if !required {
			return nil
		}
		return &CorruptError{Dir: b.dir, File: rel, Problem: "is missing"}
	}
	data, err := readAll(b.files, rel)
	if err != nil {
		return fmt.Errorf("bundle %q: %w", b.dir, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &CorruptError{Dir: b.dir, File: rel, Problem: fmt.Sprintf("is not valid: %v", err)}
	}
	return nil
}

// load indexes the layout: every index entry by its ref name, every
// manifest it reaches by digest, each blob checked to be present.
func (b *Bundle) load() error {
	if err := b.loadIncremental(); err != nil {
		return err
	}
	for i, d := range b.index.Manifests {
		refName := d.Annotations[AnnotationRefName]
		where := fmt.Sprintf("entry %d", i)
		ref, err := name.ParseReference(refName, name.StrictValidation)
		if err != nil {
			return &CorruptError{Dir: b.dir, File: IndexFile, Problem: fmt.Sprintf("%s: %s %q is not a full reference", where, AnnotationRefName, refName)}
		}
		if err := b.walk(d, refName); err != nil {
			return err
		}
		rc := b.repo(ref.Context())
		switch r := ref.(type) {
		case name.Tag:
			rc.tags[r.TagStr()] = d
		case name.Digest:
			if s := d.Annotations[AnnotationSubject]; s != "" {
				rc.referrers[s] = append(rc.referrers[s], d)
			}
		}
	}
	for _, img := range b.manifest.Images {
		if got, ok := b.Lookup(img.Source); !ok || got.Digest != img.Digest {
			return &CorruptError{Dir: b.dir, File: ManifestFile, Problem: fmt.Sprintf("lists %s at %s, which %s does not hold", img.Source, img.Digest, IndexFile)}
		}
	}
	return nil
}

func (b *Bundle) repo(r name.Repository) *repoContent {
	rc, ok := b.repos[r.Name()]
	if !ok {
		rc = &repoContent{repo: r, tags: map[string]v1.Descriptor{}, referrers: map[string][]v1.Descriptor{}, inside: map[string]Inside{}}
		b.repos[r.Name()] = rc
	}
	return rc
}

// walk checks that the manifest d and everything it references are in
// the bundle, recording each manifest's media type.
func (b *Bundle) walk(d v1.Descriptor, refName string) error {
	if _, seen := b.mediaTypes[d.Digest]; seen {
		return nil
	}
	rel := BlobsDir + "/" + d.Digest.Hex
	if _, ok := b.sums[rel]; !ok || d.Digest.Algorithm != "sha256" {
		return &CorruptError{Dir: b.dir, File: rel, Problem: fmt.Sprintf("is missing (a manifest of %s)", refName)}
	}
	data, err := readAll(b.files, rel)
	if err != nil {
		return fmt.Errorf("bundle %q: %w", b.dir, err)
	}
	var refs manifestRefs
	if err := json.Unmarshal(data, &refs); err != nil {
		return &CorruptError{Dir: b.dir, File: rel, Problem: fmt.Sprintf("is not a manifest (of %s): %v", refName, err)}
	}
	b.mediaTypes[d.Digest] = d.MediaType
	for _, bl := range refs.blobs() {
		r := BlobsDir + "/" + bl.Digest.Hex
		if _, ext := b.homes[bl.Digest]; ext {
			continue
		}
		if _, ok := b.sums[r]; !ok || bl.Digest.Algorithm != "sha256" {
			return &CorruptError{Dir: b.dir, File: r, Problem: fmt.Sprintf("is missing (a blob of %s)", refName)}
		}
	}
	for _, ch := range refs.Manifests {
		if err := b.walk(ch, refName); err != nil {
			return err
		}
	}
	return nil
}

// openBlob reads the blob or manifest d.
func (b *Bundle) openBlob(d v1.Hash) (io.ReadSeekCloser, error) {
	return b.files.open(BlobsDir + "/" + d.Hex)
}

// OpenBlob opens the config or layer blob d when the bundle holds it; ok
// is false for one it does not (an external blob).
func (b *Bundle) OpenBlob(d v1.Hash) (rc io.ReadCloser, ok bool, err error) {
	if _, held := b.sums[BlobsDir+"/"+d.Hex]; !held || d.Algorithm != "sha256" {
		return nil, false, nil
	}
	f, err := b.openBlob(d)
	if err != nil {
		return nil, false, fmt.Errorf("bundle %q: %w", b.dir, err)
	}
	return f, true, nil
}

// Dir is where the bundle is: its directory, or its tar archive.
func (b *Bundle) Dir() string { return b.dir }

// Close releases the files the bundle holds open.
func (b *Bundle) Close() error { return b.files.Close() }

// Digest is the bundle's digest, sha256:<hex> of its SHA256SUMS, which
// names every file and its digest.
func (b *Bundle) Digest() string { return b.digest }

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Manifest is the bundle's sdr-mirror/bundle.json.
func (b *Bundle) Manifest() Manifest { return b.manifest }

// Needed is the needed set the connected side found.
func (b *Bundle) Needed() []Needed { return b.needed }

// Releases is the latest-releases snapshot; nil when none was read.
func (b *Bundle) Releases() *Releases { return b.releases }

// TrustedRoot is the bundle's own trusted_root.json, if it has one, and
// where it is (for messages). It is only as trustworthy as the media the
// bundle crossed on.
func (b *Bundle) TrustedRoot() (data []byte, where string, ok bool, err error) {
	if _, ok := b.sums[TrustedRootFile]; !ok {
		return nil, "", false, nil
	}
	where = b.Where(TrustedRootFile)
	data, err = readAll(b.files, TrustedRootFile)
	return data, where, true, err
}

// Lookup finds source among the images bundle.json lists: by tag, or by
// digest for a digest reference. It returns the image with the digest the
// bundle holds for it; signatures and referrers are not images.
func (b *Bundle) Lookup(source string) (Image, bool) {
	ref, err := name.ParseReference(source)
	if err != nil {
		return Image{}, false
	}
	rc, ok := b.repos[ref.Context().Name()]
	if !ok {
		return Image{}, false
	}
	var d v1.Hash
	switch r := ref.(type) {
	case name.Tag:
		desc, ok := rc.tags[r.TagStr()]
		if !ok {
			return Image{}, false
		}
		d = desc.Digest
	case name.Digest:
		h, err := v1.NewHash(r.DigestStr())
		if err != nil {
			return Image{}, false
		}
		if _, ok := b.mediaTypes[h]; !ok {
			return Image{}, false
		}
		d = h
	}
	for _, img := range b.manifest.Images {
		if img.Digest != d.String() {
			continue
		}
		if r, err := name.ParseReference(img.Source); err == nil && r.Context().Name() == ref.Context().Name() {
			img.Source = source
			return img, true
		}
	}
	return Image{}, false
}
