//go:build integration

package verify

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
)

// TestVerifyDistribution runs the gate against a real CNCF Distribution
// registry: keyless signatures from an offline Sigstore in both layouts,
// and key signatures made by the cosign CLI. Distribution 2.8 has no
// referrers API, so Sigstore bundles are found through the referrers tag
// fallback (sha256-<hex>).
func TestVerifyDistribution(t *testing.T) {
	cosign := testenv.Bin(t, "SDR_MIRROR_COSIGN_BIN", "cosign")
	ctx := context.Background()
	reg, _ := testenv.Registry(t)
	s := newSigner(t, reg)
	other := newSigner(t, reg) // a Sigstore the verifier does not trust

	good := s.push("atlanhq/good")
	s.signClassic(good, testIdentity, testIssuer, simpleSigningPayload(good))
	bundled := s.push("atlanhq/bundled")
	s.signReferrer(bundled, testIdentity, testIssuer)
	unsigned := s.push("atlanhq/unsigned")
	tampered := s.push("atlanhq/tampered")
	s.signClassicTampered(tampered)
	wrongID := s.push("atlanhq/wrong-identity")
	s.signClassic(wrongID, "https://github.com/evil/repo/.github/workflows/x.yaml@refs/heads/main", testIssuer, simpleSigningPayload(wrongID))
	wrongIssuer := s.push("atlanhq/wrong-issuer")
	s.signClassic(wrongIssuer, testIdentity, "https://accounts.example.com", simpleSigningPayload(wrongIssuer))
	untrusted := s.push("atlanhq/untrusted")
	other.signClassic(untrusted, testIdentity, testIssuer, simpleSigningPayload(untrusted))
	bundledUntrusted := s.push("atlanhq/bundled-untrusted")
	other.signReferrer(bundledUntrusted, testIdentity, testIssuer)
	bundledWrongIssuer := s.push("atlanhq/bundled-wrong-issuer")
	s.signReferrer(bundledWrongIssuer, testIdentity, "https://accounts.example.com")

	// The bundle is stored through the tag fallback: the registry has no
	// referrers endpoint, and the fallback index names the bundle.
	resp, err := http.Get("http://" + reg + "/v2/atlanhq/bundled/referrers/" + bundled.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET referrers on Distribution = %d, want 404 (no referrers API): the fallback is not exercised", resp.StatusCode)
	}
	fallback := bundled.Context().Tag(strings.Replace(bundled.DigestStr(), ":", "-", 1))
	idx, err := remote.Index(fallback)
	if err != nil {
		t.Fatalf("reading referrers fallback tag %s: %v", fallback, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || !strings.HasPrefix(im.Manifests[0].ArtifactType, bundleArtifactPrefix) {
		t.Fatalf("referrers fallback tag %s = %+v, want one Sigstore bundle", fallback, im.Manifests)
	}

	v, err := New(ctx, WithTrustedRootFile(s.trustedRoot()))
	if err != nil {
		t.Fatal(err)
	}
	keyless := []struct {
		name   string
		image  name.Digest
		want   Reason
		layout string
	}{
		{"classic keyless", good, "", "signature-tag"},
		{"bundle through the referrers tag fallback", bundled, "", "referrer"},
		{"unsigned", unsigned, NoSignature, ""},
		{"tampered payload", tampered, BadSignature, ""},
		{"wrong identity", wrongID, WrongIdentity, ""},
		{"wrong issuer", wrongIssuer, WrongIssuer, ""},
		{"untrusted root", untrusted, UntrustedRoot, ""},
		{"bundle from an untrusted root", bundledUntrusted, UntrustedRoot, ""},
		{"bundle with wrong issuer", bundledWrongIssuer, WrongIssuer, ""},
	}
	for _, tc := range keyless {
		t.Run("keyless/"+tc.name, func(t *testing.T) {
			res, err := v.Verify(ctx, tc.image)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Verify(%s) error: %v", tc.name, err)
				}
				if res.Identity != testIdentity || res.Issuer != testIssuer || res.Layout != tc.layout {
					t.Errorf("Verify(%s) = %+v, want identity %q issuer %q layout %q", tc.name, res, testIdentity, testIssuer, tc.layout)
				}
				return
			}
			if !isReason(err, tc.want) {
				t.Errorf("Verify(%s) = %+v, %v; want reason %q", tc.name, res, err, tc.want)
			}
		})
	}

	// Key signatures made by the cosign CLI.
	dir := t.TempDir()
	env := append(os.Environ(), "COSIGN_PASSWORD=test-password", "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, "tuf"))
	cosignRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command(cosign, args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cosignRun("generate-key-pair")
	keySigned := s.push("atlanhq/key-signed")
	cosignRun("sign", "--yes", "--key", "cosign.key", "--tlog-upload=false", "--allow-http-registry", keySigned.String())
	keyTampered := s.push("atlanhq/key-tampered")
	cosignRun("sign", "--yes", "--key", "cosign.key", "--tlog-upload=false", "--allow-http-registry", keyTampered.String())
	tamperPayload(t, s, keyTampered)
	keyMisplaced := s.push("atlanhq/key-misplaced")
	copySignature(t, s, keySigned, keyMisplaced)

	// The cosign CLI wrote the classic layout, an OCI manifest under the
	// signature tag.
	desc, err := remote.Head(sigTag(keySigned))
	if err != nil {
		t.Fatalf("cosign sign wrote no %s: %v", sigTag(keySigned), err)
	}
	if desc.MediaType != types.OCIManifestSchema1 && desc.MediaType != types.DockerManifestSchema2 {
		t.Errorf("signature tag media type = %s, want an image manifest", desc.MediaType)
	}

	pub := filepath.Join(dir, "cosign.pub")
	kv, err := New(ctx, WithKey(pub))
	if err != nil {
		t.Fatal(err)
	}
	_, otherPub := writeKey(t)
	ov, err := New(ctx, WithKey(otherPub))
	if err != nil {
		t.Fatal(err)
	}
	keyed := []struct {
		name  string
		v     *Verifier
		image name.Digest
		want  Reason
	}{
		{"signed", kv, keySigned, ""},
		{"unsigned", kv, unsigned, NoSignature},
		{"tampered payload", kv, keyTampered, BadSignature},
		{"signature of another image", kv, keyMisplaced, BadSignature},
		{"another key", ov, keySigned, BadSignature},
		{"keyless image", kv, good, BadSignature},
	}
	for _, tc := range keyed {
		t.Run("key/"+tc.name, func(t *testing.T) {
			res, err := tc.v.Verify(ctx, tc.image)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Verify(%s) error: %v", tc.name, err)
				}
				if res.Identity != "key "+pub || res.Layout != "signature-tag" {
					t.Errorf("Verify(%s) = %+v, want identity %q layout signature-tag", tc.name, res, "key "+pub)
				}
				return
			}
			if !isReason(err, tc.want) {
				t.Errorf("Verify(%s) = %+v, %v; want reason %q", tc.name, res, err, tc.want)
			}
		})
	}
	// A key-signed image does not pass a keyless policy.
	if _, err := v.Verify(ctx, keySigned); !isReason(err, WrongIdentity) {
		t.Errorf("Verify(key-signed, keyless policy) = %v, want %q", err, WrongIdentity)
	}
}

// tamperPayload replaces the signed payload under image's signature tag
// with one that differs by a byte, keeping cosign's annotations.
func tamperPayload(t *testing.T, s *signer, image name.Digest) {
	t.Helper()
	img, payload := readSignature(t, image)
	changed := strings.Replace(string(payload), `"type":"cosign container image signature"`, `"type":"cosign container image signature" `, 1)
	if changed == string(payload) {
		t.Fatalf("cosign payload %s has no type field to tamper with", payload)
	}
	s.pushSignature(image, []byte(changed), layerAnnotations(t, img))
}

// copySignature stores from's signature under to's signature tag.
func copySignature(t *testing.T, s *signer, from, to name.Digest) {
	t.Helper()
	img, payload := readSignature(t, from)
	s.pushSignature(to, payload, layerAnnotations(t, img))
}

// readSignature returns the signature image under image's signature tag
// and its signed payload.
func readSignature(t *testing.T, image name.Digest) (v1.Image, []byte) {
	t.Helper()
	img, err := remote.Image(sigTag(image))
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	payload, err := readLimited(layers[0].Compressed)
	if err != nil {
		t.Fatal(err)
	}
	return img, payload
}
