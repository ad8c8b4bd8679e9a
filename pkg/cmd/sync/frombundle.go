package synccmd

import (
	"fmt"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
)

// gateOptions are the signature policy of the gate. Importing a bundle,
// the trusted root must come from outside it (--trusted-root) or the
// signatures be checked against a key (--key): the bundle's own
// trusted_root.json crossed the gap with the images, so it cannot vouch
// for them, and a run that would rely on it is refused before any push.
func (o *Options) gateOptions() ([]verify.Option, error) {
	opts := o.Verify.Options()
	if o.bundle == nil || !o.Verify.Enabled || o.Verify.Key != "" || o.Verify.TrustedRoot != "" {
		return opts, nil
	}
	if _, where, own, _ := o.bundle.TrustedRoot(); own {
		return nil, fmt.Errorf("--from-bundle %q: pass --trusted-root FILE obtained apart from the bundle (or --key): the bundle's own trusted root %s crossed the gap with the images and cannot vouch for them", o.FromBundle, where)
	}
	return opts, nil
}

// notInBundleError fails a run whose needed images the bundle lacks.
func (o *Options) notInBundleError(n int) error {
	return fmt.Errorf("%s not in the bundle %q (see %s): export what is missing with sync --to-bundle and import again", count(n, "needed image is", "needed images are"), o.FromBundle, o.see("DETAIL", "reason"))
}
