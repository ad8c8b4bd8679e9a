package synccmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/core"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/syncer"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// SyncOptions are the sync command's inputs.
type SyncOptions struct {
	Options
	Block     factory.BlockFlag
	DryRun    bool
	Overwrite bool
	Prune     bool
	// PruneMax is --prune-max: a count, or a share of the map's entries
	// ending in %.
	PruneMax     string
	ConfirmPrune bool
	Repos        RepoFlags

	block    sdr.BlockMode
	pruneMax pruneMax
}

// NewCmdSync returns the sync command; runF, when set, is called with the
// validated options instead of running them (tests use it).
func NewCmdSync(f *factory.Factory, runF func(*SyncOptions) error) *cobra.Command {
	o := &SyncOptions{Options: Options{f: f}}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Verify, mirror and map every image the SDR needs",
		Long: `Do what diff shows: verify the cosign signature of each image that needs work, copy it
into the target registry (whole multi-arch index, digests preserved, signatures along),
then add its entry to the image map and record its provenance in the lock file beside
the map (<map key>.lock.json), in one conditional write that merges with concurrent
writers.

An image that fails verification is never copied or mapped; drift is copied only with
--overwrite; stale entries are removed only with --prune, never when no image is needed
at all, and no more than --prune-max of them unless --confirm-prune is given. The map
never gains an entry for an image that is not in the destination with the source's
digest. The exit code is 1 when any needed image is not ok at the end; --dry-run exits
as the real run would.`,
		Example: strings.ReplaceAll(`  # The SDR in namespace atlan and the newest releases
  ATLAN_API_TOKEN=... NAME sync -n atlan --atlan-url https://acme.atlan.com

  # See what would change, write nothing
  NAME sync -n atlan --dry-run

  # A Docker/Podman SDR
  NAME sync --config /etc/atlan/config.yaml --atlan-url https://acme.atlan.com

  # No cluster at all
  NAME sync --from file --images-file images.txt --bucket file:///srv/sdr \
      --image-map-path sdr/image-map.yaml --target registry.example.com/atlan

  # Across an air gap: export on a connected host (a rerun resumes)
  NAME sync --to-bundle /media/sdr-bundle --atlan-url https://acme.atlan.com --images-file images.txt

  # Next time, only what is new since the inside's last import
  NAME sync --to-bundle /media/sdr-bundle-2 --since-lock image-map.yaml.lock.json --atlan-url https://acme.atlan.com

  # ... and import inside, checking every file and signature before any push, with the
  # bundle's trusted root once its TUF metadata chains to the Sigstore root in this binary
  NAME sync -n atlan --from-bundle /media/sdr-bundle

  # ... or with a trusted root carried in apart from the bundle
  NAME sync -n atlan --from-bundle /media/sdr-bundle --trusted-root trusted_root.json

  # A private Sigstore: its TUF repository and root, to export; its root alone, to import
  NAME sync --to-bundle /media/sdr-bundle --images-file images.txt \
      --tuf-url https://tuf.sigstore.example.com --tuf-root root.json
  NAME sync -n atlan --from-bundle /media/sdr-bundle --tuf-root root.json`, "NAME", f.Name),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			if o.ToBundle != "" || cmd.Flags().Changed("split-size") || cmd.Flags().Changed("since-lock") {
				if err := o.validateToBundle(cmd.Flags()); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(o)
			}
			if o.ToBundle != "" {
				return o.runExport(cmd.Context())
			}
			return o.Run(cmd.Context())
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.ToBundle, "to-bundle", "", "write the verified images, their signatures and referrers to a bundle in this directory, or in this tar archive when it ends in .tar, instead of pushing and mapping (the connected side of an air gap; see verify --bundle)")
	cmd.Flags().StringVar(&o.SinceLock, "since-lock", "", "with --to-bundle: the inside's lock file (<image map path>.lock.json, carried out); images it holds at the same digest are not carried, nor any blob of the images it names, which the import mounts inside instead")
	cmd.Flags().StringVar(&o.SplitSize, "split-size", "", "with --to-bundle PATH.tar: split the archive into parts of at most this size (4Gi, 700Mi), PATH.tar.000, .001, …, each with its .sha256")
	o.Block.AddFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "verify and show the map change, copy and write nothing")
	cmd.Flags().BoolVar(&o.Overwrite, "overwrite", false, "copy over drift: a destination that holds another digest")
	cmd.Flags().BoolVar(&o.Prune, "prune", false, "remove stale map entries, which no needed image uses (refused when no image is needed at all)")
	cmd.Flags().StringVar(&o.PruneMax, "prune-max", fmt.Sprintf("%d%%", plan.DefaultPrunePercent), "the most entries --prune removes without --confirm-prune: a count, or a share of the map's entries (rounded up)")
	cmd.Flags().BoolVar(&o.ConfirmPrune, "confirm-prune", false, "let --prune remove more entries than --prune-max, after checking the stale list")
	o.Repos.AddFlags(cmd.Flags())
	return cmd
}

// Validate checks the flags, and parses --release-block and --prune-max.
func (o *SyncOptions) Validate() error {
	if err := o.Options.Validate(); err != nil {
		return err
	}
	if err := o.Repos.Validate(); err != nil {
		return err
	}
	var err error
	if o.block, err = o.Block.Parse(); err != nil {
		return err
	}
	o.pruneMax, err = parsePruneMax(o.PruneMax)
	return err
}

// Complete fills the run's Config from the flags and the SDR's settings.
func (o *SyncOptions) Complete(ctx context.Context) error {
	o.Config.Overwrite = o.Overwrite
	return o.Options.Complete(ctx)
}

// Run plans, verifies, copies and writes, then prints the plan and what
// was done.
func (o *SyncOptions) Run(ctx context.Context) error {
	defer o.close()
	if err := o.Complete(ctx); err != nil {
		return err
	}
	run, err := syncer.Plan(ctx, o.Config)
	if err != nil {
		return err
	}
	p := run.Plan
	o.Verify.WarnIfDisabled(o.f)
	gopts, err := o.gateOptions()
	if err != nil {
		return err
	}
	g, err := run.Gate(ctx, o.Verify.Enabled, gopts...)
	if err != nil {
		return err
	}
	es := o.f.ErrStyles()
	progress := ui.NewProgress(o.f.IO.ErrOut, es, ui.IsTerminal(o.f.IO.ErrOut), run.Copies())
	apply := syncer.Apply{Gate: g, Prune: o.Prune, DryRun: o.DryRun, ConfirmPrune: o.ConfirmPrune, Block: o.block,
		Progress: func(e mirror.Event) { core.RenderProgress(progress, e) }}
	if apply.Repositories, err = o.Repos.Creator(ctx, o.f, p.Target); err != nil {
		return err
	}
	if o.Prune && p.Map != nil {
		apply.PruneMax = o.pruneMax.limit(p.Map.Entries)
	}
	apply.BeforePrune = func(remove []plan.StaleEntry) {
		verb := "removing"
		if o.DryRun {
			verb = "would remove"
		}
		for _, e := range remove {
			o.f.Warnf("%s stale map entry %q -> %q", verb, e.Source, e.Destination)
		}
	}
	out, applyErr := run.Apply(ctx, apply)
	progress.Close()
	// The map change of a dry run is its result, on standard output as
	// map set --dry-run has it; a real run's is a log line, with -v.
	if out != nil && out.MapDiff != "" && !o.DryRun && o.f.Global.Verbosity > 0 && o.f.Global.Output == ui.FormatTable {
		if err := o.f.ErrStyles().Diff(o.f.IO.ErrOut, out.MapDiff); err != nil {
			return err
		}
	}
	r := Report{Plan: p, Release: run.Release(o.block), Skipped: announced(run), Sync: out, Bundle: o.bundleInfo()}
	o.warnStale(r.Bundle)
	if err := o.f.Print(r, func(w io.Writer, s *ui.Styles) error {
		if err := table(w, s, r, o.Why, true); err != nil {
			return err
		}
		if out != nil && out.DryRun && out.MapDiff != "" {
			fmt.Fprintln(w)
			if err := s.Diff(w, out.MapDiff); err != nil {
				return err
			}
			fmt.Fprintln(w)
		}
		return syncLine(w, s, out, o.mapObj != nil)
	}); err != nil {
		return err
	}
	if applyErr != nil {
		return o.pruneError(run, applyErr)
	}
	if n := run.NotInBundle(); n > 0 {
		return o.notInBundleError(n)
	}
	if o.DryRun {
		// Exit as the real run would: what sync would copy and map counts
		// as done, what it cannot fix fails.
		if n := p.Unfixable(o.Overwrite); n > 0 {
			return fmt.Errorf("%d of %s would not be ok after sync (see %s); %s", n, ui.Count(p.Needed(), "needed image", "needed images"),
				o.see("STATE", "state"), noneMapped(n, true))
		}
		return skippedError(run)
	}
	if n := p.Count(plan.WorkToDo) + p.Count(plan.Failed); n > 0 {
		verb := "are"
		if n == 1 {
			verb = "is"
		}
		return fmt.Errorf("%d of %s %s not ok (see %s); %s", n, ui.Count(p.Needed(), "needed image", "needed images"), verb,
			o.see("STATE", "state"), noneMapped(n, false))
	}
	return skippedError(run)
}

// noneMapped says the images that are not ok were not (or would not be)
// added to the map: "it was not added", "none of them was added".
func noneMapped(n int, dryRun bool) string {
	switch {
	case n == 1 && dryRun:
		return "it would not be added to the map"
	case n == 1:
		return "it was not added to the map"
	case dryRun:
		return "none of them would be added to the map"
	}
	return "none of them was added to the map"
}

// pruneMax is a parsed --prune-max.
type pruneMax struct {
	n       int
	percent bool
}

func parsePruneMax(s string) (pruneMax, error) {
	num, percent := strings.CutSuffix(strings.TrimSpace(s), "%")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || (percent && n > 100) {
		return pruneMax{}, fmt.Errorf("--prune-max %q: must be a count of entries (3) or a share of the map's entries (10%%)", s)
	}
	return pruneMax{n: n, percent: percent}, nil
}

// limit is the number of entries allowed for a map of the given size; a
// limit of 0 entries allows none (plan.Apply treats 0 as its default, so
// it is given as -1).
func (m pruneMax) limit(entries int) int {
	n := m.n
	if m.percent {
		n = plan.PruneMax(entries, m.n)
		if m.n == 0 {
			n = 0
		}
	}
	if n == 0 {
		return -1
	}
	return n
}

// pruneError adds to a refused prune what the operator can do.
func (o *SyncOptions) pruneError(run *syncer.Run, err error) error {
	var limit *plan.PruneLimitError
	switch {
	case errors.Is(err, plan.ErrNothingNeeded):
		var why []string
		if n := len(run.Ignored); n > 0 {
			why = append(why, fmt.Sprintf("%d found outside --allowed-source", n))
		}
		if n := len(announced(run)); n > 0 {
			why = append(why, ui.Count(n, "latest-releases entry skipped", "latest-releases entries skipped"))
		}
		reason := ""
		if len(why) > 0 {
			reason = " (" + strings.Join(why, ", ") + ")"
		}
		return fmt.Errorf("refusing to --prune: no needed image was found%s, so every map entry would look stale; check --from, --images-file and --allowed-source; the map was not changed", reason)
	case errors.As(err, &limit):
		return fmt.Errorf("refusing to --prune %d of the map's %d entries (listed as stale above): more than --prune-max %s allows (%d); if they are all unused, pass --confirm-prune; the map was not changed",
			len(limit.Remove), limit.Entries, o.PruneMax, max(limit.Max, 0))
	}
	return err
}

func syncLine(w io.Writer, s *ui.Styles, out *plan.Outcome, hasMap bool) error {
	if out == nil {
		return nil
	}
	verb := "wrote"
	if out.DryRun {
		verb = "would write"
	}
	line := fmt.Sprintf("sync: %d verified, %d copied", out.Verified, out.Copied)
	if n := len(out.CreatedRepositories); n > 0 {
		line += ", " + ui.Count(n, "repository created", "repositories created")
	}
	if hasMap {
		switch {
		case len(out.Added)+len(out.Removed) == 0 && out.MapDiff == "":
			line += "; image map unchanged"
		default:
			line += fmt.Sprintf("; %s the image map: %d added, %d removed", verb, len(out.Added), len(out.Removed))
		}
	}
	if out.DryRun {
		line = s.Faint.Render("dry run: ") + line
	}
	_, err := fmt.Fprintln(w, line)
	return err
}
