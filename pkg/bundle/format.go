package bundle

import (
	"encoding/json"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"

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
	// Inside and External are set on an incremental bundle, exported
	// against the inside's lock (sync --since-lock).
	Inside   []Inside   `json:"inside,omitempty"`
	External []External `json:"external,omitempty"`
}

// Inside is a needed image the inside already holds at the same digest,
// per the lock the bundle was exported against: it is named, with its
// manifest's descriptor, but not carried.
type Inside struct {
	Source    string          `json:"source"`
	Digest    string          `json:"digest"`
	MediaType types.MediaType `json:"mediaType"`
	Size      int64           `json:"size"`
	// Destination is where the lock says the image was mirrored.
	Destination string   `json:"destination"`
	Why         []string `json:"why"`
}

// External is a config or layer blob a carried image uses but the bundle
// does not hold, because an image the lock names as mirrored inside holds
// it: an import mounts it from Repository, and checks it is there before
// anything is pushed.
type External struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	// Repository is the destination repository inside that holds it.
	Repository string `json:"repository"`
	// Image is the first carried image that uses it; From the mirrored
	// image it was found in.
	Image string `json:"image"`
	From  string `json:"from"`
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
