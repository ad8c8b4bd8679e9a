package verifycmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/airgap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// BundleReport is verify --bundle's output.
type BundleReport struct {
	Bundle  string `json:"bundle"`
	ID      string `json:"id"`
	Created string `json:"created"`
	// Checksums is "ok": a bundle whose files do not match is refused
	// before any report.
	Checksums   string           `json:"checksums"`
	TrustedRoot *TrustedRoot     `json:"trustedRoot,omitempty"`
	Images      []airgap.Verdict `json:"images"`
	// Parent, Inside and External describe an incremental bundle: the
	// bundle it follows, the needed images the inside holds already and
	// the blobs left out because it does (docs/bundle.md).
	Parent   string `json:"parent,omitempty"`
	Inside   int    `json:"inside,omitempty"`
	External int    `json:"external,omitempty"`
}

// TrustedRoot says which trusted root signatures were checked with, and
// why it is trusted, or not.
type TrustedRoot struct {
	Path string `json:"path"`
	// Source is "flag" (--trusted-root) or "bundle" (the bundle's own).
	Source string `json:"source"`
	// Trusted is true for --trusted-root, and for the bundle's own when
	// its TUF metadata chains to the anchor.
	Trusted bool `json:"trusted"`
	// Chain is the TUF anchor the bundle's root chains to, when it does.
	Chain string `json:"chain,omitempty"`
	// Problem is why the bundle's own root is not trusted.
	Problem string `json:"problem,omitempty"`
}

// noTUF is the problem of a bundle's root that has no TUF metadata.
const noTUF = "it carries no TUF metadata"

func (o *Options) runBundle(ctx context.Context) error {
	src, err := airgap.Open(ctx, o.Bundle)
	if err != nil {
		return err
	}
	defer src.Close()
	// Only the bundle is read: no credentials are needed, none are sent.
	c, err := mirror.New(append([]mirror.Option{mirror.WithKeychain(authn.NewMultiKeychain())}, src.Registry()...)...)
	if err != nil {
		return err
	}
	opts := o.Verify.Options()
	m := src.Manifest()
	r := BundleReport{Bundle: o.Bundle, ID: m.ID, Created: m.Created.Format("2006-01-02T15:04:05Z07:00"), Checksums: "ok",
		Parent: m.Parent, Inside: len(m.Inside), External: len(m.External)}
	switch {
	case o.Verify.Key != "":
	case o.Verify.TrustedRoot != "":
		r.TrustedRoot = &TrustedRoot{Path: o.Verify.TrustedRoot, Source: "flag", Trusted: true}
	default:
		anchor, err := o.Verify.Anchor()
		if err != nil {
			return err
		}
		chained, where, ok, chainErr := src.ChainedTrustedRoot(anchor)
		if ok && chainErr == nil {
			r.TrustedRoot = &TrustedRoot{Path: where, Source: "bundle", Trusted: true, Chain: anchor.Name}
			opts = append(opts, chained)
			break
		}
		own, where, ok, err := src.OwnTrustedRoot()
		switch {
		case err != nil:
			return err
		case !ok && chainErr != nil:
			return chainErr
		}
		if ok {
			r.TrustedRoot = &TrustedRoot{Path: where, Source: "bundle", Trusted: false, Problem: noTUF}
			if chainErr != nil {
				r.TrustedRoot.Problem = chainErr.Error()
			}
			opts = append(opts, own)
		}
	}
	verdicts, policy, err := airgap.Verify(ctx, src, c, opts...)
	if err != nil {
		return err
	}
	r.Images = verdicts
	failed := 0
	for _, v := range verdicts {
		if !v.Verified {
			failed++
		}
	}
	if err := o.f.Print(r, func(w io.Writer, s *ui.Styles) error {
		fmt.Fprintf(w, "bundle %s (%s, created %s): checksums ok, %d images\n", r.Bundle, r.ID, r.Created, len(r.Images))
		if r.Inside > 0 || r.External > 0 {
			fmt.Fprintf(w, "incremental (after %s): %s already inside and %s they hold are named, not carried; the import checks the blobs are there\n",
				cmp.Or(r.Parent, "a lock with no bundle"), ui.Count(r.Inside, "needed image", "needed images"), ui.Count(r.External, "blob", "blobs"))
		}
		if tr := r.TrustedRoot; tr != nil {
			switch {
			case tr.Chain != "":
				fmt.Fprintf(w, "trusted root: the bundle's own (%s), whose TUF metadata chains to %s as of the bundle's writing (%s)\n", tr.Path, tr.Chain, ui.When(m.Created, time.Now()))
			case tr.Trusted:
				fmt.Fprintf(w, "trusted root: %s\n", tr.Path)
			default:
				fmt.Fprintln(w, s.Bad.Render("trusted root: the bundle's own ("+tr.Path+"), untrusted"))
			}
		}
		fmt.Fprintln(w)
		table := make([][]string, len(r.Images))
		for i, v := range r.Images {
			verdict, signer := cells(v.Verdict)
			table[i] = []string{v.Source, v.Digest, verdict, signer}
		}
		return s.Table(w, []string{"IMAGE", "DIGEST", "SIGNATURE", "SIGNER"}, table, func(row, col int) lipgloss.Style {
			if col != 2 {
				return s.Plain
			}
			if r.Images[row].Verified {
				return s.OK
			}
			return s.Bad
		})
	}); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images in bundle %q failed signature verification (%s)", failed, len(verdicts), o.Bundle, policy)
	}
	if tr := r.TrustedRoot; tr != nil && !tr.Trusted {
		if tr.Problem != noTUF {
			return errors.New(tr.Problem)
		}
		return fmt.Errorf("bundle %q: the signatures check out only against the bundle's own trusted root, which has no TUF metadata to check it against: it crossed the gap with the images and proves nothing about who signed them; pass --trusted-root FILE obtained apart from the bundle", o.Bundle)
	}
	return nil
}
