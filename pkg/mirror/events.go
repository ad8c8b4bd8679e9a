package mirror

// EventKind says what an Event reports.
type EventKind string

// Event kinds, in the order an image sees them.
const (
	// ImageStarted: the image is being copied; Total is the size of every
	// blob it references.
	ImageStarted EventKind = "started"
	// BlobBytes: Bytes more of the image's blobs are at the destination,
	// streamed, mounted or found there already.
	BlobBytes EventKind = "bytes"
	// ImageSkipped: the destination already has the source digest.
	ImageSkipped EventKind = "skipped"
	// ImageCopied: the image, its signatures and referrers are at the destination.
	ImageCopied EventKind = "copied"
	// ImageFailed: Err says why.
	ImageFailed EventKind = "failed"
	// Warning: Message says what deserves attention, such as a changed
	// index digest.
	Warning EventKind = "warning"
)

// Event is one step of a copy, for progress displays.
type Event struct {
	Kind        EventKind
	Source      string
	Destination string
	Digest      string
	Bytes       int64
	Total       int64
	Message     string
	Err         error
}
