package imagemap

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// LockVersion is the schema version written in new lock files.
const LockVersion = 1

// LockKey is the object key of the lock file beside the map at mapKey.
func LockKey(mapKey string) string { return mapKey + ".lock.json" }

// Lock is the provenance the SDR's map cannot hold: per entry, where the
// image came from, its digest, who signed it, when and why it was mirrored.
type Lock struct {
	Version int         `json:"version"`
	Entries []LockEntry `json:"entries"`
}

// LockEntry records one mirrored image.
type LockEntry struct {
	Source      string    `json:"source"`
	Destination string    `json:"destination"`
	Digest      string    `json:"digest"`
	Signer      *Signer   `json:"signer,omitempty"`
	Time        time.Time `json:"time"`
	Why         []string  `json:"why,omitempty"`
	// Bundle is the air-gap bundle the image was imported from; nil when
	// it was copied from its source registry.
	Bundle *LockBundle `json:"bundle,omitempty"`
}

// LockBundle names an air-gap bundle (docs/bundle.md): its id, and the
// digest of its SHA256SUMS, which covers every file of it.
type LockBundle struct {
	ID     string `json:"id"`
	Digest string `json:"digest"`
}

// Signer is the verified identity of an image's signature.
type Signer struct {
	Identity string `json:"identity"`
	Issuer   string `json:"issuer,omitempty"`
}

// ParseLock reads a lock file; empty input is an empty lock.
func ParseLock(data []byte) (*Lock, error) {
	l := &Lock{Version: LockVersion}
	if len(strings.TrimSpace(string(data))) == 0 {
		return l, nil
	}
	if err := json.Unmarshal(data, l); err != nil {
		return nil, fmt.Errorf("parsing lock file: %w", err)
	}
	if l.Version > LockVersion {
		return nil, fmt.Errorf("parsing lock file: version %d is newer than this tool understands (%d); upgrade kubectl-sdr-mirror", l.Version, LockVersion)
	}
	return l, nil
}

// Put adds e, replacing the entry with the same source.
func (l *Lock) Put(e LockEntry) {
	for i := range l.Entries {
		if l.Entries[i].Source == e.Source {
			l.Entries[i] = e
			return
		}
	}
	l.Entries = append(l.Entries, e)
}

// Remove drops the entry for source, if any.
func (l *Lock) Remove(source string) {
	l.Entries = slices.DeleteFunc(l.Entries, func(e LockEntry) bool { return e.Source == source })
}

// Bytes renders the lock sorted by source, indented, with a final newline.
func (l *Lock) Bytes() ([]byte, error) {
	out := Lock{Version: LockVersion, Entries: slices.Clone(l.Entries)}
	slices.SortFunc(out.Entries, func(a, b LockEntry) int { return strings.Compare(a.Source, b.Source) })
	if out.Entries == nil {
		out.Entries = []LockEntry{}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("rendering lock file: %w", err)
	}
	return append(b, '\n'), nil
}
