package copycmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/core"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/registryflags"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// Options are the copy command's inputs.
type Options struct {
	f           *core.Factory
	Registry    registryflags.Flags
	Concurrency int
	Platforms   []string
	Overwrite   bool
	Pairs       []mirror.Pair

	opts []mirror.Option
}

// NewCmdCopy returns the copy command. runF, when not nil, is called with
// the completed and validated options instead of Run, so tests can see what
// the flags became.
func NewCmdCopy(f *core.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{f: f}
	cmd := &cobra.Command{
		Use:   "copy SOURCE DESTINATION [SOURCE DESTINATION...]",
		Short: "Copy images from registry to registry, signatures and referrers included",
		Long: `Copy each SOURCE image (tag, digest or tag@digest) to its DESTINATION, registry to
registry, without a container daemon.

The whole multi-arch index is copied and every digest stays the same, unless
--platform asks for a subset (the destination index then has a new digest). An image
the destination already has is skipped after one request to each registry. Blobs shared
by several images cross the network once and are mounted into the other repositories of
the destination registry. Cosign signatures, attestations and SBOMs
(sha256-<digest>.sig/.att/.sbom) and OCI referrers travel with the image. Throttled
(429) and failing (5xx) requests are retried, honouring Retry-After; rerunning an
interrupted copy finishes it without copying again what is there. A destination tag that
holds a different image is reported and left alone unless --overwrite is given.

Credentials come from docker's config.json and credential helpers, podman's auth.json,
the GCR/GAR, ECR and ACR credential sources, and --registry-auth-file.`,
		Example: strings.ReplaceAll(`  # Mirror one image, every platform, digests preserved
  NAME copy docker.io/atlanhq/atlan-teradata-app:3.1.4 registry.example.com/atlan/atlan-teradata-app:3.1.4

  # Only linux/amd64 (the destination index digest changes)
  NAME copy atlanhq/app:1.0 registry.example.com/atlan/app:1.0 --platform linux/amd64

  # Pull Docker Hub images through a pull-through cache, push to a plain-HTTP registry
  NAME copy atlanhq/app:1.0 10.0.0.5:5000/atlan/app:1.0 \
      --registry-mirror docker.io=proxy.internal:5000 --insecure-registry 10.0.0.5:5000`, "NAME", f.Name),
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 || len(args)%2 != 0 {
				return fmt.Errorf("want SOURCE DESTINATION pairs, got %d argument(s)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			for i := 0; i < len(args); i += 2 {
				o.Pairs = append(o.Pairs, mirror.Pair{Source: args[i], Destination: args[i+1]})
			}
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
	o.Registry.AddFlags(cmd.Flags())
	cmd.Flags().IntVar(&o.Concurrency, "concurrency", mirror.DefaultConcurrency, "images, and separately blobs, copied at once")
	cmd.Flags().BoolVar(&o.Overwrite, "overwrite", false, "replace a destination tag that holds a different image (by default it is reported and left alone)")
	cmd.Flags().StringSliceVar(&o.Platforms, "platform", nil, "copy only these platforms of an index, as os/arch[/variant],... (changes the index digest)")
	return cmd
}

// Complete builds the engine options from the flags.
func (o *Options) Complete() error {
	opts, err := o.Registry.Options()
	if err != nil {
		return err
	}
	o.opts = append(opts, mirror.WithConcurrency(o.Concurrency), mirror.WithPlatforms(o.Platforms...), mirror.WithOverwrite(o.Overwrite))
	return nil
}

// Validate checks flag combinations.
func (o *Options) Validate() error {
	if o.Concurrency < 1 {
		return fmt.Errorf("--concurrency %d: must be at least 1", o.Concurrency)
	}
	return o.Registry.Validate()
}

// Run copies, showing progress on standard error, and prints the results.
func (o *Options) Run(ctx context.Context) error {
	es := o.f.ErrStyles()
	progress := ui.NewProgress(o.f.IO.ErrOut, es, ui.IsTerminal(o.f.IO.ErrOut), len(o.Pairs))
	c, err := mirror.New(append(o.opts, mirror.WithProgress(func(e mirror.Event) { core.RenderProgress(progress, e) }))...)
	if err != nil {
		return err
	}
	if err := c.ProbePairs(ctx, o.Pairs); err != nil {
		return err
	}
	rep, copyErr := c.Copy(ctx, o.Pairs)
	progress.Close()
	for _, r := range rep.Images {
		for _, w := range r.Warnings {
			o.f.Warnf("%s", w)
		}
	}
	if err := o.f.Print(rep, func(w io.Writer, s *ui.Styles) error {
		rows := make([][]string, len(rep.Images))
		for i, r := range rep.Images {
			rows[i] = []string{r.Source, r.Destination, r.Digest, string(r.Status)}
		}
		return s.Table(w, []string{"SOURCE", "DESTINATION", "DIGEST", "STATUS"}, rows, func(row, col int) lipgloss.Style {
			if col == 3 && rep.Images[row].Status == mirror.StatusFailed {
				return s.Bad
			}
			return s.Plain
		})
	}); err != nil {
		return err
	}
	if copyErr == nil {
		return nil
	}
	failed := 0
	for _, r := range rep.Images {
		if r.Err != nil {
			failed++
			if failed == 1 && len(rep.Images) == 1 {
				return r.Err
			}
		}
	}
	if errors.Is(copyErr, context.Canceled) {
		return copyErr
	}
	return fmt.Errorf("%d of %d images failed to copy (each error is above); rerun to finish, completed images are skipped", failed, len(rep.Images))
}
