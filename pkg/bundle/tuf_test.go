package bundle

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTUFFiles: the TUF metadata an export fetched travels under
// sdr-mirror/tuf/, checked against SHA256SUMS like every file, in a
// directory or an archive; a rerun without it leaves none behind.
func TestTUFFiles(t *testing.T) {
	ctx := context.Background()
	src := newSource(t)
	a := src.push(t, "atlanhq/a")
	src.signClassic(t, a)
	tuf := map[string][]byte{"2.root.json": []byte(`{"root":2}`), "3.root.json": []byte(`{"root":3}`),
		"timestamp.json": []byte(`{"t":1}`), "snapshot.json": []byte(`{"s":1}`), "targets.json": []byte(`{"g":1}`)}
	c := Contents{Images: []Image{{Source: tagOf(a), Digest: a.DigestStr()}}, TrustedRoot: src.trustedRoot(t), TUF: tuf}
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, err := Write(ctx, dir, c); err != nil {
		t.Fatal(err)
	}
	sums, err := os.ReadFile(filepath.Join(dir, SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sums), "  "+TUFDir+"/2.root.json\n") {
		t.Errorf("SHA256SUMS does not list %s/2.root.json:\n%s", TUFDir, sums)
	}
	archive := filepath.Join(t.TempDir(), "bundle.tar")
	if _, err := Pack(dir, archive, 0); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, archive} {
		b, err := Open(path)
		if err != nil {
			t.Fatalf("Open(%s): %v", path, err)
		}
		got, ok, err := b.TUF()
		_ = b.Close()
		if err != nil || !ok || !maps.EqualFunc(got, tuf, func(x, y []byte) bool { return string(x) == string(y) }) {
			t.Errorf("Open(%s).TUF() = %q, %v, %v; want the files written", path, got, ok, err)
		}
	}

	// A changed file is refused, naming it, before anything is read.
	flipped := filepath.Join(dir, filepath.FromSlash(TUFDir), "timestamp.json")
	writeTest(t, flipped, []byte(`{"t":2}`))
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), TUFDir+"/timestamp.json does not match its checksum") {
		t.Errorf("Open of a bundle with a changed TUF file: %v, want it named", err)
	}

	c.TUF = nil
	if _, err := Write(ctx, dir, c); err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got, ok, err := b.TUF(); ok || err != nil {
		t.Errorf("after a rerun without TUF metadata, TUF() = %q, %v, %v; want none", got, ok, err)
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(TUFDir))); !os.IsNotExist(err) {
		t.Errorf("the rerun left %s: %v", TUFDir, err)
	}
}

func TestTUFFileNames(t *testing.T) {
	src := newSource(t)
	a := src.push(t, "atlanhq/a")
	c := Contents{Images: []Image{{Source: tagOf(a), Digest: a.DigestStr()}}, TUF: map[string][]byte{"../x.json": nil}}
	if _, err := Write(context.Background(), t.TempDir(), c); err == nil || !strings.Contains(err.Error(), `TUF file name "../x.json"`) {
		t.Errorf("Write of a TUF file named ../x.json: %v, want it refused", err)
	}
}
