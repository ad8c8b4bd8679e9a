package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// files is where a bundle's files are read from: a directory, or a tar
// archive (one file, or split into parts) read in place, never extracted.
type files interface {
	// list returns every file's slash-separated path, and the first entry
	// that is not a regular file, as a CorruptError.
	list() ([]string, error)
	// open reads one file.
	open(rel string) (io.ReadSeekCloser, error)
	// Close releases what the files hold open.
	Close() error
}

func readAll(fs files, rel string) ([]byte, error) {
	f, err := fs.open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// dirFiles is a bundle in a directory.
type dirFiles struct{ dir string }

func (d dirFiles) list() ([]string, error) {
	var out []string
	err := filepath.WalkDir(d.dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.dir, path)
		rel = filepath.ToSlash(rel)
		switch {
		case e.IsDir():
			return nil
		case !e.Type().IsRegular():
			return &CorruptError{Dir: d.dir, File: rel, Problem: "is not a regular file"}
		}
		out = append(out, rel)
		return nil
	})
	return out, err
}

func (d dirFiles) open(rel string) (io.ReadSeekCloser, error) {
	return os.Open(filepath.Join(d.dir, filepath.FromSlash(rel)))
}

func (dirFiles) Close() error { return nil }

// PartSuffix is how the parts of a split tar bundle are named:
// NAME.000, NAME.001, …, each with its checksum beside it in
// NAME.000.sha256 (sha256sum's format).
const (
	PartDigits     = 3
	ChecksumSuffix = ".sha256"
)

// tarFiles is a bundle in a tar archive, whole or in parts, indexed once:
// each file is a section of the archive.
type tarFiles struct {
	name string
	// split lists the parts of a split archive, whose checksums name a
	// damaged part (see diagnose); nil for a whole archive.
	split []string
	jobs  int
	parts []*os.File
	whole io.ReaderAt
	index map[string]section
	order []string
	bad   error
}

type section struct{ off, size int64 }

// openTar indexes the tar bundle at path: the archive itself, or, when
// path names a split bundle (NAME or NAME.000), its parts in order, each
// checked against its own checksum first.
func openTar(path string, jobs int) (*tarFiles, error) {
	paths, err := tarParts(path)
	if err != nil {
		return nil, err
	}
	t := &tarFiles{name: path, index: map[string]section{}, jobs: jobs}
	if len(paths) > 1 || strings.HasSuffix(paths[0], "."+strings.Repeat("0", PartDigits)) {
		t.split = paths
		if err := checkParts(path, paths, jobs, false); err != nil {
			return nil, err
		}
	}
	var readers []sizedReaderAt
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			_ = t.Close()
			return nil, fmt.Errorf("opening bundle: %w", err)
		}
		t.parts = append(t.parts, f)
		fi, err := f.Stat()
		if err != nil {
			_ = t.Close()
			return nil, fmt.Errorf("opening bundle: %w", err)
		}
		readers = append(readers, sizedReaderAt{f, fi.Size()})
	}
	m := newMultiReaderAt(readers)
	t.whole = m
	if err := t.load(io.NewSectionReader(m, 0, m.size)); err != nil {
		_ = t.Close()
		return nil, t.diagnose(err)
	}
	return t, nil
}

// diagnose names the damaged part of a split archive in place of err, the
// first problem found reading it. The parts are hashed only then: on a
// sound bundle SHA256SUMS checks every byte of content once.
func (t *tarFiles) diagnose(err error) error {
	if t.split == nil {
		return err
	}
	if perr := checkParts(t.name, t.split, t.jobs, true); perr != nil {
		return perr
	}
	return err
}

// tarParts finds the files of the tar bundle at path: path itself, or
// NAME.000, NAME.001, … when path is NAME.000 or NAME has parts.
func tarParts(path string) ([]string, error) {
	base := path
	first := "." + strings.Repeat("0", PartDigits)
	if b, ok := strings.CutSuffix(path, first); ok {
		base = b
	} else if _, err := os.Stat(path + first); err != nil {
		return []string{path}, nil
	}
	var out []string
	for i := 0; ; i++ {
		p := fmt.Sprintf("%s.%0*d", base, PartDigits, i)
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, os.ErrNotExist) && i > 0 {
				return out, nil
			}
			return nil, fmt.Errorf("opening bundle: %w", err)
		}
		out = append(out, p)
	}
}

// checkParts checks that each part has its NAME.NNN.sha256 and, when
// hash is set, that the part matches it: a part damaged in transit is
// named.
func checkParts(bundle string, parts []string, jobs int, hash bool) error {
	return forEach(parts, jobs, func(p string) error {
		data, err := os.ReadFile(p + ChecksumSuffix)
		if errors.Is(err, os.ErrNotExist) {
			return &CorruptError{Dir: bundle, File: filepath.Base(p) + ChecksumSuffix, Problem: "is missing (each part carries its checksum)"}
		}
		if err != nil {
			return fmt.Errorf("bundle %q: %w", bundle, err)
		}
		sum, name, ok := strings.Cut(strings.TrimSpace(string(data)), "  ")
		if !ok || name != filepath.Base(p) || len(sum) != sha256.Size*2 || !isHex(sum) {
			return &CorruptError{Dir: bundle, File: filepath.Base(p) + ChecksumSuffix, Problem: fmt.Sprintf("is not \"<sha256>  %s\"", filepath.Base(p))}
		}
		if !hash {
			return nil
		}
		got, _, err := hashFile(p)
		if err != nil {
			return fmt.Errorf("bundle %q: %w", bundle, err)
		}
		if got != sum {
			return &CorruptError{Dir: bundle, File: filepath.Base(p), Problem: "does not match its checksum in " + filepath.Base(p) + ChecksumSuffix}
		}
		return nil
	})
}

// load reads the archive's headers, recording where each file's bytes are.
func (t *tarFiles) load(r *io.SectionReader) error {
	pr := &posReader{r: r}
	tr := tar.NewReader(pr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return &CorruptError{Dir: t.name, File: "the archive", Problem: "ends inside a file: it was cut short, or a part of it is missing"}
		}
		if err != nil {
			return &CorruptError{Dir: t.name, File: "the archive", Problem: fmt.Sprintf("is not a tar archive: %v", err)}
		}
		rel := strings.TrimPrefix(h.Name, "./")
		switch {
		case h.Typeflag == tar.TypeDir:
			continue
		case h.Typeflag != tar.TypeReg:
			if t.bad == nil {
				t.bad = &CorruptError{Dir: t.name, File: rel, Problem: "is not a regular file"}
			}
			continue
		case !validPath(rel):
			return &CorruptError{Dir: t.name, File: h.Name, Problem: "is not a path inside the bundle"}
		}
		if _, dup := t.index[rel]; dup {
			return &CorruptError{Dir: t.name, File: rel, Problem: "is in the archive twice"}
		}
		t.index[rel] = section{off: pr.pos, size: h.Size}
		t.order = append(t.order, rel)
	}
}

func (t *tarFiles) list() ([]string, error) {
	if t.bad != nil {
		return nil, t.bad
	}
	return slices.Clone(t.order), nil
}

func (t *tarFiles) open(rel string) (io.ReadSeekCloser, error) {
	s, ok := t.index[rel]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: rel, Err: fs.ErrNotExist}
	}
	return nopCloser{io.NewSectionReader(t.whole, s.off, s.size)}, nil
}

func (t *tarFiles) Close() error {
	var errs []error
	for _, f := range t.parts {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

type nopCloser struct{ io.ReadSeeker }

func (nopCloser) Close() error { return nil }

// posReader tracks the offset tar.Reader has reached, through reads and
// the seeks it skips file contents with.
type posReader struct {
	r   io.ReadSeeker
	pos int64
}

func (p *posReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.pos += int64(n)
	return n, err
}

func (p *posReader) Seek(off int64, whence int) (int64, error) {
	n, err := p.r.Seek(off, whence)
	if err == nil {
		p.pos = n
	}
	return n, err
}

type sizedReaderAt struct {
	r    io.ReaderAt
	size int64
}

// multiReaderAt reads parts as one.
type multiReaderAt struct {
	parts []sizedReaderAt
	size  int64
}

func newMultiReaderAt(parts []sizedReaderAt) *multiReaderAt {
	m := &multiReaderAt{parts: parts}
	for _, p := range parts {
		m.size += p.size
	}
	return m
}

func (m *multiReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n := 0
	for _, p := range m.parts {
		if len(b) == 0 {
			break
		}
		if off >= p.size {
			off -= p.size
			continue
		}
		k, err := p.r.ReadAt(b[:min(int64(len(b)), p.size-off)], off)
		n += k
		b = b[k:]
		off = 0
		if err != nil && !errors.Is(err, io.EOF) {
			return n, err
		}
	}
	if len(b) > 0 {
		return n, io.EOF
	}
	return n, nil
}

// StagingSuffix names the directory an archive bundle is written in
// before it is packed: PATH.staging, kept between runs so that an
// interrupted export resumes.
const StagingSuffix = ".staging"

// Pack packs the bundle Write completed in dir into the tar archive at
// path, or, when split > 0, into parts of at most split bytes (PATH.000,
// PATH.001, …), each with its checksum in PATH.NNN.sha256. Write has just
// hashed every file, so they are not hashed again; a bundle without
// SHA256SUMS (an unfinished Write) is refused. It returns the files
// written.
func Pack(dir, path string, split int64) ([]string, error) {
	if _, err := os.Stat(filepath.Join(dir, SumsFile)); err != nil {
		return nil, fmt.Errorf("bundle %q: %w: it has no %s, so its export did not finish", dir, ErrIncomplete, SumsFile)
	}
	return writeTar(dir, path, split)
}

// writeTar packs the bundle in dir into the archive at path, or into parts
// of at most split bytes (NAME.000, … with NAME.NNN.sha256 each) when
// split > 0: SHA256SUMS last, the others in a fixed order. Each file is
// written under a temporary name and renamed when whole. It returns the
// files written.
func writeTar(dir, path string, split int64) ([]string, error) {
	fsys := dirFiles{dir}
	names, err := fsys.list()
	if err != nil {
		return nil, err
	}
	slices.SortFunc(names, func(a, b string) int { return tarRank(a) - tarRank(b) })
	if i := slices.Index(names, SumsFile); i >= 0 {
		names = append(append(names[:i:i], names[i+1:]...), SumsFile)
	}
	out := &partWriter{base: path, split: split}
	tw := tar.NewWriter(out)
	for _, rel := range names {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			out.abort()
			return nil, err
		}
		fi, err := f.Stat()
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: fi.Size(), Typeflag: tar.TypeReg, Format: tar.FormatPAX})
		}
		if err == nil {
			_, err = io.Copy(tw, bufio.NewReader(f))
		}
		_ = f.Close()
		if err != nil {
			out.abort()
			return nil, fmt.Errorf("writing bundle %q: %w", path, err)
		}
	}
	if err := tw.Close(); err != nil {
		out.abort()
		return nil, fmt.Errorf("writing bundle %q: %w", path, err)
	}
	written, err := out.finish()
	if err != nil {
		return nil, fmt.Errorf("writing bundle %q: %w", path, err)
	}
	return written, nil
}

// tarRank orders an archive: the layout marker, the metadata, the index,
// then the blobs by name.
func tarRank(rel string) int {
	switch {
	case rel == LayoutFile:
		return 0
	case strings.HasPrefix(rel, MetaDir+"/"):
		return 1
	case rel == IndexFile:
		return 2
	}
	return 3
}

// partWriter writes one archive, or parts of at most split bytes.
type partWriter struct {
	base  string
	split int64

	cur     *os.File
	curName string
	curSize int64
	hash    hash.Hash
	temps   []string // temporary names, in order
	finals  []string
}

func (w *partWriter) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		if w.cur == nil || (w.split > 0 && w.curSize == w.split) {
			if err := w.next(); err != nil {
				return n, err
			}
		}
		k := int64(len(b))
		if w.split > 0 {
			k = min(k, w.split-w.curSize)
		}
		m, err := w.cur.Write(b[:k])
		n += m
		w.curSize += int64(m)
		w.hash.Write(b[:m])
		if err != nil {
			return n, err
		}
		b = b[m:]
	}
	return n, nil
}

func (w *partWriter) next() error {
	if err := w.closePart(); err != nil {
		return err
	}
	final := w.base
	if w.split > 0 {
		final = fmt.Sprintf("%s.%0*d", w.base, PartDigits, len(w.finals))
	}
	f, err := os.CreateTemp(filepath.Dir(final), "."+filepath.Base(final)+"-*"+partialSuffix)
	if err != nil {
		return err
	}
	w.cur, w.curName, w.curSize = f, final, 0
	w.hash = sha256.New()
	w.temps = append(w.temps, f.Name())
	w.finals = append(w.finals, final)
	return nil
}

func (w *partWriter) closePart() error {
	if w.cur == nil {
		return nil
	}
	if err := w.cur.Sync(); err != nil {
		return err
	}
	if err := w.cur.Close(); err != nil {
		return err
	}
	if w.split > 0 {
		line := hex.EncodeToString(w.hash.Sum(nil)) + "  " + filepath.Base(w.curName) + "\n"
		if err := writeFileAtomic(w.curName+ChecksumSuffix, []byte(line)); err != nil {
			return err
		}
	}
	w.cur = nil
	return nil
}

func (w *partWriter) abort() {
	if w.cur != nil {
		_ = w.cur.Close()
	}
	for _, t := range w.temps {
		_ = os.Remove(t)
	}
}

// finish closes the last part and renames every part into place.
func (w *partWriter) finish() ([]string, error) {
	if w.cur == nil {
		if err := w.next(); err != nil {
			return nil, err
		}
	}
	if err := w.closePart(); err != nil {
		w.abort()
		return nil, err
	}
	var out []string
	for i, t := range w.temps {
		if err := os.Rename(t, w.finals[i]); err != nil {
			w.abort()
			return nil, err
		}
		out = append(out, w.finals[i])
		if w.split > 0 {
			out = append(out, w.finals[i]+ChecksumSuffix)
		}
	}
	// Parts an earlier, longer export left would be read as part of this
	// archive: remove them. A whole archive leaves no parts beside it.
	first := 0
	if w.split > 0 {
		first = len(w.finals)
	}
	for i := first; ; i++ {
		p := fmt.Sprintf("%s.%0*d", w.base, PartDigits, i)
		if err := os.Remove(p); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				break
			}
			return nil, err
		}
		_ = os.Remove(p + ChecksumSuffix)
	}
	if w.split > 0 {
		_ = os.Remove(w.base)
	}
	return out, nil
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*"+partialSuffix)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, bytes.NewReader(data)); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}
