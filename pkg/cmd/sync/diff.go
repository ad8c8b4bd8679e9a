package synccmd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/syncer"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// Exit codes of diff --detailed-exitcode, as helm-diff has them.
const (
	exitInSync   = 0
	exitWorkToDo = 2
)

// DiffOptions are the diff command's inputs.
type DiffOptions struct {
	Options
	Offline          bool
	DetailedExitCode bool
	ShowMapDiff      bool
}

// NewCmdDiff returns the diff command; runF, when set, is called with the
// validated options instead of running them (tests use it).
func NewCmdDiff(f *factory.Factory, exit func(code int) error, runF func(*DiffOptions) error) *cobra.Command {
	o := &DiffOptions{Options: Options{f: f}}
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show which images the SDR needs that are not mirrored and mapped",
		Long: `Compare the images the SDR needs with its image map and the registries, resolving
each image exactly as the SDR does, and show its state:

` + plan.StatesHelp() + `

Map entries no needed image uses are listed as stale. The images come from the SDR's
Helm releases, Atlan's latest-releases endpoint and/or an images file (--from).

An unmapped image shows what the SDR pulls today under RESOLVED and where sync would
mirror it under PROPOSED: under --target, or, without one, under the prefix every map
entry already follows. When neither names a destination, the row says so.`,
		Example: strings.ReplaceAll(`  # The SDR in namespace atlan, plus what the next reconcile wants
  ATLAN_API_TOKEN=... NAME diff -n atlan --atlan-url https://acme.atlan.com

  # In CI: exit 2 when there is work to do
  NAME diff -n atlan --detailed-exitcode -o json

  # No cluster: an images file against the map in a bucket
  NAME diff --from file --images-file images.txt --bucket s3://sdr-bucket?region=eu-west-1 \
      --image-map-path sdr/image-map.yaml --target registry.example.com/atlan

  # Without registry checks
  NAME diff -n atlan --offline

  # The entries sync would add to the map, as a diff
  NAME diff -n atlan --show-map-diff

  # Inside an air gap: what importing a bundle would do
  NAME diff -n atlan --from-bundle /media/sdr-bundle`, "NAME", f.Name),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			code, err := o.Run(cmd.Context())
			if err != nil {
				return err
			}
			if code != 0 {
				return exit(code)
			}
			return nil
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.Offline, "offline", false, "do not consult the registries: mapped images are unchecked")
	cmd.Flags().BoolVar(&o.DetailedExitCode, "detailed-exitcode", false, "exit 0 when in sync, 2 when there is work to do, 1 on error")
	cmd.Flags().BoolVar(&o.ShowMapDiff, "show-map-diff", false, "also print the change sync would make to the image map, as a unified diff")
	return cmd
}

// Complete fills the run's Config from the flags and the SDR's settings.
func (o *DiffOptions) Complete(ctx context.Context) error {
	o.Config.Offline = o.Offline
	return o.Options.Complete(ctx)
}

// Run prints the plan and returns the exit code.
func (o *DiffOptions) Run(ctx context.Context) (int, error) {
	defer o.close()
	if err := o.Complete(ctx); err != nil {
		return 1, err
	}
	run, err := syncer.Plan(ctx, o.Config)
	if err != nil {
		return 1, err
	}
	p := run.Plan
	r := Report{Plan: p, Release: run.Release(sdr.BlockAuto), Skipped: announced(run), Bundle: o.bundleInfo()}
	o.warnStale(r.Bundle)
	if o.ShowMapDiff {
		d, err := run.MapPreview(ctx)
		if err != nil {
			return 1, err
		}
		r.MapDiff = &d
	}
	if err := o.f.Print(r, func(w io.Writer, s *ui.Styles) error {
		if err := table(w, s, r, o.Why, false); err != nil {
			return err
		}
		return o.printMapDiff(w, s, r)
	}); err != nil {
		return 1, err
	}
	if n := p.Count(plan.Failed); n > 0 {
		return 1, fmt.Errorf("%s be checked (see %s)", ui.Count(n, "image could not", "images could not"), o.see("DETAIL", "error"))
	}
	if n := run.NotInBundle(); n > 0 {
		return 1, o.notInBundleError(n)
	}
	if err := run.CheckExternal(ctx); err != nil {
		return 1, err
	}
	if err := skippedError(run); err != nil {
		return 1, err
	}
	if o.DetailedExitCode && !p.InSync() {
		return exitWorkToDo, nil
	}
	return exitInSync, nil
}

// printMapDiff prints the map change --show-map-diff asks for, or says in
// words that there is none.
func (o *DiffOptions) printMapDiff(w io.Writer, s *ui.Styles, r Report) error {
	switch {
	case r.MapDiff == nil:
		return nil
	case r.Map == nil:
		_, err := fmt.Fprintln(w, "\nno image map: the SDR rewrites images to the target, sync changes no map")
		return err
	case *r.MapDiff == "":
		_, err := fmt.Fprintln(w, "\nthe image map would not change")
		return err
	}
	fmt.Fprintln(w)
	return s.Diff(w, *r.MapDiff)
}
