package bundle

import (
	"encoding/json"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
)

// The files of a bundle (docs/bundle.md), relative to its directory and
// slash-separated.
const (
	LayoutFile      = "oci-layout"
	IndexFile       = "index.json"
	BlobsDir        = "blobs/sha256"
	MetaDir         = "sdr-mirror"
	ManifestFile    = MetaDir + "/bundle.json"
	NeededFile      = MetaDir + "/needed.json"
	ReleasesFile    = MetaDir + "/latest-releases.json"
	TrustedRootFile = MetaDir + "/trusted_root.json"
	// TUFDir holds the TUF metadata that vouches for trusted_root.json,
	// when the export fetched it through TUF: each root version after
	// the anchor (N.root.json), timestamp.json, snapshot.json and
	// targets.json.
	TUFDir   = MetaDir + "/tuf"
	SumsFile = "SHA256SUMS"
)

// Index annotations: the full reference of an image or artefact (the one
// OCI defines for index.json) and, on a referrer, the digest of the
// manifest it refers to (as image-spec PR #1171 proposes).
const (
	AnnotationRefName = "org.opencontainers.image.ref.name"
	AnnotationSubject = "org.opencontainers.image.referrer.subject"
)

// FormatVersion is the version of the bundle format bundle.json declares.
const FormatVersion = 1

// Manifest is sdr-mirror/bundle.json: what the bundle holds and why.
type Manifest struct {
	FormatVersion int       `json:"formatVersion"`
	ID            string    `json:"id"`
	Parent        string    `json:"parent,omitempty"`
	Created       time.Time `json:"created"`
	ToolVersion   string    `json:"toolVersion"`
	Images        []Image   `json:"images"`
}

// Image is one exported image: the source reference it is needed as, the
// digest of its manifest or index, why it is needed and who signed it.
type Image struct {
	Source string           `json:"source"`
	Digest string           `json:"digest"`
	Why    []string         `json:"why"`
	Signer *imagemap.Signer `json:"signer,omitempty"`
}

// Needed is one entry of sdr-mirror/needed.json: an image the connected
// side found needed, exported or not.
type Needed struct {
	Image string   `json:"image"`
	Why   []string `json:"why"`
}

// Releases is sdr-mirror/latest-releases.json: the latest-releases
// response the needed set was read from, and when it was fetched.
type Releases struct {
	FetchedAt time.Time `json:"fetchedAt"`
	// Response is the endpoint's body ({"releases":[...]}), verbatim.
	Response json.RawMessage `json:"response"`
}
