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

// notInBundleError fails a run whose needed images the bundle lacks.
func (o *Options) notInBundleError(n int) error {
	return fmt.Errorf("%s not in the bundle %q (see %s): export what is missing with sync --to-bundle and import again", ui.Count(n, "needed image is", "needed images are"), o.FromBundle, o.see("DETAIL", "reason"))
}
