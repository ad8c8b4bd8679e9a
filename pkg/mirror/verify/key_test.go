package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature/kms/fake"
)

func writeKey(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := cryptoutils.MarshalPublicKeyToPEM(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(path, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	return k, path
}

func TestVerifyKey(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	s := newSigner(t, reg)
	key, pub := writeKey(t)
	_, otherPub := writeKey(t)

	good := s.push("atlanhq/keyed")
	payload := simpleSigningPayload(good)
	h := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	s.pushSignature(good, payload, map[string]string{annotationSignature: base64.StdEncoding.EncodeToString(sig)})

	keyless := s.push("atlanhq/keyless")
	s.signClassic(keyless, testIdentity, testIssuer, simpleSigningPayload(keyless))

	v, err := New(ctx, WithKey(pub))
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(ctx, good)
	if err != nil {
		t.Fatalf("Verify(key-signed) error: %v", err)
	}
	if res.Identity != "key "+pub {
		t.Errorf("Verify(key-signed).Identity = %q, want %q", res.Identity, "key "+pub)
	}
	if _, err := v.Verify(ctx, keyless); !isReason(err, BadSignature) {
		t.Errorf("Verify(keyless image with --key) = %v, want %q", err, BadSignature)
	}
	wrong, err := New(ctx, WithKey(otherPub))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.Verify(ctx, good); !isReason(err, BadSignature) {
		t.Errorf("Verify(other key) = %v, want %q", err, BadSignature)
	}
	// A key-signed image has no identity for a keyless policy.
	kl, err := New(ctx, WithTrustedRootFile(s.trustedRoot()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kl.Verify(ctx, good); !isReason(err, WrongIdentity) {
		t.Errorf("Verify(key-signed, keyless policy) = %v, want %q", err, WrongIdentity)
	}
}

func TestNewKeyErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pub")
	if err := os.WriteFile(bad, []byte("not a key"), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{filepath.Join(dir, "missing.pub"): "missing.pub", bad: "not a PEM public key"} {
		if _, err := New(context.Background(), WithKey(path)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(WithKey(%q)) = %v, want an error containing %q", path, err, want)
		}
	}
}

// TestVerifyKMSKey verifies with a key held in a KMS, named by URI: the
// public key is read from the KMS provider (sigstore's in-memory one here).
func TestVerifyKMSKey(t *testing.T) {
	reg := newRegistry(t)
	s := newSigner(t, reg)
	key, _ := writeKey(t)
	other, _ := writeKey(t)
	sign := func(k *ecdsa.PrivateKey, repo string) name.Digest {
		d := s.push(repo)
		payload := simpleSigningPayload(d)
		h := sha256.Sum256(payload)
		sig, err := ecdsa.SignASN1(rand.Reader, k, h[:])
		if err != nil {
			t.Fatal(err)
		}
		s.pushSignature(d, payload, map[string]string{annotationSignature: base64.StdEncoding.EncodeToString(sig)})
		return d
	}
	good := sign(key, "atlanhq/kms-signed")
	otherSigned := sign(other, "atlanhq/other-key")

	ctx := context.WithValue(context.Background(), fake.KmsCtxKey{}, crypto.PrivateKey(key))
	v, err := New(ctx, WithKey("fakekms://atlan-signing-key"))
	if err != nil {
		t.Fatalf("New(WithKey(fakekms://...)): %v", err)
	}
	res, err := v.Verify(ctx, good)
	if err != nil {
		t.Fatalf("Verify(KMS-signed) error: %v", err)
	}
	if res.Identity != "key fakekms://atlan-signing-key" {
		t.Errorf("Verify(KMS-signed).Identity = %q, want %q", res.Identity, "key fakekms://atlan-signing-key")
	}
	if _, err := v.Verify(ctx, otherSigned); !isReason(err, BadSignature) {
		t.Errorf("Verify(signed by another key) = %v, want %q", err, BadSignature)
	}
	if _, err := New(ctx, WithKey("nosuchkms://k")); err == nil || !strings.Contains(err.Error(), `"nosuchkms://k"`) || !strings.Contains(err.Error(), "awskms://") {
		t.Errorf("New(WithKey(nosuchkms://k)) = %v, want an error naming the key and the KMS schemes", err)
	}
}
