package syncer

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/bundle"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
)

// The states of an exported image.
const (
	Exported   = "exported"   // verified and written to the bundle
	Unverified = "unverified" // the signature check failed: left out
	Failed     = "error"      // the registry could not be read: left out
	Left       = "skipped"    // found, but not an image to mirror
	Inside     = "inside"     // the inside's lock has it at this digest: not carried
)

// ExportRow is one needed image and what the export did with it.
type ExportRow struct {
	Source string           `json:"source"`
	Digest string           `json:"digest,omitempty"`
	Why    []string         `json:"why"`
	State  string           `json:"state"`
	Signer *imagemap.Signer `json:"signer,omitempty"`
	Reason string           `json:"reason,omitempty"`
}

// Export is what ExportBundle did.
type Export struct {
	Dir    string        `json:"bundle"`
	Images []ExportRow   `json:"images"`
	Stats  *bundle.Stats `json:"stats,omitempty"`
	// Files are the archive's files, when the bundle is a tar archive.
	Files []string `json:"files,omitempty"`
	// TUF says where the trusted root was fetched through TUF, when it was.
	TUF *ExportedTUF `json:"tuf,omitempty"`
}

// ExportedTUF is the TUF repository an export fetched the trusted root
// from, the anchor it chained to, and the metadata files it carries.
type ExportedTUF struct {
	URL    string   `json:"url"`
	Anchor string   `json:"anchor"`
	Files  []string `json:"files"`
}

// Left reports the needed images the bundle does not hold: refused by
// the gate or unreadable.
func (e *Export) Left() int {
	n := 0
	for _, r := range e.Images {
		if r.State == Unverified || r.State == Failed {
			n++
		}
	}
	return n
}

// ExportOptions says where and how a bundle is written.
type ExportOptions struct {
	Dir string
	// Verify turns the signature gate on, with VerifyOptions; an image it
	// refuses is left out of the bundle.
	Verify        bool
	VerifyOptions []verify.Option
	// TrustedRoot is the trusted_root.json file signatures are verified
	// with; it is copied into the bundle.
	TrustedRoot string
	// TUF, when TrustedRoot is empty, fetches the trusted root through a
	// TUF repository instead; the root and every metadata file read go
	// into the bundle, so that the inside can check the root against its
	// own anchor, offline.
	TUF         *ExportTUF
	ToolVersion string
	// Archive writes the bundle as a tar archive at Dir (first in the
	// directory Dir.staging, which a rerun resumes), split into parts of at
	// most SplitSize bytes when SplitSize > 0.
	Archive   bool
	SplitSize int64
	// Progress is told how the fetching of blobs goes.
	Progress func(bundle.Progress)
	// SinceLock is the inside's lock (docs/bundle.md, "Incremental
	// bundles"): needed images it holds at the same digest are not
	// carried, nor the blobs of any image it names.
	SinceLock *imagemap.Lock
}

// ExportTUF is the TUF repository an export fetches the trusted root from,
// and the root it is anchored at.
type ExportTUF struct {
	Anchor verify.TUFAnchor
	// URL is the repository; empty: Sigstore's public-good one.
	URL string
}

// ExportBundle reads the needed images from cfg's origins, as Plan does,
// passes each through the same signature gate as sync, and writes those
// that pass, with their signatures and referrers, into a bundle instead
// of pushing and mapping them. cfg's map and target are not used.
func ExportBundle(ctx context.Context, cfg Config, eo ExportOptions) (*Export, error) {
	r := &Run{cfg: cfg}
	var (
		snapshot *bundle.Releases
		snapMu   sync.Mutex
	)
	r.cfg.Input.OnSnapshot = func(body []byte, at time.Time) {
		snapMu.Lock()
		defer snapMu.Unlock()
		snapshot = &bundle.Releases{FetchedAt: at.UTC(), Response: append([]byte(nil), body...)}
	}
	inv, err := r.gather(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.newCopier(); err != nil {
		return nil, err
	}
	items := r.filter(inv.Items())
	var trusted []byte
	if eo.TrustedRoot != "" {
		if trusted, err = os.ReadFile(eo.TrustedRoot); err != nil {
			return nil, fmt.Errorf("reading trusted root: %w", err)
		}
	}
	sources := make([]string, len(items))
	for i, it := range items {
		sources[i] = it.Image
	}
	if err := r.copier.Probe(ctx, sources, nil); err != nil {
		return nil, err
	}
	out := &Export{Dir: eo.Dir}
	rows := make([]ExportRow, len(items))
	var gate *verify.Gate
	var tuf map[string][]byte
	if eo.Verify && len(items) > 0 {
		vopts := eo.VerifyOptions
		if eo.TrustedRoot == "" && eo.TUF != nil {
			md, err := verify.FetchTUF(ctx, eo.TUF.Anchor, eo.TUF.URL)
			if err != nil {
				return nil, err
			}
			trusted, tuf = md.TrustedRoot, md.Files
			out.TUF = &ExportedTUF{URL: cmp.Or(eo.TUF.URL, verify.PublicGoodURL), Anchor: eo.TUF.Anchor.Name, Files: slices.Sorted(maps.Keys(tuf))}
			vopts = append(slices.Clip(vopts), verify.WithTrustedRootJSON(trusted, "fetched through TUF"))
		}
		if gate, err = verify.NewGate(ctx, r.copier, vopts...); err != nil {
			return nil, err
		}
	}
	held := lockIndex(eo.SinceLock)
	inside := make([]*bundle.Inside, len(items))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(cfg.Concurrency, 1))
	for i, it := range items {
		rows[i] = ExportRow{Source: it.Image, Why: it.Why}
		g.Go(func() error {
			desc, err := r.exportHead(gctx, it.Image)
			if err != nil {
				rows[i].State, rows[i].Reason = Failed, err.Error()
				return nil
			}
			rows[i].Digest = desc.Digest.String()
			if e, ok := held[lockKey(it.Image, rows[i].Digest)]; ok {
				rows[i].State, rows[i].Reason = Inside, "mirrored inside to "+e.Destination+", per the lock"
				inside[i] = &bundle.Inside{Source: it.Image, Digest: rows[i].Digest, MediaType: desc.MediaType, Size: desc.Size, Destination: e.Destination, Why: nonNilStrings(it.Why)}
				return nil
			}
			rows[i].State, rows[i].Signer, rows[i].Reason = r.exportVerify(gctx, gate, it.Image, rows[i].Digest)
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := bundle.Contents{ToolVersion: eo.ToolVersion, Releases: snapshot, TrustedRoot: trusted, TUF: tuf}
	if l := eo.SinceLock; l != nil {
		c.Parent = lastBundle(l)
		for _, e := range l.Entries {
			c.Locked = append(c.Locked, bundle.Locked{Source: e.Source, Digest: e.Digest, Destination: e.Destination})
		}
	}
	for i, row := range rows {
		c.Needed = append(c.Needed, bundle.Needed{Image: row.Source, Why: row.Why})
		if inside[i] != nil {
			c.Inside = append(c.Inside, *inside[i])
		}
		if row.State == Exported {
			c.Images = append(c.Images, bundle.Image{Source: row.Source, Digest: row.Digest, Why: row.Why, Signer: row.Signer})
		}
	}
	for _, s := range r.skips {
		rows = append(rows, ExportRow{Source: s.Image, Why: nonNilStrings(s.Why), State: Left, Reason: s.Reason})
	}
	for _, s := range r.Skipped {
		var why []string
		if s.Why != "" {
			why = []string{s.Why}
		}
		rows = append(rows, ExportRow{Source: s.Image, Why: nonNilStrings(why), State: Left, Reason: s.Reason})
	}
	out.Images = rows
	if len(c.Images) == 0 && len(c.Inside) == 0 {
		return out, fmt.Errorf("no image to export to %q: none of the %d needed images passed", eo.Dir, len(items))
	}
	dir := eo.Dir
	if eo.Archive {
		dir = eo.Dir + bundle.StagingSuffix
	}
	out.Stats, err = bundle.Write(ctx, dir, c, bundle.WithRemote(r.copier.SourceRemote), bundle.WithConcurrency(max(cfg.Concurrency, 1)), bundle.WithProgress(eo.Progress))
	if err != nil {
		return out, err
	}
	if !eo.Archive {
		return out, nil
	}
	if out.Files, err = bundle.Pack(dir, eo.Dir, eo.SplitSize); err != nil {
		return out, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return out, fmt.Errorf("removing the staging directory %q: %w", dir, err)
	}
	return out, nil
}

// exportHead resolves source's digest.
func (r *Run) exportHead(ctx context.Context, source string) (*v1.Descriptor, error) {
	ref, opts, err := r.copier.SourceRemote(source)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Head(ref, append(opts, remote.WithContext(ctx))...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	return desc, nil
}

// exportVerify passes source at digest through the gate.
func (r *Run) exportVerify(ctx context.Context, gate *verify.Gate, source, digest string) (state string, signer *imagemap.Signer, reason string) {
	if gate == nil {
		return Exported, nil, ""
	}
	signer, err := gate.Verify(ctx, source, digest)
	if err != nil {
		return Unverified, nil, err.Error()
	}
	return Exported, signer, ""
}

// lockIndex indexes the entries of the inside's lock by source and
// digest.
func lockIndex(l *imagemap.Lock) map[string]imagemap.LockEntry {
	out := map[string]imagemap.LockEntry{}
	if l == nil {
		return out
	}
	for _, e := range l.Entries {
		out[lockKey(e.Source, e.Digest)] = e
	}
	return out
}

// lockKey is source, as the registry names it, at digest: the map's
// short forms (atlanhq/app:1.0) and the full ones meet.
func lockKey(source, digest string) string {
	if ref, err := name.ParseReference(source); err == nil {
		source = ref.Name()
	}
	return source + "@" + digest
}

// lastBundle is the ID of the bundle the lock's newest imported entry came
// from: the parent of a bundle exported against it.
func lastBundle(l *imagemap.Lock) string {
	var id string
	var at time.Time
	for _, e := range l.Entries {
		if e.Bundle != nil && !e.Time.Before(at) {
			id, at = e.Bundle.ID, e.Time
		}
	}
	return id
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
