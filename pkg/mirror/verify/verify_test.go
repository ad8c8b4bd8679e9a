package verify

import (
	"context"
	"errors"
	"io"
	"log"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }

const (
	testIdentity = "https://github.com/atlanhq/application-sdk/.github/workflows/build-and-publish-app.yaml@refs/heads/main"
	testIssuer   = "https://token.actions.githubusercontent.com"
)

func TestVerifyKeyless(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	s := newSigner(t, reg)
	other := newSigner(t, reg) // a Sigstore the verifier does not trust

	good := s.push("atlanhq/good")
	s.signClassic(good, testIdentity, testIssuer, simpleSigningPayload(good))

	bundled := s.push("atlanhq/bundled")
	s.signReferrer(bundled, testIdentity, testIssuer)

	unsigned := s.push("atlanhq/unsigned")

	wrongID := s.push("atlanhq/wrong-identity")
	s.signClassic(wrongID, "https://github.com/evil/repo/.github/workflows/x.yaml@refs/heads/main", testIssuer, simpleSigningPayload(wrongID))

	wrongIssuer := s.push("atlanhq/wrong-issuer")
	s.signClassic(wrongIssuer, testIdentity, "https://accounts.example.com", simpleSigningPayload(wrongIssuer))

	// Tampered: the payload stored is not the one signed.
	tampered := s.push("atlanhq/tampered")
	s.signClassicTampered(tampered)

	// Signed for another image's digest.
	misplaced := s.push("atlanhq/misplaced")
	s.signClassic(misplaced, testIdentity, testIssuer, simpleSigningPayload(good))

	untrusted := s.push("atlanhq/untrusted")
	other.signClassic(untrusted, testIdentity, testIssuer, simpleSigningPayload(untrusted))

	bundledWrongID := s.push("atlanhq/bundled-wrong")
	s.signReferrer(bundledWrongID, "https://github.com/evil/repo/x@refs/heads/main", testIssuer)

	v, err := New(ctx, WithTrustedRootFile(s.trustedRoot()), WithIdentity(testIdentity, ""), WithIssuer(testIssuer, ""))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		image  name.Digest
		want   Reason // "" means verified
		layout string
	}{
		{"classic keyless", good, "", "signature-tag"},
		{"bundle referrer", bundled, "", "referrer"},
		{"unsigned", unsigned, NoSignature, ""},
		{"wrong identity", wrongID, WrongIdentity, ""},
		{"wrong issuer", wrongIssuer, WrongIssuer, ""},
		{"tampered payload", tampered, BadSignature, ""},
		{"signature of another image", misplaced, BadSignature, ""},
		{"untrusted root", untrusted, UntrustedRoot, ""},
		{"bundle with wrong identity", bundledWrongID, WrongIdentity, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := v.Verify(ctx, tc.image)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Verify(%s) error: %v", tc.name, err)
				}
				if res.Identity != testIdentity || res.Issuer != testIssuer || res.Layout != tc.layout {
					t.Errorf("Verify(%s) = %+v, want identity %q issuer %q layout %s", tc.name, res, testIdentity, testIssuer, tc.layout)
				}
				return
			}
			var f *Failure
			if !errors.As(err, &f) {
				t.Fatalf("Verify(%s) = %+v, %v; want a *Failure with reason %q", tc.name, res, err, tc.want)
			}
			if f.Reason != tc.want {
				t.Errorf("Verify(%s) reason = %q (%v), want %q", tc.name, f.Reason, err, tc.want)
			}
			if !errors.Is(err, ErrUnverified) || !strings.Contains(err.Error(), tc.image.String()) {
				t.Errorf("Verify(%s) error %q does not name the image or wrap ErrUnverified", tc.name, err)
			}
		})
	}

	t.Run("identity regexp", func(t *testing.T) {
		v, err := New(ctx, WithTrustedRootFile(s.trustedRoot()), WithIdentity("", `^https://github\.com/atlanhq/.*@refs/heads/main$`), WithIssuer("", `^https://token\.actions\.githubusercontent\.com$`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, good); err != nil {
			t.Errorf("Verify with matching regexps: %v", err)
		}
		if _, err := v.Verify(ctx, wrongID); !isReason(err, WrongIdentity) {
			t.Errorf("Verify(wrong identity) with regexps = %v, want %q", err, WrongIdentity)
		}
	})
}

func (s *signer) signClassicTampered(image name.Digest) {
	s.t.Helper()
	// Sign the real payload, then store a payload that differs by one byte
	// but still names the image.
	payload := simpleSigningPayload(image)
	s.signClassic(image, testIdentity, testIssuer, payload)
	img, err := remoteImage(sigTag(image))
	if err != nil {
		s.t.Fatal(err)
	}
	anns := layerAnnotations(s.t, img)
	tampered := []byte(strings.Replace(string(payload), `"optional":null`, `"optional":{}`, 1))
	s.pushSignature(image, tampered, anns)
}

func isReason(err error, r Reason) bool {
	var f *Failure
	return errors.As(err, &f) && f.Reason == r
}

func TestNewRejectsConflicts(t *testing.T) {
	if _, err := New(context.Background(), WithKey("cosign.pub"), WithIdentity("x", "")); err == nil {
		t.Error("New(key and identity) succeeded, want an error")
	}
	if _, err := New(context.Background(), WithIdentity("", "("), WithTrustedRootFile("x")); err == nil || !strings.Contains(err.Error(), "--certificate-identity-regexp") {
		t.Errorf("New(bad regexp) = %v, want an error naming the flag", err)
	}
	if _, err := New(context.Background(), WithTrustedRootFile("/nonexistent/trusted_root.json")); err == nil || !strings.Contains(err.Error(), "/nonexistent/trusted_root.json") {
		t.Errorf("New(missing trusted root) = %v, want an error naming the file", err)
	}
}
