package synccmd

import (
	"fmt"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// gateOptions are the signature policy of the gate. Importing a bundle,
// the trusted root is --trusted-root, obtained apart from the bundle, or
// the bundle's own when the TUF metadata it carries chains to the TUF
// anchor (--tuf-root, or the public-good root embedded in this binary);
// or the signatures are checked against a key (--key). A bundle whose root
// has no TUF metadata, or whose metadata does not chain, is refused
// before any push: a file that crossed the gap with the images cannot
// vouch for them on its own.
func (o *Options) gateOptions() ([]verify.Option, error) {
	opts := o.Verify.Options()
	if o.bundle == nil || !o.Verify.Enabled || o.Verify.Key != "" || o.Verify.TrustedRoot != "" {
		return opts, nil
	}
	anchor, err := o.Verify.Anchor()
	if err != nil {
		return nil, err
	}
	chained, where, ok, err := o.bundle.ChainedTrustedRoot(anchor)
	if err != nil {
		return nil, err
	}
	if ok {
		fmt.Fprintf(o.f.IO.ErrOut, "trusted root: %s, whose TUF metadata in the bundle chains to %s as of the bundle's writing (%s)\n",
			where, anchor.Name, ui.When(o.bundle.Manifest().Created, time.Now()))
		return append(opts, chained), nil
	}
	if _, where, own, _ := o.bundle.TrustedRoot(); own {
		return nil, fmt.Errorf("--from-bundle %q: pass --trusted-root FILE obtained apart from the bundle (or --key): the bundle's own trusted root %s has no TUF metadata to check it against: it crossed the gap with the images and cannot vouch for them", o.FromBundle, where)
	}
	return opts, nil
}

// BundleInfo names the bundle a run reads in place of the source
// registries and latest-releases: the table's first line, and "bundle" in
// JSON and YAML.
type BundleInfo struct {
	Dir         string    `json:"dir"`
	ID          string    `json:"id"`
	Parent      string    `json:"parent,omitempty"`
	Created     time.Time `json:"created"`
	ToolVersion string    `json:"toolVersion"`
	// ReleasesFetchedAt is when the connected side read latest-releases,
	// if it did.
	ReleasesFetchedAt *time.Time `json:"releasesFetchedAt,omitempty"`
}

// bundleInfo is the imported bundle's BundleInfo; nil without one.
func (o *Options) bundleInfo() *BundleInfo {
	if o.bundle == nil {
		return nil
	}
	m := o.bundle.Manifest()
	info := &BundleInfo{Dir: o.FromBundle, ID: m.ID, Parent: m.Parent, Created: m.Created, ToolVersion: m.ToolVersion}
	if r := o.bundle.Releases(); r != nil {
		at := r.FetchedAt
		info.ReleasesFetchedAt = &at
	}
	return info
}

// staleSnapshot is the age of a bundle's latest-releases snapshot past
// which an import warns that releases announced since are not in it.
const staleSnapshot = 7 * 24 * time.Hour

// describe is the bundle's line above the table, and a warning when its
// latest-releases snapshot is older than staleSnapshot: an operator
// holding last month's media learns it from the first line.
func (b *BundleInfo) describe(now time.Time) (line, warning string) {
	line = fmt.Sprintf("bundle %s: %s, written %s by sdr-mirror %s", b.Dir, b.ID, ui.When(b.Created, now), b.ToolVersion)
	if b.Parent != "" {
		line += ", incremental after bundle " + b.Parent
	}
	if at := b.ReleasesFetchedAt; at != nil && now.Sub(*at) > staleSnapshot {
		warning = fmt.Sprintf("bundle %q: its latest-releases snapshot was read %s: releases announced since are not in it; export a fresh bundle to carry them",
			b.Dir, ui.When(*at, now))
	}
	return line, warning
}

// warnStale warns when the bundle's latest-releases snapshot is stale.
func (o *Options) warnStale(b *BundleInfo) {
	if b == nil {
		return
	}
	if _, warning := b.describe(time.Now()); warning != "" {
		o.f.Warnf("%s", warning)
	}
}

// notInBundleError fails a run whose needed images the bundle lacks.
func (o *Options) notInBundleError(n int) error {
	return fmt.Errorf("%s not in the bundle %q (see %s): export what is missing with sync --to-bundle and import again", ui.Count(n, "needed image is", "needed images are"), o.FromBundle, o.see("DETAIL", "reason"))
}
