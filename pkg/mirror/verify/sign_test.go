package verify

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
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

// signer publishes images and their signatures into a registry the way
// cosign does, from an offline Sigstore (Fulcio CA, Rekor, TSA).
type signer struct {
	t        *testing.T
	vs       *ca.VirtualSigstore
	registry string // host:port
}

func newRegistry(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(discardLogger())))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func newSigner(t *testing.T, reg string) *signer {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return &signer{t: t, vs: vs, registry: reg}
}

// trustedRoot writes the signer's trusted_root.json and returns its path.
func (s *signer) trustedRoot() string {
	s.t.Helper()
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, s.vs.FulcioCertificateAuthorities(), rawIDs(s.vs.CTLogs()), s.vs.TimestampingAuthorities(), rawIDs(s.vs.RekorLogs()))
	if err != nil {
		s.t.Fatal(err)
	}
	data, err := tr.MarshalJSON()
	if err != nil {
		s.t.Fatal(err)
	}
	path := filepath.Join(s.t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		s.t.Fatal(err)
	}
	return path
}

// rawIDs gives each log its raw key ID: the offline Sigstore keys its logs
// by the hex string, which a trusted_root.json would otherwise store as
// the bytes of that string.
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

// push pushes a random multi-arch image and returns its digest reference.
func (s *signer) push(repo string) name.Digest {
	s.t.Helper()
	idx, err := random.Index(256, 1, 2)
	if err != nil {
		s.t.Fatal(err)
	}
	ref, err := name.ParseReference(s.registry+"/"+repo+":1.0", name.Insecure)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		s.t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		s.t.Fatal(err)
	}
	return ref.Context().Digest(d.String())
}

func simpleSigningPayload(d name.Digest) []byte {
	return []byte(fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`,
		d.Context().String(), d.DigestStr()))
}

// signClassic signs payload keyless and stores it under the image's
// sha256-<hex>.sig tag with cosign's annotations.
func (s *signer) signClassic(image name.Digest, identity, issuer string, payload []byte) {
	s.t.Helper()
	ent, err := s.vs.Sign(identity, issuer, payload)
	if err != nil {
		s.t.Fatal(err)
	}
	vc, _ := ent.VerificationContent()
	sc, _ := ent.SignatureContent()
	entries, _ := ent.TlogEntries()
	tle := s.complete(entries[0].TransparencyLogEntry())
	rb := map[string]any{
		"SignedEntryTimestamp": base64.StdEncoding.EncodeToString(tle.GetInclusionPromise().GetSignedEntryTimestamp()),
		"Payload": map[string]any{
			"body":           base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()),
			"integratedTime": tle.GetIntegratedTime(),
			"logIndex":       tle.GetLogIndex(),
			"logID":          hex.EncodeToString(tle.GetLogId().GetKeyId()),
		},
	}
	rbJSON, _ := json.Marshal(rb)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: vc.Certificate().Raw})
	s.pushSignature(image, payload, map[string]string{
		annotationSignature:   base64.StdEncoding.EncodeToString(sc.MessageSignatureContent().Signature()),
		annotationCertificate: string(certPEM),
		annotationBundle:      string(rbJSON),
	})
}

// complete adds what the offline Sigstore's entries leave out: the kind and
// version from the body, and the signed entry timestamp (inclusion promise).
func (s *signer) complete(tle *protorekor.TransparencyLogEntry) *protorekor.TransparencyLogEntry {
	s.t.Helper()
	var kv struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(tle.GetCanonicalizedBody(), &kv); err != nil {
		s.t.Fatal(err)
	}
	set, err := s.vs.RekorSignPayload(tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()),
		IntegratedTime: tle.GetIntegratedTime(),
		LogIndex:       tle.GetLogIndex(),
		LogID:          hex.EncodeToString(tle.GetLogId().GetKeyId()),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	tle.KindVersion = &protorekor.KindVersion{Kind: kv.Kind, Version: kv.APIVersion}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	return tle
}

func (s *signer) pushSignature(image name.Digest, payload []byte, annotations map[string]string) {
	s.t.Helper()
	layer := static.NewLayer(payload, "application/vnd.dev.cosign.simplesigning.v1+json")
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{Layer: layer, Annotations: annotations})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := remote.Write(sigTag(image), img); err != nil {
		s.t.Fatal(err)
	}
}

// signReferrer attests the image with an in-toto statement in a DSSE
// envelope and stores the Sigstore bundle as an OCI referrer.
func (s *signer) signReferrer(image name.Digest, identity, issuer string) {
	s.t.Helper()
	hexDigest := strings.TrimPrefix(image.DigestStr(), "sha256:")
	statement := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":%q,"digest":{"sha256":%q}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`,
		image.Context().String(), hexDigest)
	ent, err := s.vs.AttestAtTime(identity, issuer, []byte(statement), time.Now(), true)
	if err != nil {
		s.t.Fatal(err)
	}
	vc, _ := ent.VerificationContent()
	sc, _ := ent.SignatureContent()
	env := sc.EnvelopeContent().RawEnvelope()
	entries, _ := ent.TlogEntries()
	tss, _ := ent.Timestamps()
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		s.t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		s.t.Fatal(err)
	}
	var tles []*protorekor.TransparencyLogEntry
	for _, e := range entries {
		tles = append(tles, s.complete(e.TransparencyLogEntry()))
	}
	var rfc3161 []*protocommon.RFC3161SignedTimestamp
	for _, ts := range tss {
		rfc3161 = append(rfc3161, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:                   &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
			TlogEntries:               tles,
			TimestampVerificationData: &protobundle.TimestampVerificationData{Rfc3161Timestamps: rfc3161},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: env.PayloadType,
			Signatures: []*protodsse.Signature{{Sig: sig, Keyid: env.Signatures[0].KeyID}},
		}},
	}
	data, err := protojson.Marshal(pb)
	if err != nil {
		s.t.Fatal(err)
	}
	desc, err := remote.Head(image)
	if err != nil {
		s.t.Fatal(err)
	}
	layer := static.NewLayer(data, "application/vnd.dev.sigstore.bundle.v0.3+json")
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		s.t.Fatal(err)
	}
	img = mutate.ConfigMediaType(img, "application/vnd.dev.sigstore.bundle.v0.3+json")
	withSubject := mutate.Subject(img, v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}).(v1.Image)
	d, err := withSubject.Digest()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := remote.Write(image.Context().Digest(d.String()), withSubject); err != nil {
		s.t.Fatal(err)
	}
}
