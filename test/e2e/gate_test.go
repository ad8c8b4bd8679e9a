package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/sigtest"
	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
)

// TestGate runs sync's signature gate against real Distribution registries:
// $SRC holds $SRC/atlanhq/<name>:1.0 images signed keyless by an offline
// Sigstore (trusted_root.json), in the classic tag layout and as a Sigstore
// bundle referrer (stored through the referrers tag fallback), signed by
// the cosign CLI with cosign.key (cosign.pub), and refused for each reason:
// unsigned, tampered, wrong-identity, wrong-issuer, untrusted. $DST is the
// empty private registry. `[!] image-exists REF` checks a registry;
// `expand FILE...` replaces $VARIABLES in files.
func TestGate(t *testing.T) {
	needKubectl(t)
	bin := testenv.Path(t, "SDR_MIRROR_REGISTRY_BIN")
	cosign := testenv.Bin(t, "SDR_MIRROR_COSIGN_BIN", "cosign")
	p := params("gate")
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		src, _, err := startRegistry(env, bin, ".registry-src")
		if err != nil {
			return err
		}
		dst, _, err := startRegistry(env, bin, ".registry-dst")
		if err != nil {
			return err
		}
		env.Setenv("SRC", src)
		env.Setenv("DST", dst)
		return signGateImages(env, src, cosign)
	}
	p.Cmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"image-exists": imageExists,
		"expand":       expand,
	}
	testscript.Run(t, p)
}

func signGateImages(env *testscript.Env, src, cosign string) error {
	s, err := sigtest.New()
	if err != nil {
		return err
	}
	other, err := sigtest.New()
	if err != nil {
		return err
	}
	root, err := s.TrustedRootJSON()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(env.WorkDir, "trusted_root.json"), root, 0o600); err != nil {
		return err
	}
	images := map[string]name.Digest{}
	for _, n := range []string{"good", "bundled", "unsigned", "tampered", "wrong-identity", "wrong-issuer", "untrusted", "keyed"} {
		idx, err := random.Index(1024, 2, 2)
		if err != nil {
			return err
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
		images[n] = tag.Context().Digest(d.String())
		env.Setenv(strings.ToUpper(strings.ReplaceAll(n, "-", "_"))+"_DIGEST", d.String())
	}
	id, issuer := verify.DefaultIdentity, verify.DefaultIssuer
	tampered := images["tampered"]
	for _, err := range []error{
		s.SignClassic(images["good"], id, issuer, sigtest.Payload(images["good"])),
		s.SignReferrer(images["bundled"], id, issuer),
		s.SignClassic(images["wrong-identity"], "https://github.com/someone/else/.github/workflows/x.yaml@refs/heads/main", issuer, sigtest.Payload(images["wrong-identity"])),
		s.SignClassic(images["wrong-issuer"], id, "https://accounts.example.com", sigtest.Payload(images["wrong-issuer"])),
		other.SignClassic(images["untrusted"], id, issuer, sigtest.Payload(images["untrusted"])),
		// Tampered: signed here, then the stored payload is changed by a
		// byte (below) and still names this image.
		s.SignClassic(tampered, id, issuer, sigtest.Payload(tampered)),
	} {
		if err != nil {
			return err
		}
	}
	sigImg, err := remote.Image(sigtest.SignatureTag(tampered))
	if err != nil {
		return err
	}
	m, err := sigImg.Manifest()
	if err != nil {
		return err
	}
	changed := strings.Replace(string(sigtest.Payload(tampered)), `"optional":null`, `"optional":{}`, 1)
	if err := s.PushSignature(tampered, []byte(changed), m.Layers[0].Annotations); err != nil {
		return err
	}

	// The key-signed image, signed by the cosign CLI.
	cenv := append(os.Environ(), "COSIGN_PASSWORD=e2e-password", "HOME="+env.WorkDir, "TUF_ROOT="+filepath.Join(env.WorkDir, ".tuf"))
	for _, args := range [][]string{
		{"generate-key-pair"},
		{"sign", "--yes", "--key", "cosign.key", "--tlog-upload=false", "--allow-http-registry", images["keyed"].String()},
	} {
		cmd := exec.Command(cosign, args...)
		cmd.Dir, cmd.Env = env.WorkDir, cenv
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("cosign %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// imageExists is `[!] image-exists REF`: REF is (or, negated, is not) in
// its registry.
func imageExists(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: [!] image-exists REF")
	}
	ref, err := name.ParseReference(args[0])
	ts.Check(err)
	_, err = remote.Head(ref)
	switch {
	case err == nil && neg:
		ts.Fatalf("%s exists, want it absent", ref)
	case err != nil && !neg:
		ts.Fatalf("%s: %v", ref, err)
	case err != nil && !isNotFound(err):
		ts.Fatalf("%s: %v, want not found", ref, err)
	}
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// expand is `expand FILE...`: replace $VARIABLES in each file with their
// values in the script's environment.
func expand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: expand FILE...")
	}
	for _, f := range args {
		data := ts.ReadFile(f)
		ts.Check(os.WriteFile(ts.MkAbs(f), []byte(os.Expand(data, ts.Getenv)), 0o600))
	}
}
