package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
)

// TestCopy runs the copy command against real Distribution registries
// started by hack/registry-up.sh: $SRC (seeded with $SRC/atlanhq/app:1.0,
// index digest $INDEX, and a different app:2.0), $DST, and $AUTHDST (htpasswd user "mirror",
// password in $WORK/auth.json, TLS with $WORK/ca.pem).
func TestCopy(t *testing.T) {
	bin := testenv.Path(t, "SDR_MIRROR_REGISTRY_BIN")
	p := params("copy")
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		start := func(dir string, args ...string) (string, error) {
			host, _, err := startRegistry(env, bin, dir, args...)
			return host, err
		}
		src, err := start(".registry-src")
		if err != nil {
			return err
		}
		dst, err := start(".registry-dst")
		if err != nil {
			return err
		}
		authDst, err := start(".registry-auth", "--htpasswd", "mirror:e2e-s3cret", "--tls")
		if err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(env.WorkDir, ".registry-auth", "ca.pem"), filepath.Join(env.WorkDir, "ca.pem")); err != nil {
			return err
		}
		auth := base64.StdEncoding.EncodeToString([]byte("mirror:e2e-s3cret"))
		if err := os.WriteFile(filepath.Join(env.WorkDir, "auth.json"), []byte(`{"auths":{"`+authDst+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
			return err
		}
		var d v1.Hash
		for _, tag := range []string{"2.0", "1.0"} {
			idx, err := random.Index(2048, 2, 2)
			if err != nil {
				return err
			}
			ref, err := name.ParseReference(src + "/atlanhq/app:" + tag)
			if err != nil {
				return err
			}
			if err := remote.WriteIndex(ref, idx); err != nil {
				return fmt.Errorf("seeding %s: %w", ref, err)
			}
			if d, err = idx.Digest(); err != nil {
				return err
			}
		}
		env.Setenv("SRC", src)
		env.Setenv("DST", dst)
		env.Setenv("AUTHDST", authDst)
		env.Setenv("INDEX", d.String())
		return nil
	}
	testscript.Run(t, p)
}
