package e2e

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/sigtest"
	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
)

// TestBundle crosses an air gap with the built binary: on the connected
// side a Distribution registry $SRC holds $SRC/atlanhq/{good,bundled,
// unsigned,fresh}:1.0 (two platforms; fresh is good with one more layer on
// each platform, a later release; good and fresh signed in the classic tag layout,
// bundled as a Sigstore bundle referrer, by an offline Sigstore whose
// trusted_root.json is in the work directory), and a latest-releases
// server at $ATLAN_URL announces all three. `stop-connected` stops both;
// the inside has only $DST, an empty Distribution registry, and a file://
// bucket. A TUF repository at $TUF_URL, anchored at tuf-root.json,
// publishes that trusted_root.json (other-tuf-root.json anchors another
// repository); `stop-connected` stops it too. `[!] image-exists REF` checks
// a registry; `flip FILE` changes one byte of a file.
func TestBundle(t *testing.T) {
	bin := testenv.Path(t, "SDR_MIRROR_REGISTRY_BIN")
	p := params("bundle")
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		src, srcPID, err := startRegistry(env, bin, ".registry-src")
		if err != nil {
			return err
		}
		dst, _, err := startRegistry(env, bin, ".registry-dst")
		if err != nil {
			return err
		}
		env.Setenv("SRC_PID", strconv.Itoa(srcPID))
		env.Setenv("SRC", src)
		env.Setenv("DST", dst)
		atlan := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, strings.ReplaceAll(`{"releases":[
  {"app_id":"1","app_name":"good","version":"1.0","version_id":"v1","image":"SRC/atlanhq/good:1.0"},
  {"app_id":"2","app_name":"bundled","version":"1.0","version_id":"v2","image":"SRC/atlanhq/bundled:1.0"},
  {"app_id":"3","app_name":"unsigned","version":"1.0","version_id":"v3","image":"SRC/atlanhq/unsigned:1.0"}]}`, "SRC", src))
		}))
		env.Defer(atlan.Close)
		env.Values["atlan"] = atlan
		env.Setenv("ATLAN_URL", atlan.URL)
		if err := signBundleImages(env, src); err != nil {
			return err
		}
		return serveTUF(env)
	}
	p.Cmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"image-exists": imageExists,
		"flip": func(ts *testscript.TestScript, _ bool, args []string) {
			data := []byte(ts.ReadFile(args[0]))
			data[len(data)/2] ^= 0x20
			ts.Check(os.WriteFile(ts.MkAbs(args[0]), data, 0o600))
		},
		"flip-in-tar": func(ts *testscript.TestScript, _ bool, args []string) {
			ts.Check(flipInTar(ts.MkAbs(args[0])))
		},
		"stop-connected": func(ts *testscript.TestScript, _ bool, _ []string) {
			pid, err := strconv.Atoi(ts.Getenv("SRC_PID"))
			ts.Check(err)
			testenv.StopRegistry(pid)
			ts.Value("atlan").(*httptest.Server).Close()
			ts.Value("tuf").(*httptest.Server).Close()
		},
	}
	testscript.Run(t, p)
}

func signBundleImages(env *testscript.Env, src string) error {
	s, err := sigtest.New()
	if err != nil {
		return err
	}
	if _, err := s.WriteTrustedRoot(env.WorkDir); err != nil {
		return err
	}
	var good v1.ImageIndex
	for _, n := range []string{"good", "bundled", "unsigned", "fresh"} {
		idx, err := random.Index(64<<10, 2, 2)
		if n == "fresh" {
			idx, err = nextRelease(good)
		}
		if err != nil {
			return err
		}
		if n == "good" {
			good = idx
		}
		tag, err := name.NewTag(src + "/atlanhq/" + n + ":1.0")
		if err != nil {
			return err
		}
		if err := remote.WriteIndex(tag, idx); err != nil {
			return fmt.Errorf("seeding %s: %w", tag, err)
		}
		d, err := idx.Digest()
		if err != nil {
			return err
		}
		env.Setenv(strings.ToUpper(n)+"_DIGEST", d.String())
		ref := tag.Context().Digest(d.String())
		switch n {
		case "good", "fresh":
			err = s.SignClassic(ref, verify.DefaultIdentity, verify.DefaultIssuer, sigtest.Payload(ref))
		case "bundled":
			err = s.SignReferrer(ref, verify.DefaultIdentity, verify.DefaultIssuer)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// serveTUF signs a TUF repository publishing the work directory's
// trusted_root.json and serves it on the loopback interface as $TUF_URL;
// its first root is tuf-root.json, and another repository's is
// other-tuf-root.json.
func serveTUF(env *testscript.Env) error {
	root, err := os.ReadFile(filepath.Join(env.WorkDir, "trusted_root.json"))
	if err != nil {
		return err
	}
	repo, err := sigtest.NewTUFRepo(root, time.Now().Add(24*time.Hour))
	if err != nil {
		return err
	}
	other, err := sigtest.NewTUFRepo(root, time.Now().Add(24*time.Hour))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(env.WorkDir, "tuf-root.json"), repo.Anchor, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(env.WorkDir, "other-tuf-root.json"), other.Anchor, 0o600); err != nil {
		return err
	}
	srv := httptest.NewServer(repo)
	env.Defer(srv.Close)
	env.Values["tuf"] = srv
	env.Setenv("TUF_URL", srv.URL)
	return nil
}

// nextRelease is a new release built on idx: each platform's image with
// one more layer, so it shares every other blob with idx.
func nextRelease(idx v1.ImageIndex) (v1.ImageIndex, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	out := v1.ImageIndex(empty.Index)
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		l, err := random.Layer(16<<10, types.OCILayer)
		if err != nil {
			return nil, err
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			return nil, err
		}
		out = mutate.AppendManifests(out, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: d.Platform}})
	}
	return out, nil
}

// flipInTar changes one byte in the middle of the content of the largest
// member of the tar archive at path.
func flipInTar(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	cr := &countingReader{r: f}
	tr := tar.NewReader(cr)
	var at, size int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		// The reader stands at the member's content once Next returns.
		if h.Size > size {
			at, size = cr.n, h.Size
		}
	}
	if size == 0 {
		return fmt.Errorf("%s holds no file with content", path)
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at+size/2); err != nil {
		return err
	}
	b[0] ^= 0x20
	_, err = f.WriteAt(b, at+size/2)
	return err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
