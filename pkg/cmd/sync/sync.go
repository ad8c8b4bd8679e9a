package synccmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	copycmd "github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/copy"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
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
}

// NewSyncCommand returns the sync command.
func NewSyncCommand(f *factory.Factory) *cobra.Command {
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
at all, and no more than --prune-max of them unless --confirm-prune is given. The map never gains an entry
for an image that is not in the destination with the source's digest. The exit code is
1 when any needed image is not ok at the end.`,
		Example: strings.ReplaceAll(`  # The SDR in namespace atlan and the newest releases
  ATLAN_API_TOKEN=... NAME sync -n atlan --atlan-url https://acme.atlan.com

  # See what would change, write nothing
  NAME sync -n atlan --dry-run

  # A Docker/Podman SDR
  NAME sync --config /etc/atlan/config.yaml --atlan-url https://acme.atlan.com

  # No cluster at all
  NAME sync --from file --images-file images.txt --bucket file:///srv/sdr \
      --image-map-path sdr/image-map.yaml --target registry.example.com/atlan`, "NAME", f.Name),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.Run(cmd.Context()) },
	}
	o.addFlags(cmd.Flags())
	o.Block.AddFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "verify and show the map change, copy and write nothing")
	cmd.Flags().BoolVar(&o.Overwrite, "overwrite", false, "copy over drift: a destination that holds another digest")
	cmd.Flags().BoolVar(&o.Prune, "prune", false, "remove stale map entries, which no needed image uses (refused when no image is needed at all)")
	cmd.Flags().StringVar(&o.PruneMax, "prune-max", fmt.Sprintf("%d%%", plan.DefaultPrunePercent), "the most entries --prune removes without --confirm-prune: a count, or a share of the map's entries (rounded up)")
	cmd.Flags().BoolVar(&o.ConfirmPrune, "confirm-prune", false, "let --prune remove more entries than --prune-max, after checking the stale list")
	return cmd
}

// Run plans, verifies, copies and writes.
func (o *SyncOptions) Run(ctx context.Context) error {
	if err := o.validate(); err != nil {
		return err
	}
	mode, err := o.Block.Parse()
	if err != nil {
		return err
	}
	pruneMax, err := parsePruneMax(o.PruneMax)
	if err != nil {
		return err
	}
	o.copierOpts = []mirror.Option{mirror.WithOverwrite(o.Overwrite)}
	items, err := o.complete(ctx)
	if err != nil {
		return err
	}
	if o.mapObj != nil {
		defer o.mapObj.Close()
	}
	p, err := o.buildPlan(ctx, items, false)
	if err != nil {
		return err
	}
	g, err := o.gate(ctx, p, o.Overwrite)
	if err != nil {
		return err
	}
	es := o.f.ErrStyles()
	progress := ui.NewProgress(o.f.IO.ErrOut, es, ui.IsTerminal(o.f.IO.ErrOut), countCopies(p, o.Overwrite))
	// The copier that checked the plan copies too: its registry sessions
	// (ping, token) are reused.
	o.copier.SetProgress(func(e mirror.Event) { copycmd.Render(progress, e) })
	apply := plan.Apply{Gate: g, Copier: o.copier, Map: o.mapObj, Overwrite: o.Overwrite, Prune: o.Prune,
		DryRun: o.DryRun, Concurrency: o.Concurrency, ConfirmPrune: o.ConfirmPrune}
	if o.Prune && p.Map != nil {
		apply.PruneMax = pruneMax.limit(p.Map.Entries)
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
	if o.mapObj != nil {
		apply.Lock = o.mapObj.Sibling(imagemap.LockKey(o.settings.ImageMapPath))
		if o.Map.File != "" {
			apply.Lock = o.mapObj.Sibling(imagemap.LockKey(lastPath(o.Map.File)))
		}
		apply.Release = o.blockDecider(mode)
	}
	out, applyErr := apply.Run(ctx, p)
	progress.Close()
	if out != nil && out.MapDiff != "" && (o.DryRun || o.f.Global.Verbosity > 0) && o.f.Global.Output == ui.FormatTable {
		if err := o.f.ErrStyles().Diff(o.f.IO.ErrOut, out.MapDiff); err != nil {
			return err
		}
	}
	r := Report{Plan: p, Release: o.release(mode), Skipped: o.skipped, Sync: out}
	if err := o.f.Print(r, func(w io.Writer, s *ui.Styles) error {
		if err := table(w, s, r, o.Why, true); err != nil {
			return err
		}
		return syncLine(w, s, out, o.mapObj != nil)
	}); err != nil {
		return err
	}
	if applyErr != nil {
		return o.pruneError(applyErr)
	}
	if o.DryRun {
		return nil
	}
	if n := p.Count(plan.WorkToDo) + p.Count(plan.Failed); n > 0 {
		return fmt.Errorf("%d of %d needed images are not ok (see the state column); none of them was added to the map", n, len(p.Images))
	}
	return o.skippedError()
}

// blockDecider keeps the map's release: block as the SDR release needs it.
// Without a cluster the block is kept as it is, unless --release-block
// remove.
func (o *SyncOptions) blockDecider(mode sdr.BlockMode) func(*imagemap.Release) *imagemap.Release {
	return func(current *imagemap.Release) *imagemap.Release {
		if o.inst == nil {
			if mode == sdr.BlockRemove {
				return nil
			}
			return current
		}
		return o.inst.Release(mode, current).Block
	}
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
func (o *SyncOptions) pruneError(err error) error {
	var limit *plan.PruneLimitError
	switch {
	case errors.Is(err, plan.ErrNothingNeeded):
		var why []string
		if n := len(o.ignored); n > 0 {
			why = append(why, fmt.Sprintf("%d found outside --allowed-source", n))
		}
		if n := len(o.skipped); n > 0 {
			why = append(why, fmt.Sprintf("%d latest-releases entries skipped", n))
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

func countCopies(p *plan.Plan, overwrite bool) int {
	n := 0
	for _, it := range p.Images {
		if it.NeedsCopy(overwrite) {
			n++
		}
	}
	return n
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

func lastPath(p string) string {
	if i := strings.LastIndexAny(p, "/\\"); i >= 0 {
		return p[i+1:]
	}
	return p
}
