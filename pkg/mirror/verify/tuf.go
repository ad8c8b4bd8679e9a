package verify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/sigstore/sigstore-go/pkg/util"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// The files of a TUF repository that vouch for a trusted root, by the names
// TUFMetadata keeps them under: every root version after the anchor as
// N.root.json, then the top-level roles, and the target itself.
const (
	TUFTimestamp = "timestamp.json"
	TUFSnapshot  = "snapshot.json"
	TUFTargets   = "targets.json"
	// TUFTarget is the target Sigstore publishes its trusted root as.
	TUFTarget = "trusted_root.json"
)

// PublicGoodURL is Sigstore's public-good TUF repository.
const PublicGoodURL = tuf.DefaultMirror

// TUFRootName is the name of root version v.
func TUFRootName(v int64) string { return fmt.Sprintf("%d.root.json", v) }

var rootName = regexp.MustCompile(`^([1-9][0-9]{0,9})\.root\.json$`)

// TUFAnchor is the TUF root a chain of metadata must start from, and how
// messages name it.
type TUFAnchor struct {
	Root []byte
	Name string
}

// PublicGoodAnchor is the Sigstore public-good TUF root embedded in this
// binary.
func PublicGoodAnchor() TUFAnchor {
	return TUFAnchor{Root: tuf.DefaultRoot(), Name: "the Sigstore public-good root embedded in this binary"}
}

// TUFAnchorFile reads a TUF root.json to anchor a chain at.
func TUFAnchorFile(path string) (TUFAnchor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return TUFAnchor{}, fmt.Errorf("reading the TUF root %s %q: %w", setting.TUFRoot, path, err)
	}
	if _, err := metadata.Root().FromBytes(data); err != nil {
		return TUFAnchor{}, fmt.Errorf("reading the TUF root %s %q: not a TUF root.json: %w", setting.TUFRoot, path, err)
	}
	return TUFAnchor{Root: data, Name: fmt.Sprintf("%s %q", setting.TUFRoot, path)}, nil
}

// TUFMetadata is what a TUF client fetched to vouch for a trusted root:
// Files by their TUF names (N.root.json for each root version after the
// anchor, timestamp.json, snapshot.json, targets.json) and the target,
// trusted_root.json.
type TUFMetadata struct {
	Files       map[string][]byte
	TrustedRoot []byte
}

// FetchTUF fetches Sigstore's trusted root from the TUF repository at url
// (default: the public-good one), checked against anchor, and keeps every
// metadata file the check read, so that the chain can be checked again
// offline (CheckTUF). Nothing is cached on disk: every file is fetched.
func FetchTUF(ctx context.Context, anchor TUFAnchor, url string) (*TUFMetadata, error) {
	if url == "" {
		url = PublicGoodURL
	}
	f := fetcher.NewDefaultFetcher()
	f.SetHTTPUserAgent(util.ConstructUserAgent())
	rec := &recorder{next: f, base: strings.TrimSuffix(url, "/") + "/", files: map[string][]byte{}}
	// Nothing is written with the cache disabled; an empty directory of
	// its own keeps the client from reading a cache left elsewhere.
	tmp, err := os.MkdirTemp("", "sdr-mirror-tuf-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	opts := &tuf.Options{Root: anchor.Root, RepositoryBaseURL: url, CachePath: tmp, DisableLocalCache: true, Fetcher: rec, Context: ctx}
	c, err := tuf.New(opts)
	if err != nil {
		return nil, fmt.Errorf("fetching the Sigstore trusted root through TUF from %s, anchored at %s (pass %s FILE to verify offline): %w", url, anchor.Name, setting.TrustedRoot, err)
	}
	data, err := c.GetTarget(TUFTarget)
	if err != nil {
		return nil, fmt.Errorf("fetching %s through TUF from %s (pass %s FILE to verify offline): %w", TUFTarget, url, setting.TrustedRoot, err)
	}
	return &TUFMetadata{Files: rec.take(), TrustedRoot: data}, nil
}

// recorder keeps a copy of each metadata file a TUF client fetches.
type recorder struct {
	next  fetcher.Fetcher
	base  string
	mu    sync.Mutex
	files map[string][]byte
}

// DownloadFile fetches as next does, and keeps the metadata by its TUF
// name: a consistent snapshot's N.snapshot.json as snapshot.json.
func (r *recorder) DownloadFile(url string, maxLength int64, timeout time.Duration) ([]byte, error) {
	data, err := r.next.DownloadFile(url, maxLength, timeout)
	if err != nil {
		return nil, err
	}
	rel, ok := strings.CutPrefix(url, r.base)
	if !ok || strings.Contains(rel, "/") {
		return data, nil // a target
	}
	name := rel
	if v, role, ok := strings.Cut(rel, "."); ok && role != "root.json" && v != "" && strings.Trim(v, "0123456789") == "" {
		name = role
	}
	switch {
	case rootName.MatchString(name), name == TUFTimestamp, name == TUFSnapshot, name == TUFTargets:
		r.mu.Lock()
		r.files[name] = data
		r.mu.Unlock()
	}
	return data, nil
}

func (r *recorder) take() map[string][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.files
}

// TUFError is a chain of TUF metadata that does not hold: File (a TUF name,
// or TUFTarget for the trusted root itself) is where it breaks.
type TUFError struct {
	File    string
	Problem string
}

func (e *TUFError) Error() string { return e.File + " " + e.Problem }

// CheckTUF checks, offline, that md's metadata chains to anchor and vouches
// for md.TrustedRoot, as a TUF client would have at the time at: each root
// version after the anchor signed by the one before and by itself, in
// order with no gap; the final root unexpired; timestamp, snapshot and
// targets signed by the keys it names, consistent and unexpired; and
// trusted_root.json listed in targets with its length and hashes. Root
// files at or below the anchor's version are not needed and are ignored.
// A failure is a *TUFError naming the file.
func CheckTUF(anchor TUFAnchor, md TUFMetadata, at time.Time) error {
	tm, err := trustedmetadata.New(anchor.Root)
	if err != nil {
		return fmt.Errorf("reading the TUF root %s: %w", anchor.Name, err)
	}
	tm.RefTime = at
	var versions []int64
	for name := range md.Files {
		if m := rootName.FindStringSubmatch(name); m != nil {
			v, _ := strconv.ParseInt(m[1], 10, 64)
			if v > tm.Root.Signed.Version {
				versions = append(versions, v)
			}
		}
	}
	slices.Sort(versions)
	last := ""
	for i, v := range versions {
		if want := tm.Root.Signed.Version + 1; v != want {
			return &TUFError{File: TUFRootName(want), Problem: fmt.Sprintf("is missing: the roots go from version %d to %d", want-1, versions[i])}
		}
		last = TUFRootName(v)
		if _, err := tm.UpdateRoot(md.Files[last]); err != nil {
			return &TUFError{File: last, Problem: problem(err, at)}
		}
	}
	if tm.Root.Signed.IsExpired(at) {
		if last == "" {
			return &TUFError{File: TUFRootName(tm.Root.Signed.Version + 1), Problem: fmt.Sprintf("is missing: the anchor had expired (%s)", tm.Root.Signed.Expires.UTC().Format(time.RFC3339))}
		}
		return &TUFError{File: last, Problem: fmt.Sprintf("had expired (%s)", tm.Root.Signed.Expires.UTC().Format(time.RFC3339))}
	}
	steps := []struct {
		name   string
		update func([]byte) error
	}{
		{TUFTimestamp, func(b []byte) error { _, err := tm.UpdateTimestamp(b); return err }},
		{TUFSnapshot, func(b []byte) error { _, err := tm.UpdateSnapshot(b, false); return err }},
		{TUFTargets, func(b []byte) error { _, err := tm.UpdateTargets(b); return err }},
	}
	for _, s := range steps {
		data, ok := md.Files[s.name]
		if !ok {
			return &TUFError{File: s.name, Problem: "is missing"}
		}
		if err := s.update(data); err != nil {
			return &TUFError{File: s.name, Problem: problem(err, at)}
		}
	}
	target, ok := tm.Targets[metadata.TARGETS].Signed.Targets[TUFTarget]
	if !ok {
		return &TUFError{File: TUFTargets, Problem: "does not list " + TUFTarget}
	}
	if md.TrustedRoot == nil {
		return &TUFError{File: TUFTarget, Problem: "is missing"}
	}
	if err := target.VerifyLengthHashes(md.TrustedRoot); err != nil {
		return &TUFError{File: TUFTarget, Problem: "does not match the length and hashes " + TUFTargets + " lists for it"}
	}
	return nil
}

// problem is err, from go-tuf, in words.
func problem(err error, at time.Time) string {
	var expired *metadata.ErrExpiredMetadata
	var unsigned *metadata.ErrUnsignedMetadata
	switch {
	case errors.As(err, &expired):
		return "had expired by " + at.UTC().Format(time.RFC3339)
	case errors.As(err, &unsigned):
		msg := unsigned.Msg
		if _, after, ok := strings.Cut(msg, "failed, "); ok {
			msg = after
		}
		return "is not signed by the keys the root names (" + msg + ")"
	}
	return "does not verify: " + err.Error()
}
