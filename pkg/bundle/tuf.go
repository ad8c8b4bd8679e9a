package bundle

import (
	"fmt"
	"path/filepath"
	"strings"
)

// TUF is the TUF metadata the bundle carries for its trusted_root.json, by
// file name (N.root.json, timestamp.json, …); ok is false when the bundle
// has none. Like every file of the bundle it is only as trustworthy as the
// media it crossed on, until its signatures are checked against an anchor
// from elsewhere.
func (b *Bundle) TUF() (files map[string][]byte, ok bool, err error) {
	for rel := range b.sums {
		name, in := strings.CutPrefix(rel, TUFDir+"/")
		if !in {
			continue
		}
		data, err := readAll(b.files, rel)
		if err != nil {
			return nil, true, fmt.Errorf("bundle %q: reading %s: %w", b.dir, rel, err)
		}
		if files == nil {
			files = map[string][]byte{}
		}
		files[name] = data
	}
	return files, files != nil, nil
}

// Where names a file of the bundle in a message: its path for a directory,
// ARCHIVE:FILE for a tar archive.
func (b *Bundle) Where(rel string) string {
	if _, isDir := b.files.(dirFiles); isDir {
		return filepath.Join(b.dir, filepath.FromSlash(rel))
	}
	return b.dir + ":" + rel
}
