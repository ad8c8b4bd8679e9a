package factory

import (
	"github.com/spf13/pflag"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
)

// VerifyFlags configure the signature gate.
type VerifyFlags struct {
	Enabled        bool
	Identity       string
	IdentityRegexp string
	Issuer         string
	IssuerRegexp   string
	Key            string
	TrustedRoot    string
}

// AddFlags registers --verify and the cosign-style policy flags.
func (v *VerifyFlags) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&v.Enabled, "verify", true, "verify each source image's cosign signature before it is copied or mapped; --verify=false turns the gate off")
	fs.StringVar(&v.Identity, "certificate-identity", "", "signing identity to accept (default: Atlan's signing workflow, "+verify.DefaultIdentity+")")
	fs.StringVar(&v.IdentityRegexp, "certificate-identity-regexp", "", "regular expression for the signing identity, instead of --certificate-identity")
	fs.StringVar(&v.Issuer, "certificate-oidc-issuer", "", "OIDC issuer of the signing certificate (default: "+verify.DefaultIssuer+")")
	fs.StringVar(&v.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "regular expression for the OIDC issuer, instead of --certificate-oidc-issuer")
	fs.StringVar(&v.Key, "key", "", "verify with this public key instead of a keyless identity: a PEM file (cosign.pub) or a KMS key URI (awskms://, gcpkms://, azurekms://, hashivault://)")
	fs.StringVar(&v.TrustedRoot, "trusted-root", "", "Sigstore trusted_root.json for offline, air-gapped verification (default: the public-good instance, fetched through TUF)")
}

// Options turns the flags into verifier options.
func (v *VerifyFlags) Options() []verify.Option {
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
	if v.TrustedRoot != "" {
		opts = append(opts, verify.WithTrustedRootFile(v.TrustedRoot))
	}
	return opts
}

// WarnIfDisabled says on standard error, every run, that the gate is off.
func (v *VerifyFlags) WarnIfDisabled(f *Factory) {
	if !v.Enabled {
		f.Warnf("signature verification is OFF (--verify=false): images are mirrored and mapped without checking who signed them")
	}
}
