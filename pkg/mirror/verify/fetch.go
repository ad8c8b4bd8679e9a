package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/sigstore-go/pkg/bundle"
)

// Annotations of the classic cosign signature layout.
const (
	annotationSignature   = "dev.cosignproject.cosign/signature"
	annotationCertificate = "dev.sigstore.cosign/certificate"
	annotationChain       = "dev.sigstore.cosign/chain"
	annotationBundle      = "dev.sigstore.cosign/bundle"
	bundleArtifactPrefix  = "application/vnd.dev.sigstore.bundle"
	maxArtifactBytes      = 4 << 20
)

// candidate is one signature found for an image.
type candidate struct {
	layout string // "signature-tag" or "referrer"

	// classic layout
	payload, sig      []byte
	certPEM, chainPEM []byte
	rekorBundle       []byte

	// referrer layout
	bundle *bundle.Bundle
}

func sigTag(image name.Digest) name.Tag {
	return image.Context().Tag(strings.Replace(image.DigestStr(), ":", "-", 1) + ".sig")
}

// fetch collects every signature of image. A registry error other than
// "not found" is returned as is: it is not a verdict on the image.
func (v *Verifier) fetch(ctx context.Context, image name.Digest) ([]candidate, error) {
	opts := []remote.Option{remote.WithContext(ctx), remote.Reuse(v.puller)}
	var out []candidate

	img, err := remote.Image(sigTag(image), opts...)
	switch {
	case isNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("reading signatures of %q: %w", image, err)
	default:
		cs, err := classicCandidates(img)
		if err != nil {
			return nil, fmt.Errorf("reading signatures of %q: %w", image, err)
		}
		out = append(out, cs...)
	}

	idx, err := remote.Referrers(image, opts...)
	switch {
	case isNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("listing referrers of %q: %w", image, err)
	default:
		m, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("listing referrers of %q: %w", image, err)
		}
		for _, d := range m.Manifests {
			if !strings.HasPrefix(d.ArtifactType, bundleArtifactPrefix) {
				continue
			}
			b, err := referrerBundle(image.Context().Digest(d.Digest.String()), opts)
			if err != nil {
				return nil, fmt.Errorf("reading Sigstore bundle %s of %q: %w", d.Digest, image, err)
			}
			out = append(out, candidate{layout: "referrer", bundle: b})
		}
	}
	return out, nil
}

func classicCandidates(img v1.Image) ([]candidate, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	var out []candidate
	for _, l := range m.Layers {
		sig, ok := l.Annotations[annotationSignature]
		if !ok {
			continue
		}
		layer, err := img.LayerByDigest(l.Digest)
		if err != nil {
			return nil, err
		}
		payload, err := readLimited(layer.Compressed)
		if err != nil {
			return nil, fmt.Errorf("reading signed payload %s: %w", l.Digest, err)
		}
		c := candidate{layout: "signature-tag", payload: payload,
			certPEM: []byte(l.Annotations[annotationCertificate]), chainPEM: []byte(l.Annotations[annotationChain])}
		if s := l.Annotations[annotationBundle]; s != "" {
			c.rekorBundle = []byte(s)
		}
		if c.sig, err = decodeBase64(sig); err != nil {
			return nil, fmt.Errorf("signature annotation of layer %s is not base64: %w", l.Digest, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func referrerBundle(ref name.Digest, opts []remote.Option) (*bundle.Bundle, error) {
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) == 0 {
		return nil, errors.New("bundle artifact has no layer")
	}
	data, err := readLimited(layers[0].Compressed)
	if err != nil {
		return nil, err
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("parsing bundle: %w", err)
	}
	return &b, nil
}

func readLimited(open func() (io.ReadCloser, error)) ([]byte, error) {
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxArtifactBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxArtifactBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxArtifactBytes)
	}
	return data, nil
}

func isNotFound(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range te.Errors {
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return false
}

// simpleSigning is the payload cosign signs for a container image.
type simpleSigning struct {
	Critical struct {
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
}

func payloadDigest(payload []byte) (string, error) {
	var p simpleSigning
	if err := json.Unmarshal(payload, &p); err != nil {
		return "", fmt.Errorf("signed payload is not a cosign simple-signing document: %w", err)
	}
	return p.Critical.Image.DockerManifestDigest, nil
}
