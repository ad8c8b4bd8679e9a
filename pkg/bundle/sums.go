package bundle

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// ErrIncomplete is a bundle with no SHA256SUMS: its export did not finish.
var ErrIncomplete = errors.New("bundle is incomplete")

// CorruptError is a bundle whose files do not match SHA256SUMS: File is
// missing, extra, or holds other bytes than it lists.
type CorruptError struct {
	Dir, File, Problem string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("bundle %q: %s %s", e.Dir, e.File, e.Problem)
}

// sums is the content of SHA256SUMS: hex digest by slash-separated path.
type sums map[string]string

// hashFile returns the hex SHA-256 of the file at path.
func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// hashOf returns the hex SHA-256 of the file rel of fsys.
func hashOf(fsys files, rel string) (string, error) {
	f, err := fsys.open(rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// marshal writes the sums as sha256sum does: "<hex>  <path>", sorted by
// path, so that `sha256sum -c SHA256SUMS` checks a bundle too.
func (s sums) marshal() []byte {
	paths := make([]string, 0, len(s))
	for p := range s {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var b bytes.Buffer
	for _, p := range paths {
		fmt.Fprintf(&b, "%s  %s\n", s[p], p)
	}
	return b.Bytes()
}

func parseSums(dir string, data []byte) (sums, error) {
	out := sums{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		sum, path, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != sha256.Size*2 || !isHex(sum) || !validPath(path) {
			return nil, &CorruptError{Dir: dir, File: SumsFile, Problem: fmt.Sprintf("line %d: want \"<sha256>  <path>\"", n)}
		}
		if hx, ok := strings.CutPrefix(path, BlobsDir+"/"); ok && hx != sum {
			return nil, &CorruptError{Dir: dir, File: SumsFile, Problem: fmt.Sprintf("line %d: %s is listed with another digest than its name", n, path)}
		}
		if _, dup := out[path]; dup {
			return nil, &CorruptError{Dir: dir, File: SumsFile, Problem: fmt.Sprintf("line %d: %s is listed twice", n, path)}
		}
		out[path] = sum
	}
	return out, sc.Err()
}

// validPath keeps SHA256SUMS inside the bundle: relative, slash-separated,
// no "." or ".." element.
func validPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return false
	}
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." || el == ".." {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// check verifies that fsys holds exactly the files s lists, each with its
// digest: the first file that is missing, extra or different is the error.
func (s sums) check(dir string, fsys files, jobs int) error {
	var files []string
	present := map[string]bool{}
	all, err := fsys.list()
	if err != nil {
		return err
	}
	for _, rel := range all {
		if rel == SumsFile {
			continue
		}
		if _, ok := s[rel]; !ok {
			return &CorruptError{Dir: dir, File: rel, Problem: "is not listed in " + SumsFile + " (an extra file)"}
		}
		files = append(files, rel)
		present[rel] = true
	}
	listed := make([]string, 0, len(s))
	for p := range s {
		listed = append(listed, p)
	}
	slices.Sort(listed)
	for _, p := range listed {
		if !present[p] {
			return &CorruptError{Dir: dir, File: p, Problem: "is listed in " + SumsFile + " but missing"}
		}
	}
	return forEach(files, jobs, func(rel string) error {
		got, err := hashOf(fsys, rel)
		if err != nil {
			return fmt.Errorf("bundle %q: reading %s: %w", dir, rel, err)
		}
		if got != s[rel] {
			return &CorruptError{Dir: dir, File: rel, Problem: "does not match its checksum in " + SumsFile}
		}
		return nil
	})
}
