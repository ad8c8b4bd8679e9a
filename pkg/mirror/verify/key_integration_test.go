//go:build integration

package verify

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
)

// TestVerifyCosignSigned signs images with the real cosign CLI and a
// generated key pair, then verifies them.
func TestVerifyCosignSigned(t *testing.T) {
	cosign := testenv.Bin(t, "SDR_MIRROR_COSIGN_BIN", "cosign")
	ctx := context.Background()
	reg := newRegistry(t)
	s := newSigner(t, reg)
	dir := t.TempDir()
	env := append(os.Environ(), "COSIGN_PASSWORD=test-password", "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, "tuf"))
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(cosign, args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("generate-key-pair")
	signed := s.push("atlanhq/cosign-signed")
	run("sign", "--yes", "--key", "cosign.key", "--tlog-upload=false", "--allow-http-registry", signed.String())
	unsigned := s.push("atlanhq/cosign-unsigned")

	v, err := New(ctx, WithKey(filepath.Join(dir, "cosign.pub")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, signed); err != nil {
		t.Errorf("Verify(cosign-signed) error: %v", err)
	}
	if _, err := v.Verify(ctx, unsigned); !isReason(err, NoSignature) {
		t.Errorf("Verify(unsigned) = %v, want %q", err, NoSignature)
	}
	_, otherPub := writeKey(t)
	other, err := New(ctx, WithKey(otherPub))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(ctx, signed); !isReason(err, BadSignature) {
		t.Errorf("Verify(cosign-signed, other key) = %v, want %q", err, BadSignature)
	}
}
