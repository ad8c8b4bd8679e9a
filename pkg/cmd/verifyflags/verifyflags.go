package verifyflags

import (
	"errors"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/spf13/pflag"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
)

// Flags configure the signature gate.
type Flags struct {
	Enabled        bool
	Identity       string
	IdentityRegexp string
	Issuer         string
	IssuerRegexp   string
	Key            string
	TrustedRoot    string
	TUFRoot        string
	TUFURL         string
}

// AddFlags registers --verify and the cosign-style policy flags.
func (v *Flags) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&v.Enabled, "verify", true, "verify each source image's cosign signature before it is copied or mapped; --verify=false turns the gate off")
	fs.StringVar(&v.Identity, "certificate-identity", "", "signing identity to accept (default: Atlan's signing workflow, "+verify.DefaultIdentity+")")
	fs.StringVar(&v.IdentityRegexp, "certificate-identity-regexp", "", "regular expression for the signing identity, instead of --certificate-identity")
	fs.StringVar(&v.Issuer, "certificate-oidc-issuer", "", "OIDC issuer of the signing certificate (default: "+verify.DefaultIssuer+")")
	fs.StringVar(&v.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "regular expression for the OIDC issuer, instead of --certificate-oidc-issuer")
	fs.StringVar(&v.Key, "key", "", "verify with this public key instead of a keyless identity: a PEM file (cosign.pub) or a KMS key URI (awskms://, gcpkms://, azurekms://, hashivault://)")
	fs.StringVar(&v.TrustedRoot, "trusted-root", "", "Sigstore trusted_root.json for offline, air-gapped verification (default: the public-good instance, fetched through TUF; a bundle's own when its TUF metadata chains to --tuf-root)")
	fs.StringVar(&v.TUFRoot, "tuf-root", "", "TUF root.json the trusted root must chain to, fetched through TUF or carried in a bundle: the anchor of a private Sigstore (default: the public-good root embedded in this binary)")
	fs.StringVar(&v.TUFURL, "tuf-url", "", "TUF repository the trusted root is fetched from, for a private Sigstore (default: "+tuf.DefaultMirror+")")
}

// Validate refuses --tuf-url where nothing is fetched: with --trusted-root
// or --key, and when a bundle is read (importing says so), whose own TUF
// metadata is checked offline.
func (v *Flags) Validate(importing string) error {
	switch {
	case v.TUFURL == "":
	case v.TrustedRoot != "":
		return errors.New("--tuf-url cannot be combined with --trusted-root: the trusted root is the file given, nothing is fetched")
	case v.Key != "":
		return errors.New("--tuf-url cannot be combined with --key: a key needs no trusted root")
	case importing != "":
		return fmt.Errorf("--tuf-url cannot be combined with %s: the bundle's TUF metadata is checked offline, against --tuf-root", importing)
	}
	return nil
}

// Anchor is the TUF root a bundle's TUF metadata must chain to: --tuf-root,
// or the public-good root embedded in this binary.
func (v *Flags) Anchor() (verify.TUFAnchor, error) {
	if v.TUFRoot == "" {
		return verify.PublicGoodAnchor(), nil
	}
	return verify.TUFAnchorFile(v.TUFRoot)
}

// Options turns the flags into verifier options.
func (v *Flags) Options() []verify.Option {
	var opts []verify.Option
	if v.Key != "" {
		opts = append(opts, verify.WithKey(v.Key))
	}
	if v.Identity != "" || v.IdentityRegexp != "" {
		opts = append(opts, verify.WithIdentity(v.Identity, v.IdentityRegexp))
	}
	if v.Issuer != "" || v.IssuerRegexp != "" {
		opts = append(opts, verify.WithIssuer(v.Issuer, v.IssuerRegexp))
	}
	switch {
	case v.TrustedRoot != "":
		opts = append(opts, verify.WithTrustedRootFile(v.TrustedRoot))
	case v.Key == "" && (v.TUFRoot != "" || v.TUFURL != ""):
		opts = append(opts, verify.WithTUF(v.TUFRoot, v.TUFURL))
	}
	return opts
}

// WarnIfDisabled says on standard error, every run, that the gate is off.
func (v *Flags) WarnIfDisabled(f interface {
	Warnf(format string, args ...any)
}) {
	if !v.Enabled {
		f.Warnf("signature verification is OFF (--verify=false): images are mirrored and mapped without checking who signed them")
	}
}
