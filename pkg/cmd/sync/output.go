package synccmd

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// Report is the JSON and YAML form of diff and sync.
type Report struct {
	*plan.Plan
	Release *sdr.ReleaseInfo `json:"release,omitempty"`
	// Skipped are the latest-releases entries left out; every skipped
	// image is a row of the plan too.
	Skipped []inventory.Skipped `json:"skipped,omitempty"`
	// MapDiff is the change sync would make to the map (diff
	// --show-map-diff); nil when not asked for.
	MapDiff *string       `json:"mapDiff,omitempty"`
	Sync    *plan.Outcome `json:"sync,omitempty"`
	// Bundle is the bundle read with --from-bundle.
	Bundle *BundleInfo `json:"bundle,omitempty"`
}

func stateStyle(s *ui.Styles, st plan.State) lipgloss.Style {
	switch st.Rule().Severity {
	case plan.SeverityOK:
		return s.OK
	case plan.SeverityWarn:
		return s.Warn
	case plan.SeverityBad:
		return s.Bad
	case plan.SeverityNote:
		return s.Faint
	}
	return s.Plain
}

// table prints where an inferred target came from, the plan grouped by
// state, worst first, then a summary line. A plan with no rows is the
// summary alone.
func table(w io.Writer, s *ui.Styles, r Report, why, done bool) error {
	if r.Bundle != nil {
		line, _ := r.Bundle.describe(time.Now())
		fmt.Fprintf(w, "%s\n\n", line)
	}
	if r.TargetFrom != "" {
		fmt.Fprintf(w, "target %s (%s)\n\n", r.Target, r.TargetFrom)
	}
	if len(r.Images) > 0 {
		if err := rows(w, s, r.Images, why, done); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	if len(r.Stale) > 0 {
		fmt.Fprintf(w, "%s map entries no needed image uses (sync --prune removes them):\n", s.Faint.Render("stale"))
		for _, st := range r.Stale {
			fmt.Fprintf(w, "  %s -> %s\n", st.Source, st.Destination)
		}
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintln(w, summary(s, r.Plan))
	return err
}

func rows(w io.Writer, s *ui.Styles, images []plan.Item, why, done bool) error {
	items := slices.Clone(images)
	order := map[plan.State]int{}
	for i, st := range plan.States {
		order[st] = i
	}
	slices.SortStableFunc(items, func(a, b plan.Item) int { return order[a.State] - order[b.State] })
	proposed := slices.ContainsFunc(items, func(it plan.Item) bool { return it.Proposed != "" || it.State == plan.Unmapped })
	headers := []string{"STATE", "SOURCE", "RESOLVED", "RULE"}
	if proposed {
		headers = append(headers, "PROPOSED")
	}
	if done {
		headers = append(headers, "DONE")
	}
	headers = append(headers, "DETAIL")
	if why {
		headers = append(headers, "WHY")
	}
	rows := make([][]string, len(items))
	for i, it := range items {
		row := []string{string(it.State), dash(it.Source), dash(it.Resolved), dash(string(it.Rule))}
		if proposed {
			row = append(row, dash(it.Proposed))
		}
		if done {
			row = append(row, dash(it.Done))
		}
		row = append(row, dash(detail(it)))
		if why {
			row = append(row, strings.Join(it.Why, ", "))
		}
		rows[i] = row
	}
	return s.Table(w, headers, rows, func(row, col int) lipgloss.Style {
		if col == 0 {
			return stateStyle(s, items[row].State)
		}
		return s.Plain
	})
}

// detail is a row's DETAIL: its error, warning, why it was skipped or has
// no destination, what sync does with an unmapped image, or who signed it.
func detail(it plan.Item) string {
	switch {
	case it.Error != "":
		return it.Error
	case it.Warning != "":
		return it.Warning
	case it.Reason != "":
		return it.Reason
	case it.Entry != nil:
		entry := fmt.Sprintf("new entry %s -> %s", it.Entry.Source, it.Entry.Destination)
		if it.State != plan.Unmapped || it.Digest == "" {
			return entry
		}
		if it.Mirrored() {
			return "mirrored, map entry missing; " + entry
		}
		return "not mirrored yet; " + entry
	case it.Signer != nil:
		return "signed by " + it.Signer.Identity
	}
	return ""
}

// summary counts the needed images by state, in words: "1 image: 1 ok;
// everything is mirrored and mapped", "4 images: 1 drift, 2 unmapped (1
// already mirrored), 1 ok; 1 skipped; 2 stale entries".
func summary(s *ui.Styles, p *plan.Plan) string {
	var parts []string
	for _, st := range plan.States {
		n := p.Summary[st]
		if n == 0 || st == plan.Skipped {
			continue
		}
		part := fmt.Sprintf("%d %s", n, st)
		if st == plan.Unmapped {
			if m := mirroredUnmapped(p); m > 0 {
				part += fmt.Sprintf(" (%d already mirrored)", m)
			}
		}
		parts = append(parts, stateStyle(s, st).Render(part))
	}
	line := "no images needed"
	if n := p.Needed(); n > 0 {
		line = ui.Count(n, "image", "images") + ": " + strings.Join(parts, ", ")
	}
	if n := p.Summary[plan.Skipped]; n > 0 {
		line += "; " + stateStyle(s, plan.Skipped).Render(fmt.Sprintf("%d skipped", n))
	}
	if n := len(p.Stale); n > 0 {
		line += "; " + ui.Count(n, "stale entry", "stale entries")
	}
	if n := p.Needed(); n > 0 && p.Summary[plan.OK] == n {
		line += "; everything is mirrored and mapped"
	}
	return line
}

func mirroredUnmapped(p *plan.Plan) int {
	n := 0
	for _, it := range p.Images {
		if it.State == plan.Unmapped && it.Mirrored() {
			n++
		}
	}
	return n
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
