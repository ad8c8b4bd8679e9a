package verify

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// check verifies one candidate signature of image against the policy.
func (v *Verifier) check(image name.Digest, c candidate) (*Result, error) {
	fail := func(r Reason, format string, args ...any) error {
		return &Failure{Image: image.String(), Reason: r, Detail: fmt.Sprintf(format, args...)}
	}
	if c.layout == "referrer" {
		return v.checkBundle(image, c.bundle)
	}
	d, err := payloadDigest(c.payload)
	if err != nil {
		return nil, fail(BadSignature, "%v", err)
	}
	if d != image.DigestStr() {
		return nil, fail(BadSignature, "the signature is for digest %s, not this image", d)
	}
	if v.key != nil {
		if err := v.key.VerifySignature(bytes.NewReader(c.sig), bytes.NewReader(c.payload)); err != nil {
			return nil, fail(BadSignature, "signature does not verify with key %s", v.o.keyPath)
		}
		return &Result{Image: image.String(), Identity: "key " + v.o.keyPath, Layout: c.layout}, nil
	}
	if len(c.certPEM) == 0 {
		return nil, fail(WrongIdentity, "signed with a key, not a certificate; verify with %s", setting.Key)
	}
	cert, chain, err := parseCerts(c.certPEM, c.chainPEM)
	if err != nil {
		return nil, fail(BadSignature, "%v", err)
	}
	res, err := v.checkIdentity(image, cert, c.layout)
	if err != nil {
		return nil, err
	}
	entity, err := classicBundle(c, cert, chain)
	if err != nil {
		return nil, fail(BadSignature, "%v", err)
	}
	if err := v.verifyEntity(image, entity, sgverify.WithArtifact(bytes.NewReader(c.payload)), res); err != nil {
		return nil, err
	}
	return res, nil
}

func (v *Verifier) checkBundle(image name.Digest, b *bundle.Bundle) (*Result, error) {
	if v.key != nil {
		return nil, &Failure{Image: image.String(), Reason: WrongIdentity, Detail: "Sigstore bundle signatures are keyless; verify with " + setting.CertIdentity.String()}
	}
	vc, err := b.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		return nil, &Failure{Image: image.String(), Reason: BadSignature, Detail: "bundle has no signing certificate"}
	}
	res, err := v.checkIdentity(image, vc.Certificate(), "referrer")
	if err != nil {
		return nil, err
	}
	hexDigest := strings.TrimPrefix(image.DigestStr(), "sha256:")
	raw, err := hex.DecodeString(hexDigest)
	if err != nil {
		return nil, &Failure{Image: image.String(), Reason: BadSignature, Detail: "image digest is not sha256"}
	}
	if err := v.verifyEntity(image, b, sgverify.WithArtifactDigest("sha256", raw), res); err != nil {
		return nil, err
	}
	return res, nil
}

// checkIdentity compares the certificate's issuer and identity with the
// policy before any cryptography, so that the reason names what differs.
func (v *Verifier) checkIdentity(image name.Digest, cert *x509.Certificate, layout string) (*Result, error) {
	sum, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return nil, &Failure{Image: image.String(), Reason: BadSignature, Detail: fmt.Sprintf("reading signing certificate: %v", err)}
	}
	if !v.identity.issuerOK(sum.Issuer) {
		return nil, &Failure{Image: image.String(), Reason: WrongIssuer,
			Detail: fmt.Sprintf("signed through issuer %q, want %s", sum.Issuer, v.identity)}
	}
	if !v.identity.identityOK(sum.SubjectAlternativeName) {
		return nil, &Failure{Image: image.String(), Reason: WrongIdentity,
			Detail: fmt.Sprintf("signed by %q, want %s", sum.SubjectAlternativeName, v.identity)}
	}
	return &Result{Image: image.String(), Identity: sum.SubjectAlternativeName, Issuer: sum.Issuer, Layout: layout}, nil
}

// verifyEntity runs Sigstore verification: certificate chain to the trusted
// root, transparency log entry, timestamps, signature over the artifact.
func (v *Verifier) verifyEntity(image name.Digest, e sgverify.SignedEntity, artifact sgverify.ArtifactPolicyOption, res *Result) error {
	verifier, err := sgverify.NewVerifier(v.material, sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1))
	if err != nil {
		return fmt.Errorf("preparing verifier: %w", err)
	}
	id, err := sgverify.NewShortCertificateIdentity(res.Issuer, "", res.Identity, "")
	if err != nil {
		return fmt.Errorf("preparing verifier: %w", err)
	}
	if _, err := verifier.Verify(e, sgverify.NewPolicy(artifact, sgverify.WithCertificateIdentity(id))); err != nil {
		return &Failure{Image: image.String(), Reason: classify(err), Detail: err.Error()}
	}
	return nil
}

// classify maps a Sigstore verification error to a reason. A signature or
// digest that does not match the artifact is a bad signature; a
// certificate, log or timestamp that does not chain to the trusted root is
// an untrusted root.
func classify(err error) Reason {
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"does not match artifact", "signature verification failed", "invalid signature", "failed to verify signature", "artifact digest"} {
		if strings.Contains(msg, s) {
			return BadSignature
		}
	}
	for _, s := range []string{"certificate chain", "unknown authority", "trusted", "transparency log", "log entr", "inclusion", "timestamp", "leaf certificate", "certificate authority"} {
		if strings.Contains(msg, s) {
			return UntrustedRoot
		}
	}
	return BadSignature
}

func parseCerts(certPEM, chainPEM []byte) (*x509.Certificate, []*x509.Certificate, error) {
	certs, err := parsePEMCerts(certPEM)
	if err != nil || len(certs) == 0 {
		return nil, nil, errors.New("signing certificate annotation is not a PEM certificate")
	}
	chain, err := parsePEMCerts(chainPEM)
	if err != nil {
		return nil, nil, errors.New("certificate chain annotation is not PEM")
	}
	return certs[0], chain, nil
}

func parsePEMCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out, nil
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

// rekorBundle is cosign's "dev.sigstore.cosign/bundle" annotation.
type rekorBundle struct {
	SignedEntryTimestamp string `json:"SignedEntryTimestamp"`
	Payload              struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	} `json:"Payload"`
}

// classicBundle expresses a classic cosign signature as a v0.1 Sigstore
// bundle (message signature, certificate, Rekor entry with its signed
// entry timestamp), which is what cosign's layout encodes.
func classicBundle(c candidate, cert *x509.Certificate, _ []*x509.Certificate) (*bundle.Bundle, error) {
	if len(c.rekorBundle) == 0 {
		return nil, errors.New("signature has no transparency log entry (dev.sigstore.cosign/bundle)")
	}
	var rb rekorBundle
	if err := json.Unmarshal(c.rekorBundle, &rb); err != nil {
		return nil, fmt.Errorf("transparency log annotation is not a Rekor bundle: %w", err)
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return nil, fmt.Errorf("transparency log entry body is not base64: %w", err)
	}
	set, err := base64.StdEncoding.DecodeString(rb.SignedEntryTimestamp)
	if err != nil {
		return nil, fmt.Errorf("signed entry timestamp is not base64: %w", err)
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return nil, fmt.Errorf("transparency log ID is not hex: %w", err)
	}
	var kind struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(body, &kind); err != nil {
		return nil, fmt.Errorf("transparency log entry body is not JSON: %w", err)
	}
	digest := sha256.Sum256(c.payload)
	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle+json;version=0.1",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_X509CertificateChain{
				X509CertificateChain: &protocommon.X509CertificateChain{
					Certificates: []*protocommon.X509Certificate{{RawBytes: cert.Raw}},
				},
			},
			TlogEntries: []*protorekor.TransparencyLogEntry{{
				LogIndex:          rb.Payload.LogIndex,
				LogId:             &protocommon.LogId{KeyId: logID},
				KindVersion:       &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion},
				IntegratedTime:    rb.Payload.IntegratedTime,
				InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: set},
				CanonicalizedBody: body,
			}},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
			Signature:     c.sig,
		}},
	}
	return bundle.NewBundle(pb)
}

func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimSpace(s))
}
