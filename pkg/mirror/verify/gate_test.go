package verify

import (
	"context"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

// TestGate verifies sources through a copier, as sync does: by reference
// and digest, answering with the signer or the reason for a refusal.
func TestGate(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	s := newSigner(t, reg)
	good := s.push("atlanhq/good")
	s.signClassic(good, testIdentity, testIssuer, simpleSigningPayload(good))
	unsigned := s.push("atlanhq/unsigned")

	c, err := mirror.New(mirror.WithInsecure(reg))
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGate(ctx, c, WithTrustedRootFile(s.trustedRoot()), WithIdentity(testIdentity, ""), WithIssuer(testIssuer, ""))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := g.Verify(ctx, reg+"/atlanhq/good:1.0", good.DigestStr())
	if err != nil {
		t.Fatalf("Verify(good) error: %v", err)
	}
	if signer.Identity != testIdentity || signer.Issuer != testIssuer {
		t.Errorf("Verify(good) = %+v, want identity %q and issuer %q", signer, testIdentity, testIssuer)
	}
	if _, err := g.Verify(ctx, reg+"/atlanhq/unsigned:1.0", unsigned.DigestStr()); err == nil {
		t.Errorf("Verify(unsigned) = nil error, want a refusal")
	} else if got := err.Error(); !strings.HasPrefix(got, string(NoSignature)) {
		t.Errorf("Verify(unsigned) = %q, want it to start with the reason %q", got, NoSignature)
	}
}
