package mirror

// Pair is one image to copy: from Source (a tag, digest or tag@digest
// reference) to Destination (a tag or digest reference).
type Pair struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
}

// Status is what happened to one image.
type Status string

// Statuses of an ImageResult.
const (
	StatusCopied  Status = "copied"
	StatusSkipped Status = "skipped"
	StatusFailed  Status = "failed"
)

// ImageResult is the outcome for one Pair.
type ImageResult struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// Digest is the digest at the destination: the source's, unless a
	// platform subset was copied.
	Digest string `json:"digest,omitempty"`
	// SourceDigest is the digest of the source reference.
	SourceDigest string   `json:"sourceDigest,omitempty"`
	Status       Status   `json:"status"`
	Attached     int      `json:"attached,omitempty"` // signatures, attestations and referrers copied
	Warnings     []string `json:"warnings,omitempty"`
	Err          error    `json:"-"`
	Error        string   `json:"error,omitempty"`
}

// Report sums up a Copy.
type Report struct {
	Images []ImageResult `json:"images"`
	// BytesStreamed counts blob bytes read from source registries.
	BytesStreamed int64 `json:"bytesStreamed"`
	// BlobsStreamed counts blobs read from source registries (each unique
	// blob once per destination registry per run).
	BlobsStreamed int64 `json:"blobsStreamed"`
}
