package syncer

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

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
			vopts = append(slices.Clip(vopts), verify.WithTrustedRootJSON(trusted, "fetched through TUF"))
		}
		if gate, err = verify.NewGate(ctx, r.copier, vopts...); err != nil {
			return nil, err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(cfg.Concurrency, 1))
	for i, it := range items {
		rows[i] = ExportRow{Source: it.Image, Why: it.Why}
		g.Go(func() error {
			rows[i].Digest, rows[i].State, rows[i].Signer, rows[i].Reason = r.exportCheck(gctx, gate, it.Image)
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := bundle.Contents{ToolVersion: eo.ToolVersion, Releases: snapshot, TrustedRoot: trusted, TUF: tuf}
	for _, row := range rows {
		c.Needed = append(c.Needed, bundle.Needed{Image: row.Source, Why: row.Why})
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
	if len(c.Images) == 0 {
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

// exportCheck resolves source's digest and passes it through the gate.
func (r *Run) exportCheck(ctx context.Context, gate *verify.Gate, source string) (digest, state string, signer *imagemap.Signer, reason string) {
	ref, opts, err := r.copier.SourceRemote(source)
	if err != nil {
		return "", Failed, nil, err.Error()
	}
	desc, err := remote.Head(ref, append(opts, remote.WithContext(ctx))...)
	if err != nil {
		return "", Failed, nil, fmt.Sprintf("reading %s: %v", ref, err)
	}
	digest = desc.Digest.String()
	if gate == nil {
		return digest, Exported, nil, ""
	}
	signer, err = gate.Verify(ctx, source, digest)
	if err != nil {
		return digest, Unverified, nil, err.Error()
	}
	return digest, Exported, signer, ""
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
