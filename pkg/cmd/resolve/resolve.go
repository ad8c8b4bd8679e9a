package resolve

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/core"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/mapflags"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// Options are the resolve command's inputs.
type Options struct {
	f      *core.Factory
	Map    mapflags.Flags
	Base   string
	Images []string

	resolver imagemap.Resolver
}

// NewCmdResolve returns the resolve command. runF, when not nil, is called
// with the completed and validated options instead of Run, so tests can see
// what the flags became.
func NewCmdResolve(f *core.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{f: f}
	cmd := &cobra.Command{
		Use:   "resolve IMAGE...",
		Short: "Show what the SDR will pull for each image",
		Long: `Resolve images exactly as the SDR does on install, upgrade and self-update:

  1. a map key equal to the image (repo:tag) wins, its value used verbatim (rule "exact");
  2. else a key equal to the image's repository, with the image's tag and digest
     appended (rule "repo");
  3. else, when no image map is configured, the registry prefix given by --base
     (the SDR's container_registry.base) replaces everything before the image name
     (rule "prefix");
  4. else the image is pulled unchanged (rule "none"), which fails where public
     registries are blocked.

Keys match literally: "atlanhq/app" and "docker.io/atlanhq/app" are different keys.
A warning tells when a key would match only after such normalisation.`,
		Example: strings.ReplaceAll(`  # Resolve against a local map file
  NAME resolve atlanhq/atlan-teradata-app:3.1.4 --map image-map.yaml

  # Resolve against the map in a bucket, as JSON
  NAME resolve atlanhq/atlan-teradata-app:3.1.4 --bucket file:///srv/sdr --image-map-path sdr/image-map.yaml -o json

  # No map configured: show the prefix rewrite
  NAME resolve atlanhq/atlan-postgres-app:2.0.1 --base registry.example.com/atlan`, "NAME", f.Name),
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Images = args
			if err := o.Complete(cmd.Context()); err != nil {
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
	o.Map.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.Base, "base", "", "registry prefix the SDR rewrites images to when no image map is configured (container_registry.base)")
	return cmd
}

// Complete loads the map when one is configured. A configured map that does
// not exist is an error, as for every command reading a map: resolving
// against it would show what a typo in the path makes of every image.
func (o *Options) Complete(ctx context.Context) error {
	o.resolver.Prefix = o.Base
	if !o.Map.Configured() {
		return o.Map.Validate()
	}
	obj, err := o.Map.Open(ctx, mapflags.Opener{Logger: o.f.Logger()})
	if err != nil {
		return err
	}
	defer obj.Close()
	m, err := store.LoadMap(ctx, obj)
	if err != nil {
		return o.Map.MissingMap(err, obj.URL())
	}
	o.resolver.Map = m
	return nil
}

// Validate checks every image before anything is printed.
func (o *Options) Validate() error {
	if o.resolver.Map != nil && o.Base != "" {
		o.f.Warnf("--base is ignored: an image map is configured, and the SDR gives the map precedence over the prefix rewrite")
	}
	for _, img := range o.Images {
		if _, err := imagemap.ParseReference(img); err != nil {
			return fmt.Errorf("image argument: %w", err)
		}
	}
	return nil
}

// Run resolves and prints.
func (o *Options) Run(_ context.Context) error {
	out := make([]imagemap.Resolution, 0, len(o.Images))
	for _, img := range o.Images {
		r, err := o.resolver.Resolve(img)
		if err != nil {
			return err
		}
		if k := o.resolver.Map.NormalizedKey(img); k != "" {
			o.f.Warnf("%q matches no key literally, but key %q names the same image after normalisation; the SDR matches keys literally, so add an entry for %q",
				img, k, img)
		}
		out = append(out, r)
	}
	return o.f.Print(out, func(w io.Writer, s *ui.Styles) error {
		rows := make([][]string, len(out))
		for i, r := range out {
			rows[i] = []string{r.Source, r.Resolved, string(r.Rule)}
		}
		return s.Table(w, []string{"SOURCE", "RESOLVED", "RULE"}, rows, func(row, col int) lipgloss.Style {
			if col == 2 && out[row].Rule == imagemap.RuleNone {
				return s.Warn
			}
			return s.Plain
		})
	})
}
