package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// partialSuffix marks a blob being written; it is renamed to its digest
// only once its bytes hash to it.
const partialSuffix = ".partial"

// blobPath is where the blob with digest d lives in the layout at dir.
func blobPath(dir string, d v1.Hash) string {
	return filepath.Join(dir, filepath.FromSlash(BlobsDir), d.Hex)
}

// writeBlob writes what r yields as the blob with digest d and size size:
// to a temporary name, hashed as it is written, synced, then renamed. A
// stream that does not hash to d, or is not size bytes long, leaves
// nothing behind. A reader that checks the digest itself, failing its
// last read when the bytes do not match (go-containerregistry's blob
// streams do), is not hashed a second time: verified says so.
func writeBlob(dir string, d v1.Hash, size int64, r io.Reader, verified bool) (err error) {
	if d.Algorithm != "sha256" {
		return fmt.Errorf("blob %s: only sha256 digests are supported", d)
	}
	final := blobPath(dir, d)
	f, err := os.CreateTemp(filepath.Dir(final), "."+d.Hex+"-*"+partialSuffix)
	if err != nil {
		return fmt.Errorf("writing blob %s: %w", d, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	var w io.Writer = f
	h := sha256.New()
	if !verified {
		w = io.MultiWriter(f, h)
	}
	n, err := io.Copy(w, r)
	if err != nil {
		return fmt.Errorf("writing blob %s: %w", d, err)
	}
	if !verified {
		if got := hex.EncodeToString(h.Sum(nil)); got != d.Hex {
			return fmt.Errorf("writing blob %s: the bytes read hash to sha256:%s", d, got)
		}
	}
	if size >= 0 && n != size {
		return fmt.Errorf("writing blob %s: read %d bytes, want %d", d, n, size)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing blob %s: %w", d, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing blob %s: %w", d, err)
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return fmt.Errorf("writing blob %s: %w", d, err)
	}
	return nil
}

// scanBlobs re-hashes every blob already in the layout at dir, as a rerun
// finds them: a blob whose bytes hash to its name is kept (returned, with
// its size); anything else there — a corrupt blob, a partial write — is
// removed, to be fetched again. Nothing is trusted by its size.
func scanBlobs(dir string, jobs int) (good map[string]int64, removed []string, err error) {
	blobs := filepath.Join(dir, filepath.FromSlash(BlobsDir))
	entries, err := os.ReadDir(blobs)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]int64{}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	good = map[string]int64{}
	var bad []string
	type verdict struct {
		ok   bool
		size int64
	}
	verdicts := make([]verdict, len(names))
	idx := map[string]int{}
	for i, n := range names {
		idx[n] = i
	}
	err = forEach(names, jobs, func(n string) error {
		p := filepath.Join(blobs, n)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() || strings.HasSuffix(n, partialSuffix) || len(n) != sha256.Size*2 {
			return nil
		}
		sum, size, err := hashFile(p)
		if err != nil {
			return err
		}
		verdicts[idx[n]] = verdict{ok: sum == n, size: size}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for i, n := range names {
		if verdicts[i].ok {
			good[n] = verdicts[i].size
			continue
		}
		bad = append(bad, n)
	}
	for _, n := range bad {
		if err := os.RemoveAll(filepath.Join(blobs, n)); err != nil {
			return nil, nil, err
		}
	}
	return good, bad, nil
}

// forEach runs fn on every item, at most jobs at once, and returns the
// first error.
func forEach[T any](items []T, jobs int, fn func(T) error) error {
	var g errgroup.Group
	g.SetLimit(max(jobs, 1))
	for _, it := range items {
		g.Go(func() error { return fn(it) })
	}
	return g.Wait()
}
