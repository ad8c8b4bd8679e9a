package synccmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/bundle"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/version"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/syncer"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// toBundleRefuses are the sync flags --to-bundle refuses: where images
// go, the map and the SDR they are for are decided on the inside, at
// import.
var toBundleRefuses = []string{
	"target", "bucket", "map", "image-map-path", "objectstore-component", "bucket-ca-file",
	"prune", "prune-max", "confirm-prune", "overwrite", "release-block", "keep-path", "dry-run",
	"config", "values", "release", "storage-namespace", "deployment-name", "release-selector",
	"all-namespaces", "sdr-chart", "helm-driver",
	"create-repositories", "ecr-tag-mutability", "ecr-scan-on-push",
}

// minSplitSize is the smallest --split-size.
const minSplitSize = 1 << 20

// validateToBundle refuses, naming it, the first flag an export has no use
// for.
func (o *SyncOptions) validateToBundle(fs *pflag.FlagSet) error {
	if o.SinceLock != "" && o.ToBundle == "" {
		return errors.New("--since-lock leaves out of an export what the inside's lock says it holds: pass --to-bundle too")
	}
	if o.SplitSize != "" {
		switch {
		case o.ToBundle == "":
			return errors.New("--split-size splits the archive sync --to-bundle PATH.tar writes: pass --to-bundle too")
		case !strings.HasSuffix(o.ToBundle, ".tar"):
			return fmt.Errorf("--split-size splits a tar archive: name it --to-bundle %s.tar", strings.TrimSuffix(o.ToBundle, "/"))
		}
		q, err := resource.ParseQuantity(o.SplitSize)
		if err != nil || q.Value() < minSplitSize {
			return fmt.Errorf("--split-size %q: want a size of at least 1Mi, such as 4Gi or 700Mi", o.SplitSize)
		}
		o.splitSize = q.Value()
	}
	for _, name := range toBundleRefuses {
		if fs.Changed(name) {
			return fmt.Errorf("--%s cannot be combined with --to-bundle: a bundle holds images only; pass --%s when importing it (sync --from-bundle) inside", name, name)
		}
	}
	if slices.Contains(o.From, fromHelm) {
		return errors.New("--from helm cannot be combined with --to-bundle: export from --images-file or --atlan-url; the inside's own releases are read at import")
	}
	return nil
}

// runExport is sync --to-bundle: the same discovery and signature gate as
// sync, writing a bundle instead of pushing and mapping.
func (o *SyncOptions) runExport(ctx context.Context) error {
	defer o.close()
	// The lock is a file the operator carried out: a wrong one is said
	// before any registry or endpoint is asked.
	lock, err := o.readSinceLock()
	if err != nil {
		return err
	}
	if err := o.Complete(ctx); err != nil {
		return err
	}
	o.Verify.WarnIfDisabled(o.f)
	var tuf *syncer.ExportTUF
	if o.Verify.Enabled && o.Verify.Key == "" && o.Verify.TrustedRoot == "" {
		// The trusted root is fetched through TUF, and the metadata read
		// travels with it: the inside checks it against its own anchor.
		anchor, err := o.Verify.Anchor()
		if err != nil {
			return err
		}
		tuf = &syncer.ExportTUF{Anchor: anchor, URL: o.Verify.TUFURL}
	}
	es := o.f.ErrStyles()
	progress := ui.NewProgress(o.f.IO.ErrOut, es, ui.IsTerminal(o.f.IO.ErrOut), 0)
	eo := syncer.ExportOptions{Dir: o.ToBundle, Archive: strings.HasSuffix(o.ToBundle, ".tar"), SplitSize: o.splitSize,
		Verify: o.Verify.Enabled, VerifyOptions: o.Verify.Options(),
		TrustedRoot: o.Verify.TrustedRoot, TUF: tuf, ToolVersion: version.Get().Version,
		Progress: func(p bundle.Progress) { renderExport(progress, p) }, SinceLock: lock}
	ex, err := syncer.ExportBundle(ctx, o.Config, eo)
	progress.Close()
	if ex == nil {
		return err
	}
	if ex.Stats != nil {
		// What the bundle could not carry as asked (signature tags that
		// could not be listed, locked images that could not be read).
		for _, w := range ex.Stats.Warnings {
			o.f.Warnf("%s", w)
		}
	}
	if perr := o.f.Print(ex, func(w io.Writer, s *ui.Styles) error { return exportTable(w, s, ex, o.Why) }); perr != nil {
		return perr
	}
	if err != nil {
		return err
	}
	if n := ex.Left(); n > 0 {
		return fmt.Errorf("%s not in the bundle (see %s); the others were written to %q", ui.Count(n, "needed image is", "needed images are"), o.see("STATE", "state"), o.ToBundle)
	}
	return nil
}

// renderExport draws an export's fetching: a bar of bytes and blobs on a
// terminal, nothing elsewhere (the table says what was written).
func renderExport(p *ui.Progress, e bundle.Progress) {
	switch {
	case e.Start:
		p.SetItems(e.Blobs, "blobs")
		p.AddTotal(e.Bytes)
	case e.Blobs > 0:
		p.Tick()
	default:
		p.Advance(e.Bytes)
	}
}

func exportTable(w io.Writer, s *ui.Styles, ex *syncer.Export, why bool) error {
	head := []string{"IMAGE", "DIGEST", "STATE", "DETAIL"}
	if why {
		head = append(head, "WHY")
	}
	rows := make([][]string, len(ex.Images))
	for i, r := range ex.Images {
		detail := r.Reason
		if r.Signer != nil {
			detail = "signed by " + r.Signer.Identity
		}
		rows[i] = []string{r.Source, r.Digest, r.State, detail}
		if why {
			rows[i] = append(rows[i], fmt.Sprint(r.Why))
		}
	}
	if err := s.Table(w, head, rows, func(row, col int) lipgloss.Style {
		if col != 2 {
			return s.Plain
		}
		switch ex.Images[row].State {
		case syncer.Exported:
			return s.OK
		case syncer.Left, syncer.Inside:
			return s.Faint
		}
		return s.Bad
	}); err != nil {
		return err
	}
	if st := ex.Stats; st != nil {
		if _, err := fmt.Fprintf(w, "\nbundle %s: %d images, %d signatures and referrers, %d blobs (%s); fetched %d (%s), kept %d already there\n",
			ex.Dir, st.Images, st.Attached, st.Blobs, ui.Bytes(st.Bytes), st.Fetched, ui.Bytes(st.FetchedBytes), st.Kept); err != nil {
			return err
		}
		if st.Inside > 0 || st.External > 0 {
			if _, err := fmt.Fprintf(w, "left out, per the lock: %s already inside, %s they hold (%s), recorded as external\n",
				ui.Count(st.Inside, "needed image", "needed images"), ui.Count(st.External, "blob", "blobs"), ui.Bytes(st.ExternalBytes)); err != nil {
				return err
			}
		}
	}
	if t := ex.TUF; t != nil {
		if _, err := fmt.Fprintf(w, "trusted root: fetched through TUF from %s, chained to %s; its metadata is in %s/\n", t.URL, t.Anchor, bundle.TUFDir); err != nil {
			return err
		}
	}
	if len(ex.Files) > 0 {
		_, err := fmt.Fprintf(w, "written: %s\n", strings.Join(ex.Files, ", "))
		return err
	}
	return nil
}

// readSinceLock reads --since-lock: the inside's lock file, carried out.
func (o *SyncOptions) readSinceLock() (*imagemap.Lock, error) {
	if o.SinceLock == "" {
		return nil, nil
	}
	data, err := os.ReadFile(o.SinceLock)
	if err != nil {
		return nil, fmt.Errorf("--since-lock: %w: carry out the inside's lock, the object <image map path>.lock.json beside its image map", err)
	}
	l, err := imagemap.ParseLock(data)
	if err != nil {
		if m, merr := imagemap.Parse(data); merr == nil && m.Len() > 0 {
			return nil, fmt.Errorf("--since-lock %q is an image map, not its lock: pass the lock beside it in the bucket, %s", o.SinceLock, imagemap.LockKey(filepath.Base(o.SinceLock)))
		}
		return nil, fmt.Errorf("--since-lock %q: %w", o.SinceLock, err)
	}
	if len(l.Entries) == 0 {
		o.f.Warnf("--since-lock %q names no image: the bundle carries everything", o.SinceLock)
	}
	return l, nil
}
