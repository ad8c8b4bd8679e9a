package bundle

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// servedDigest reads source's digest and one of its layers through the
// registry Serve puts in front of b, as the copy engine would.
func servedDigest(t *testing.T, b *Bundle, source string) string {
	t.Helper()
	srv, err := b.Serve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ref, err := name.ParseReference(source)
	if err != nil {
		t.Fatal(err)
	}
	served, err := name.ParseReference(srv.Mirrors()[ref.Context().RegistryStr()]+"/"+ref.Context().RepositoryStr()+":"+ref.Identifier(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(served, remote.WithAuth(authn.Anonymous))
	if err != nil {
		t.Fatalf("reading %s from the served bundle: %v", source, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatalf("reading a layer of %s from the served bundle: %v", source, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestPackTar: a bundle packed into one tar archive is read in place, with
// SHA256SUMS last, and serves the same images.
func TestPackTar(t *testing.T) {
	_, dir, images := exported(t)
	archive := filepath.Join(t.TempDir(), "bundle.tar")
	files, err := Pack(dir, archive, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0] != archive {
		t.Errorf("Pack wrote %q, want %s only", files, archive)
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(f)
	var last string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		last = h.Name
	}
	_ = f.Close()
	if last != SumsFile {
		t.Errorf("the archive ends with %s, want %s", last, SumsFile)
	}
	b, err := Open(archive)
	if err != nil {
		t.Fatalf("Open(%s): %v", archive, err)
	}
	defer b.Close()
	for _, img := range images {
		if got := servedDigest(t, b, img.Source); got != img.Digest {
			t.Errorf("served %s at %s, want %s", img.Source, got, img.Digest)
		}
	}
	if data, _, ok, err := b.TrustedRoot(); !ok || err != nil || len(data) == 0 {
		t.Errorf("the archive's trusted root: %d bytes, %v, %v", len(data), ok, err)
	}
}

// TestPackSplit: split into parts, each with its checksum, the bundle is
// read in place by its name or its first part; a damaged, missing or
// unchecked part is refused, naming it.
func TestPackSplit(t *testing.T) {
	_, dir, images := exported(t)
	out := t.TempDir()
	archive := filepath.Join(out, "bundle.tar")
	files, err := Pack(dir, archive, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 || files[0] != archive+".000" || files[1] != archive+".000"+ChecksumSuffix {
		t.Fatalf("Pack wrote %q, want at least two parts of 64 KiB, each with its checksum", files)
	}
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 64<<10 {
			t.Errorf("%s holds %d bytes, more than the split size", p, fi.Size())
		}
	}
	for _, open := range []string{archive, archive + ".000"} {
		b, err := Open(open)
		if err != nil {
			t.Fatalf("Open(%s): %v", open, err)
		}
		if got := servedDigest(t, b, images[1].Source); got != images[1].Digest {
			t.Errorf("served %s at %s, want %s", images[1].Source, got, images[1].Digest)
		}
		_ = b.Close()
	}

	damaged := func(name string, change func(t *testing.T, dir string) string) {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			for _, p := range files {
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				writeTest(t, filepath.Join(d, filepath.Base(p)), data)
			}
			want := change(t, d)
			_, err := Open(filepath.Join(d, "bundle.tar"))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Open: %v, want an error containing %q", err, want)
			}
		})
	}
	damaged("a flipped byte", func(t *testing.T, d string) string {
		p := filepath.Join(d, "bundle.tar.001")
		data, _ := os.ReadFile(p)
		data[len(data)/2] ^= 1
		writeTest(t, p, data)
		return "bundle.tar.001 does not match its checksum in bundle.tar.001.sha256"
	})
	damaged("a missing checksum", func(t *testing.T, d string) string {
		if err := os.Remove(filepath.Join(d, "bundle.tar.000.sha256")); err != nil {
			t.Fatal(err)
		}
		return "bundle.tar.000.sha256 is missing"
	})
	damaged("a missing last part", func(t *testing.T, d string) string {
		last := files[len(files)-2]
		if err := os.Remove(filepath.Join(d, filepath.Base(last))); err != nil {
			t.Fatal(err)
		}
		return "ends inside a file: it was cut short, or a part of it is missing"
	})
	// A shorter export into the same name leaves no stale part behind.
	if _, err := Pack(dir, archive, 4<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(archive + ".002"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a part of the earlier, longer export is left: %v", err)
	}
	if b, err := Open(archive); err != nil {
		t.Errorf("Open after a shorter export: %v", err)
	} else {
		_ = b.Close()
	}
}
