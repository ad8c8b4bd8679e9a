// Package sigtest signs images the way cosign does, offline: keyless
// signatures from an in-process Sigstore (Fulcio CA, Rekor log, timestamp
// authority), stored as classic "sha256-<digest>.sig" tags or as Sigstore
// bundle referrers, and the trusted_root.json that verifies them. Tests and
// the demo use it; nothing here reaches the network.
package sigtest

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"google.golang.org/protobuf/encoding/protojson"
)

// Cosign's annotations on a signature layer.
const (
	AnnotationSignature   = "dev.cosignproject.cosign/signature"
	AnnotationCertificate = "dev.sigstore.cosign/certificate"
	AnnotationBundle      = "dev.sigstore.cosign/bundle"
	bundleMediaType       = "application/vnd.dev.sigstore.bundle.v0.3+json"
)

// Signer is one offline Sigstore instance.
type Signer struct {
	vs      *ca.VirtualSigstore
	Options []remote.Option // how to reach the registry
}

// New starts an offline Sigstore.
func New(opts ...remote.Option) (*Signer, error) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		return nil, err
	}
	return &Signer{vs: vs, Options: opts}, nil
}

// TrustedRootJSON is the trusted_root.json that verifies this signer.
func (s *Signer) TrustedRootJSON() ([]byte, error) {
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, s.vs.FulcioCertificateAuthorities(),
		rawIDs(s.vs.CTLogs()), s.vs.TimestampingAuthorities(), rawIDs(s.vs.RekorLogs()))
	if err != nil {
		return nil, err
	}
	return tr.MarshalJSON()
}

// WriteTrustedRoot writes TrustedRootJSON to dir/trusted_root.json and
// returns that path.
func (s *Signer) WriteTrustedRoot(dir string) (string, error) {
	data, err := s.TrustedRootJSON()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "trusted_root.json")
	return path, os.WriteFile(path, data, 0o600)
}

// rawIDs gives each log its raw key ID: the offline Sigstore keys its logs
// by the hex string, which a trusted_root.json would otherwise store as the
// bytes of that string.
func rawIDs(logs map[string]*root.TransparencyLog) map[string]*root.TransparencyLog {
	out := map[string]*root.TransparencyLog{}
	for id, l := range logs {
		c := *l
		if raw, err := hex.DecodeString(id); err == nil {
			c.ID = raw
		}
		out[id] = &c
	}
	return out
}

// Payload is cosign's simple-signing document for image.
func Payload(image name.Digest) []byte {
	return []byte(fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`,
		image.Context().String(), image.DigestStr()))
}

// SignatureTag is the classic tag holding image's signatures.
func SignatureTag(image name.Digest) name.Tag {
	return image.Context().Tag(strings.Replace(image.DigestStr(), ":", "-", 1) + ".sig")
}

// SignClassic signs payload keyless as identity/issuer and stores it under
// the image's signature tag with cosign's annotations.
func (s *Signer) SignClassic(image name.Digest, identity, issuer string, payload []byte) error {
	ent, err := s.vs.Sign(identity, issuer, payload)
	if err != nil {
		return err
	}
	vc, err := ent.VerificationContent()
	if err != nil {
		return err
	}
	sc, err := ent.SignatureContent()
	if err != nil {
		return err
	}
	entries, err := ent.TlogEntries()
	if err != nil || len(entries) == 0 {
		return errors.New("signing produced no transparency log entry")
	}
	tle, err := s.complete(entries[0].TransparencyLogEntry())
	if err != nil {
		return err
	}
	rb, err := json.Marshal(map[string]any{
		"SignedEntryTimestamp": base64.StdEncoding.EncodeToString(tle.GetInclusionPromise().GetSignedEntryTimestamp()),
		"Payload": map[string]any{
			"body":           base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()),
			"integratedTime": tle.GetIntegratedTime(),
			"logIndex":       tle.GetLogIndex(),
			"logID":          hex.EncodeToString(tle.GetLogId().GetKeyId()),
		},
	})
	if err != nil {
		return err
	}
	return s.PushSignature(image, payload, map[string]string{
		AnnotationSignature:   base64.StdEncoding.EncodeToString(sc.MessageSignatureContent().Signature()),
		AnnotationCertificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vc.Certificate().Raw})),
		AnnotationBundle:      string(rb),
	})
}

// PushSignature stores a signature layer (payload plus annotations) under
// the image's signature tag, replacing what was there.
func (s *Signer) PushSignature(image name.Digest, payload []byte, annotations map[string]string) error {
	layer := static.NewLayer(payload, "application/vnd.dev.cosign.simplesigning.v1+json")
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{Layer: layer, Annotations: annotations})
	if err != nil {
		return err
	}
	return remote.Write(SignatureTag(image), img, s.Options...)
}

// complete adds what the offline Sigstore's entries leave out: the kind and
// version from the body, and the signed entry timestamp.
func (s *Signer) complete(tle *protorekor.TransparencyLogEntry) (*protorekor.TransparencyLogEntry, error) {
	var kv struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(tle.GetCanonicalizedBody(), &kv); err != nil {
		return nil, err
	}
	set, err := s.vs.RekorSignPayload(tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()),
		IntegratedTime: tle.GetIntegratedTime(),
		LogIndex:       tle.GetLogIndex(),
		LogID:          hex.EncodeToString(tle.GetLogId().GetKeyId()),
	})
	if err != nil {
		return nil, err
	}
	tle.KindVersion = &protorekor.KindVersion{Kind: kv.Kind, Version: kv.APIVersion}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	return tle, nil
}

// SignReferrer attests image with an in-toto statement in a DSSE envelope
// and stores the Sigstore bundle as an OCI referrer of the image.
func (s *Signer) SignReferrer(image name.Digest, identity, issuer string) error {
	statement := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":%q,"digest":{"sha256":%q}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`,
		image.Context().String(), strings.TrimPrefix(image.DigestStr(), "sha256:"))
	ent, err := s.vs.AttestAtTime(identity, issuer, []byte(statement), time.Now(), true)
	if err != nil {
		return err
	}
	vc, err := ent.VerificationContent()
	if err != nil {
		return err
	}
	sc, err := ent.SignatureContent()
	if err != nil {
		return err
	}
	env := sc.EnvelopeContent().RawEnvelope()
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		return err
	}
	entries, err := ent.TlogEntries()
	if err != nil {
		return err
	}
	var tles []*protorekor.TransparencyLogEntry
	for _, e := range entries {
		tle, err := s.complete(e.TransparencyLogEntry())
		if err != nil {
			return err
		}
		tles = append(tles, tle)
	}
	tss, err := ent.Timestamps()
	if err != nil {
		return err
	}
	var rfc3161 []*protocommon.RFC3161SignedTimestamp
	for _, ts := range tss {
		rfc3161 = append(rfc3161, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
	data, err := protojson.Marshal(&protobundle.Bundle{
		MediaType: bundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:                   &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
			TlogEntries:               tles,
			TimestampVerificationData: &protobundle.TimestampVerificationData{Rfc3161Timestamps: rfc3161},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: env.PayloadType,
			Signatures: []*protodsse.Signature{{Sig: sig, Keyid: env.Signatures[0].KeyID}},
		}},
	})
	if err != nil {
		return err
	}
	desc, err := remote.Head(image, s.Options...)
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), static.NewLayer(data, bundleMediaType))
	if err != nil {
		return err
	}
	img = mutate.ConfigMediaType(img, bundleMediaType)
	withSubject, ok := mutate.Subject(img, v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}).(v1.Image)
	if !ok {
		return errors.New("referrer is not an image")
	}
	d, err := withSubject.Digest()
	if err != nil {
		return err
	}
	return remote.Write(image.Context().Digest(d.String()), withSubject, s.Options...)
}
