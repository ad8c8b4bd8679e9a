package bundle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/sigtest"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
)

const (
	identity = "https://github.com/atlanhq/application-sdk/.github/workflows/build-and-publish-app.yaml@refs/heads/main"
	issuer   = "https://token.actions.githubusercontent.com"
)

// testRegistry is an in-process registry that counts the blobs read from it.
type testRegistry struct {
	host      string
	blobGets  atomic.Int64
	requests  atomic.Int64
	srv       *httptest.Server
	signer    *sigtest.Signer
	base      v1.Layer
	layerSize int64
	// lie changes one byte of every blob served.
	lie atomic.Bool
}

func newSource(t *testing.T) *testRegistry {
	t.Helper()
	s := &testRegistry{}
	h := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") {
			s.blobGets.Add(1)
			if s.lie.Load() {
				// Every blob's bytes, one of them changed.
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				body := rec.Body.Bytes()
				if len(body) > 0 {
					body[len(body)/2] ^= 0x01
				}
				w.WriteHeader(rec.Code)
				_, _ = w.Write(body)
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	s.host = strings.TrimPrefix(s.srv.URL, "http://")
	var err error
	if s.signer, err = sigtest.New(); err != nil {
		t.Fatal(err)
	}
	s.layerSize = 4096
	if s.base, err = random.Layer(s.layerSize, types.OCILayer); err != nil {
		t.Fatal(err)
	}
	return s
}

// push writes a two-platform index to repo:tag whose images share the
// source's base layer, and returns its digest reference.
func (s *testRegistry) push(t *testing.T, repo string) name.Digest {
	t.Helper()
	ref, err := name.ParseReference(s.host + "/" + repo + ":1.0")
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		own, err := random.Layer(s.layerSize, types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1), s.base, own)
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.String())
}

func (s *testRegistry) signClassic(t *testing.T, d name.Digest) {
	t.Helper()
	if err := s.signer.SignClassic(d, identity, issuer, sigtest.Payload(d)); err != nil {
		t.Fatal(err)
	}
}

func (s *testRegistry) signReferrer(t *testing.T, d name.Digest) {
	t.Helper()
	if err := s.signer.SignReferrer(d, identity, issuer); err != nil {
		t.Fatal(err)
	}
}

func (s *testRegistry) trustedRoot(t *testing.T) []byte {
	t.Helper()
	data, err := s.signer.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// servedCopier serves b's images on loopback for the test's duration and
// returns a copier reading its sources there.
func servedCopier(ctx context.Context, t *testing.T, b *Bundle) *mirror.Copier {
	t.Helper()
	srv, err := b.Serve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c, err := mirror.New(mirror.WithMirrors(srv.Mirrors()), mirror.WithKeychain(authn.NewMultiKeychain()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ownRoot is b's own trusted root as a verifier option.
func ownRoot(t *testing.T, b *Bundle) verify.Option {
	t.Helper()
	data, where, ok, err := b.TrustedRoot()
	if !ok || err != nil {
		t.Fatalf("the bundle has no trusted root: %v", err)
	}
	return verify.WithTrustedRootJSON(data, where)
}

func tagOf(d name.Digest) string { return d.Context().Tag("1.0").String() }

// exported writes a bundle of two signed images (one classic signature,
// one Sigstore bundle referrer) sharing a base layer.
func exported(t *testing.T) (*testRegistry, string, []Image) {
	t.Helper()
	src := newSource(t)
	a, b := src.push(t, "atlanhq/a"), src.push(t, "atlanhq/b")
	src.signClassic(t, a)
	src.signReferrer(t, b)
	images := []Image{
		{Source: tagOf(a), Digest: a.DigestStr(), Why: []string{"file:images.txt:1"}, Signer: &imagemap.Signer{Identity: identity, Issuer: issuer}},
		{Source: tagOf(b), Digest: b.DigestStr(), Why: []string{"file:images.txt:2"}, Signer: &imagemap.Signer{Identity: identity, Issuer: issuer}},
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, err := Write(context.Background(), dir, Contents{ToolVersion: "v0.0.0-test", Images: images,
		Needed:      []Needed{{Image: images[0].Source, Why: images[0].Why}, {Image: images[1].Source, Why: images[1].Why}},
		TrustedRoot: src.trustedRoot(t)}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return src, dir, images
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	src, dir, images := exported(t)

	// Every blob once: two images of two platforms share one base layer.
	entries, err := os.ReadDir(filepath.Join(dir, BlobsDir))
	if err != nil {
		t.Fatal(err)
	}
	var bundleBytes int64
	for _, e := range entries {
		fi, _ := e.Info()
		bundleBytes += fi.Size()
	}
	// 1 base + 4 own layers of layerSize each, plus small manifests.
	if want := 5 * src.layerSize; bundleBytes < want || bundleBytes > want+64<<10 {
		t.Errorf("blobs hold %d bytes, want about %d: the shared base once", bundleBytes, want)
	}

	b, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	for _, img := range images {
		got, ok := b.Lookup(img.Source)
		if !ok || got.Digest != img.Digest || got.Signer == nil {
			t.Errorf("Lookup(%q) = %+v, %v; want digest %s with its signer", img.Source, got, ok, img.Digest)
		}
	}
	if _, ok := b.Lookup(src.host + "/atlanhq/c:1.0"); ok {
		t.Errorf("Lookup of an image not exported found it")
	}
	var idx v1.IndexManifest
	data, _ := os.ReadFile(filepath.Join(dir, IndexFile))
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range idx.Manifests {
		names[d.Annotations[AnnotationRefName]] = true
	}
	for _, img := range images {
		if !names[img.Source] {
			t.Errorf("index.json has no entry %s=%q (have %v)", AnnotationRefName, img.Source, names)
		}
	}
	if len(idx.Manifests) != 4 { // two images, one .sig tag, one referrer
		t.Errorf("index.json has %d entries, want 4 (two images, a signature, a referrer): %v", len(idx.Manifests), names)
	}

	// The source is gone: everything below reads the bundle.
	src.srv.Close()
	before := src.requests.Load()

	c := servedCopier(ctx, t, b)
	g, err := verify.NewGate(ctx, c, ownRoot(t, b), verify.WithIdentity(identity, ""), verify.WithIssuer(issuer, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		signer, err := g.Verify(ctx, img.Source, img.Digest)
		if err != nil || signer.Identity != identity {
			t.Errorf("verifying %s from the bundle: %v, %v", img.Source, signer, err)
		}
	}

	dst := newSource(t)
	var pairs []mirror.Pair
	for _, img := range images {
		r, _ := name.ParseReference(img.Source)
		pairs = append(pairs, mirror.Pair{Source: img.Source, Destination: dst.host + "/" + r.Context().RepositoryStr() + ":1.0"})
	}
	rep, err := c.Copy(ctx, pairs)
	if err != nil {
		t.Fatalf("copying from the bundle: %v", err)
	}
	for i, r := range rep.Images {
		d, err := remote.Head(mustRef(t, pairs[i].Destination))
		if err != nil || d.Digest.String() != images[i].Digest {
			t.Errorf("destination %s: %v, %v; want %s", pairs[i].Destination, d, err, images[i].Digest)
		}
		if r.Attached != 1 {
			t.Errorf("copy of %s attached %d signatures or referrers, want 1", pairs[i].Source, r.Attached)
		}
	}
	if n := src.requests.Load(); n != before {
		t.Errorf("%d requests reached the source registry after export", n-before)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// layerBlob is the path of the base layer every image shares.
func layerBlob(t *testing.T, src *testRegistry) string {
	t.Helper()
	d, err := src.base.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return BlobsDir + "/" + d.Hex
}

func TestOpenRefuses(t *testing.T) {
	src, pristine, _ := exported(t)
	layer := layerBlob(t, src)
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   string // in the error, with the file named
		is     error
	}{
		{name: "a flipped byte", want: layer + " does not match its checksum", change: func(t *testing.T, dir string) {
			p := filepath.Join(dir, layer)
			data, _ := os.ReadFile(p)
			data[len(data)/2] ^= 0x01
			writeTest(t, p, data)
		}},
		{name: "a missing file", want: layer + " is listed in SHA256SUMS but missing", change: func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, layer)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "an extra file", want: "blobs/sha256/extra is not listed in SHA256SUMS", change: func(t *testing.T, dir string) {
			writeTest(t, filepath.Join(dir, BlobsDir, "extra"), []byte("x"))
		}},
		{name: "an edited bundle.json", want: ManifestFile + " does not match its checksum", change: func(t *testing.T, dir string) {
			p := filepath.Join(dir, ManifestFile)
			data, _ := os.ReadFile(p)
			writeTest(t, p, []byte(strings.Replace(string(data), "file:images.txt:1", "file:images.txt:9", 1)))
		}},
		{name: "a blob under another digest, its checksum along", want: "is listed with another digest than its name", change: func(t *testing.T, dir string) {
			// The bytes hash to their checksum, but not to the digest the
			// file is named, and fetched, by.
			other := BlobsDir + "/" + strings.Repeat("ab", 32)
			if err := os.Rename(filepath.Join(dir, layer), filepath.Join(dir, other)); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, SumsFile)
			data, _ := os.ReadFile(p)
			writeTest(t, p, []byte(strings.Replace(string(data), "  "+layer+"\n", "  "+other+"\n", 1)))
		}},
		{name: "no SHA256SUMS", want: "has no SHA256SUMS", is: ErrIncomplete, change: func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, SumsFile)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, pristine)
			tc.change(t, dir)
			_, err := Open(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Open after %s: error %v, want one line with %q", tc.name, err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Open after %s: error %v, want it to wrap %v", tc.name, err, tc.is)
			}
		})
	}
}

func TestResume(t *testing.T) {
	ctx := context.Background()
	src := newSource(t)
	a := src.push(t, "atlanhq/a")
	src.signClassic(t, a)
	c := Contents{Images: []Image{{Source: tagOf(a), Digest: a.DigestStr()}}}
	dir := t.TempDir()
	first, err := Write(ctx, dir, c)
	if err != nil {
		t.Fatal(err)
	}
	if first.Fetched != first.Blobs || first.Kept != 0 {
		t.Errorf("first Write fetched %d and kept %d of %d blobs, want all fetched", first.Fetched, first.Kept, first.Blobs)
	}

	// An interrupted run: a blob with the right size but other bytes (a
	// writer that trusts sizes would keep it), one missing, a partial file,
	// and no SHA256SUMS yet.
	corrupt := filepath.Join(dir, layerBlob(t, src))
	data, _ := os.ReadFile(corrupt)
	data[0] ^= 0xff
	writeTest(t, corrupt, data)
	m, _ := remote.Image(a.Context().Digest(mustChild(t, a)))
	layers, _ := m.Layers()
	own, _ := layers[1].Digest()
	if err := os.Remove(blobPath(dir, own)); err != nil {
		t.Fatal(err)
	}
	writeTest(t, filepath.Join(dir, BlobsDir, "."+own.Hex+"-1"+partialSuffix), []byte("part"))
	if err := os.Remove(filepath.Join(dir, SumsFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Open of an interrupted bundle: %v, want ErrIncomplete", err)
	}

	src.blobGets.Store(0)
	second, err := Write(ctx, dir, c)
	if err != nil {
		t.Fatal(err)
	}
	if second.Fetched != 2 || second.Kept != first.Blobs-2 || second.Replaced != 2 {
		t.Errorf("rerun fetched %d, kept %d, replaced %d; want 2 fetched, %d kept, 2 replaced", second.Fetched, second.Kept, second.Replaced, first.Blobs-2)
	}
	if n := src.blobGets.Load(); n != 2 {
		t.Errorf("rerun read %d blobs from the registry, want 2 (the corrupt and the missing one)", n)
	}
	if _, err := Open(dir); err != nil {
		t.Fatalf("Open after the rerun: %v", err)
	}
}

func mustChild(t *testing.T, d name.Digest) string {
	t.Helper()
	idx, err := remote.Index(d)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return m.Manifests[0].Digest.String()
}

// TestWriteRefusesChangedBytes: a blob whose bytes do not match its digest
// fails the export, and nothing is left under its name.
func TestWriteRefusesChangedBytes(t *testing.T) {
	src := newSource(t)
	a := src.push(t, "atlanhq/a")
	src.lie.Store(true)
	dir := t.TempDir()
	_, err := Write(context.Background(), dir, Contents{Images: []Image{{Source: tagOf(a), Digest: a.DigestStr()}}})
	if err == nil || !strings.Contains(err.Error(), "sha256") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Write from a registry that changes bytes: %v, want one line naming the digest", err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, BlobsDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, BlobsDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != e.Name() {
			t.Errorf("blobs/sha256/%s is left with bytes that hash to another digest", e.Name())
		}
	}
}

func TestNoSpace(t *testing.T) {
	src := newSource(t)
	a := src.push(t, "atlanhq/a")
	dir := t.TempDir()
	_, err := Write(context.Background(), dir, Contents{Images: []Image{{Source: tagOf(a), Digest: a.DigestStr()}}},
		withFreeSpace(func(string) (uint64, bool, error) { return 1 << 10, true, nil }))
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Write with 1 KiB free: %v, want ErrNoSpace", err)
	}
	if n := src.blobGets.Load(); n != 0 {
		t.Errorf("%d blobs were read before the free space was checked", n)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, BlobsDir))
	if len(entries) != 0 {
		t.Errorf("%d blobs written before the free space was checked", len(entries))
	}
}

func TestWriteRefusesAnotherDirectory(t *testing.T) {
	dir := t.TempDir()
	writeTest(t, filepath.Join(dir, "notes.txt"), []byte("mine"))
	_, err := Write(context.Background(), dir, Contents{})
	if err == nil || !strings.Contains(err.Error(), `holds "notes.txt", so it is not a bundle`) {
		t.Fatalf("Write into a directory of other files: %v, want a refusal naming the file", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs")); !os.IsNotExist(err) {
		t.Errorf("Write created blobs/ in a directory it refused: %v", err)
	}
}

// An image nobody signed, placed in a bundle as an export would place it,
// is refused by the gate reading the bundle.
func TestUnsignedImageRefused(t *testing.T) {
	ctx := context.Background()
	src := newSource(t)
	a := src.push(t, "atlanhq/unsigned")
	dir := t.TempDir()
	if _, err := Write(ctx, dir, Contents{Images: []Image{{Source: tagOf(a), Digest: a.DigestStr()}}, TrustedRoot: src.trustedRoot(t)}); err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	g, err := verify.NewGate(ctx, servedCopier(ctx, t, b), ownRoot(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Verify(ctx, tagOf(a), a.DigestStr()); err == nil || !strings.Contains(err.Error(), string(verify.NoSignature)) {
		t.Errorf("verifying an unsigned image from the bundle: %v, want %q", err, verify.NoSignature)
	}
}

func writeTest(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "copy")
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o750)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return to
}

// TestWriteProgress: Write announces the blobs and bytes it will fetch,
// then reports every byte and every blob of them; a rerun on a complete
// bundle announces nothing to fetch.
func TestWriteProgress(t *testing.T) {
	ctx := context.Background()
	src := newSource(t)
	a := src.push(t, "atlanhq/a")
	src.signClassic(t, a)
	c := Contents{Images: []Image{{Source: tagOf(a), Digest: a.DigestStr()}}}
	dir := t.TempDir()
	var (
		mu     sync.Mutex
		starts []Progress
		bytes  int64
		blobs  int
	)
	record := WithProgress(func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case p.Start:
			starts = append(starts, p)
		case p.Blobs > 0:
			blobs += p.Blobs
		default:
			bytes += p.Bytes
		}
	})
	st, err := Write(ctx, dir, c, record)
	if err != nil {
		t.Fatal(err)
	}
	if len(starts) != 1 || starts[0].Blobs != st.Fetched || starts[0].Bytes != st.FetchedBytes || st.Fetched == 0 {
		t.Fatalf("announced %+v, want one announcement of the %d blobs (%d bytes) fetched", starts, st.Fetched, st.FetchedBytes)
	}
	if blobs != st.Fetched || bytes != st.FetchedBytes {
		t.Errorf("reported %d blobs and %d bytes, want %d and %d", blobs, bytes, st.Fetched, st.FetchedBytes)
	}
	starts, blobs, bytes = nil, 0, 0
	if _, err := Write(ctx, dir, c, record); err != nil {
		t.Fatal(err)
	}
	if len(starts) != 1 || starts[0].Blobs != 0 || starts[0].Bytes != 0 || blobs != 0 || bytes != 0 {
		t.Errorf("rerun announced %+v and reported %d blobs, %d bytes; want nothing to fetch", starts, blobs, bytes)
	}
}
