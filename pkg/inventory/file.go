package inventory

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
)

// FileImage is one image read from an images file.
type FileImage struct {
	Image string
	Line  int
}

// Why is the reason recorded for an image from the file named name.
func (f FileImage) Why(name string) string { return fmt.Sprintf("file:%s:%d", name, f.Line) }

// maxImagesFileLine bounds one line of an images file.
const maxImagesFileLine = 4096

// ReadImagesFile reads one image reference per line; blank lines and
// everything after '#' are ignored. The first bad line is an error naming
// name and the line.
func ReadImagesFile(r io.Reader, name string) ([]FileImage, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), maxImagesFileLine)
	var out []FileImage
	n := 1
	for ; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if _, err := imagemap.ParseReference(line); err != nil {
			return nil, fmt.Errorf("images file %q: line %d: %w", name, n, err)
		}
		out = append(out, FileImage{Image: line, Line: n})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("images file %q: line %d: longer than %d bytes; write one image reference per line", name, n, maxImagesFileLine)
		}
		return nil, fmt.Errorf("images file %q: line %d: %w", name, n, err)
	}
	return out, nil
}

// Duplicates splits images into the first listing of each reference and
// the later listings of one already listed, each skipped with the line it
// repeats.
func Duplicates(images []FileImage, name string) (first []FileImage, skipped []Skipped) {
	seen := map[string]int{}
	for _, f := range images {
		if line, ok := seen[f.Image]; ok {
			skipped = append(skipped, Skipped{Image: f.Image, Why: f.Why(name), Reason: fmt.Sprintf("duplicate of line %d", line)})
			continue
		}
		seen[f.Image] = f.Line
		first = append(first, f)
	}
	return first, skipped
}

// AddFileImages records images read from the images file called name.
func (inv *Inventory) AddFileImages(name string, images []FileImage) {
	for _, f := range images {
		inv.Add(f.Image, f.Why(name))
	}
}
