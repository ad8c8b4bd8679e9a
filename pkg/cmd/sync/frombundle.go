package synccmd

import (
	"fmt"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
)

// gateOptions are the signature policy of the gate. Importing a bundle
// with neither --trusted-root nor --key, the bundle's own trusted root is
// used, and said to be untrusted: it crossed the gap with the images.
func (o *Options) gateOptions() []verify.Option {
	opts := o.Verify.Options()
	if o.bundle == nil || o.Verify.Key != "" || o.Verify.TrustedRoot != "" {
		return opts
	}
	if path, own := o.bundle.TrustedRoot(""); own {
		o.f.Warnf("verifying with the bundle's own trusted root %s, which crossed the gap with the images and is not trusted: pass --trusted-root FILE obtained separately", path)
		opts = append(opts, verify.WithTrustedRootFile(path))
	}
	return opts
}

// notInBundleError fails a run whose needed images the bundle lacks.
func (o *Options) notInBundleError(n int) error {
	return fmt.Errorf("%s not in the bundle %q (see %s): export what is missing with sync --to-bundle and import again", count(n, "needed image is", "needed images are"), o.FromBundle, o.see("DETAIL", "reason"))
}
