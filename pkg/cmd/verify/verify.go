package verifycmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/capool"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/core"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/registryflags"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/verifyflags"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// Options are the verify command's inputs.
type Options struct {
	f        *core.Factory
	Verify   verifyflags.Flags
	Registry registryflags.Flags
	Images   []string
	// Bundle is --bundle: check the bundle in this directory instead of
	// images in registries.
	Bundle string

	// Set by Complete and Validate.
	client *mirror.Copier
	refs   []name.Reference
	ropts  []remote.Option
}

// Row is one image's verdict.
type Row struct {
	Image  string `json:"image"`
	Digest string `json:"digest,omitempty"`
	verify.Verdict
}

// NewCmdVerify returns the verify command. runF, when not nil, is called
// with the completed and validated options instead of Run, so tests can see
// what the flags became.
func NewCmdVerify(f *core.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{f: f}
	cmd := &cobra.Command{
		Use:   "verify IMAGE... | --bundle DIR",
		Short: "Check the cosign signatures of images, as the sync gate does",
		Long: `Check each image's cosign signature by digest, as sync does before it copies or maps an
image. Keyless signatures must come from the given identity and OIDC issuer (Atlan's
signing workflow and GitHub Actions by default) and chain to the trusted root; --key
checks against a public key (a PEM file or a KMS key URI) instead. Both the classic "sha256-<digest>.sig" tag and
Sigstore bundles stored as OCI referrers are read.

With --bundle, a bundle written by sync --to-bundle is checked instead: every file
against its SHA256SUMS (none missing, none extra), then every image's signature again,
from the signatures the bundle carries, pushing nothing and reaching no registry. The
trusted root is --trusted-root; without it, the bundle's own, trusted when the TUF
metadata the export recorded with it chains, offline and as of the bundle's writing, to
the Sigstore root embedded in this binary or to --tuf-root. A bundle root that does not
chain is marked untrusted (it crossed the gap with the images), and the exit code is 1.

An image that fails is reported with its reason — no signature, wrong identity, wrong
issuer, bad signature, untrusted root — and the exit code is 1.`,
		Example: strings.ReplaceAll(`  # Verify with Atlan's defaults against the public-good Sigstore
  NAME verify atlanhq/atlan-teradata-app:3.1.4

  # Offline: a trusted root file, and a different signer
  NAME verify registry.example.com/atlan/app:1.0 --trusted-root trusted_root.json \
      --certificate-identity-regexp '^https://github.com/example/' --certificate-oidc-issuer https://token.actions.githubusercontent.com

  # Images signed with a key
  NAME verify registry.example.com/atlan/app:1.0 --key cosign.pub

  # A key held in a KMS (awskms://, gcpkms://, azurekms://, hashivault://)
  NAME verify registry.example.com/atlan/app:1.0 --key awskms:///alias/image-signing

  # A private registry with its own CA and credentials
  NAME verify registry.example.com/atlan/app:1.0 --registry-ca-file ca.pem --registry-auth-file auth.json

  # A bundle, offline, against a trusted root obtained separately
  NAME verify --bundle /media/sdr-bundle --trusted-root trusted_root.json

  # A bundle from a private Sigstore: its root must chain to that Sigstore's TUF root
  NAME verify --bundle /media/sdr-bundle --tuf-root root.json

  # Online, against a private Sigstore's TUF repository
  NAME verify registry.example.com/atlan/app:1.0 --tuf-url https://tuf.sigstore.example.com --tuf-root root.json`, "NAME", f.Name),
		Args: func(cmd *cobra.Command, args []string) error {
			if o.Bundle != "" {
				if len(args) > 0 {
					return fmt.Errorf("--bundle checks every image the bundle holds: pass no IMAGE (got %q)", args[0])
				}
				return nil
			}
			return cobra.MinimumNArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Images = args
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return o.Run(cmd.Context())
		},
	}
	o.Verify.AddFlags(cmd.Flags())
	_ = cmd.Flags().MarkHidden("verify")
	o.Registry.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.Bundle, "bundle", "", "check the bundle in this directory (sync --to-bundle): its checksums and every image's signature, offline")
	return cmd
}

// Complete builds the registry client from the flags.
func (o *Options) Complete() error {
	if o.Bundle != "" {
		// The bundle is the only registry read; it is opened in Run.
		return nil
	}
	mopts, err := o.Registry.Options()
	if err != nil {
		return err
	}
	// Registries are read the way sync reads its sources: the same
	// credentials, CAs, plain-HTTP hosts and mirrors.
	o.client, err = mirror.New(mopts...)
	return err
}

// Validate checks every image argument before any registry is asked. The
// signature policy flags are checked as the verifier is built, in Run.
func (o *Options) Validate() error {
	importing := ""
	if o.Bundle != "" {
		importing = "--bundle"
	}
	if err := o.Verify.Validate(importing); err != nil {
		return err
	}
	if o.Bundle != "" {
		if len(o.Registry.Mirrors) > 0 {
			return errors.New("--registry-mirror cannot be combined with --bundle: the bundle is the only registry read")
		}
		return nil
	}
	o.refs = make([]name.Reference, len(o.Images))
	for i, img := range o.Images {
		r, opts, err := o.client.SourceRemote(img)
		if err != nil {
			return fmt.Errorf("image argument: %w", err)
		}
		o.refs[i], o.ropts = r, opts
	}
	return nil
}

// Run verifies every image and prints a verdict for each.
func (o *Options) Run(ctx context.Context) error {
	if o.Bundle != "" {
		return o.runBundle(ctx)
	}
	refs, ropts := o.refs, o.ropts
	v, err := verify.New(ctx, append(o.Verify.Options(), verify.WithRemoteOptions(ropts...))...)
	if err != nil {
		return err
	}
	if err := o.client.Probe(ctx, o.Images, nil); err != nil {
		return err
	}
	rows := make([]Row, len(refs))
	failed := 0
	for i, r := range refs {
		rows[i] = Row{Image: o.Images[i]}
		d, err := digestOf(ctx, r, ropts)
		if err != nil {
			return err
		}
		rows[i].Digest = d.DigestStr()
		if rows[i].Verdict, err = v.Check(ctx, d); err != nil {
			return err
		}
		if !rows[i].Verified {
			failed++
		}
	}
	if err := o.f.Print(rows, func(w io.Writer, s *ui.Styles) error {
		table := make([][]string, len(rows))
		for i, r := range rows {
			verdict, signer := cells(r.Verdict)
			table[i] = []string{r.Image, verdict, signer}
		}
		return s.Table(w, []string{"IMAGE", "SIGNATURE", "SIGNER"}, table, func(row, col int) lipgloss.Style {
			if col != 1 {
				return s.Plain
			}
			if rows[row].Verified {
				return s.OK
			}
			return s.Bad
		})
	}); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images failed signature verification (%s)", failed, len(rows), v.Policy())
	}
	return nil
}

func digestOf(ctx context.Context, r name.Reference, opts []remote.Option) (name.Digest, error) {
	if d, ok := r.(name.Digest); ok {
		return d, nil
	}
	desc, err := remote.Head(r, append(opts, remote.WithContext(ctx))...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("resolving the digest of %q: %w%s", r, err, capool.Hint(err, mirror.RegistryCARemedy()))
	}
	return r.Context().Digest(desc.Digest.String()), nil
}

// cells are a verdict's SIGNATURE and SIGNER columns: who signed a
// verified image, and why an unverified one was refused.
func cells(v verify.Verdict) (verdict, signer string) {
	if !v.Verified {
		return "unverified: " + v.Reason, v.Detail
	}
	return "verified", v.Identity
}
