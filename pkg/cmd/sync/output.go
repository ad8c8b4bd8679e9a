package synccmd

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// Report is the JSON and YAML form of diff and sync.
type Report struct {
	*plan.Plan
	Release *sdr.ReleaseInfo    `json:"release,omitempty"`
	Skipped []inventory.Skipped `json:"skipped,omitempty"`
	Sync    *plan.Outcome       `json:"sync,omitempty"`
}

func stateStyle(s *ui.Styles, st plan.State) lipgloss.Style {
	switch st.Rule().Severity {
	case plan.SeverityOK:
		return s.OK
	case plan.SeverityWarn:
		return s.Warn
	case plan.SeverityBad:
		return s.Bad
	}
	return s.Plain
}

// table prints the plan grouped by state, worst first, then a summary line.
func table(w io.Writer, s *ui.Styles, r Report, why, done bool) error {
	items := slices.Clone(r.Images)
	order := map[plan.State]int{}
	for i, st := range plan.States {
		order[st] = i
	}
	slices.SortStableFunc(items, func(a, b plan.Item) int { return order[a.State] - order[b.State] })
	headers := []string{"STATE", "SOURCE", "RESOLVED", "RULE"}
	if done {
		headers = append(headers, "DONE")
	}
	headers = append(headers, "DETAIL")
	if why {
		headers = append(headers, "WHY")
	}
	rows := make([][]string, len(items))
	for i, it := range items {
		detail := it.Error
		if detail == "" {
			detail = it.Warning
		}
		if detail == "" && it.Entry != nil {
			detail = fmt.Sprintf("new entry %s -> %s", it.Entry.Source, it.Entry.Destination)
		}
		if detail == "" && it.Signer != nil {
			detail = "signed by " + it.Signer.Identity
		}
		row := []string{string(it.State), it.Source, it.Resolved, string(it.Rule)}
		if done {
			row = append(row, dash(it.Done))
		}
		row = append(row, dash(detail))
		if why {
			row = append(row, strings.Join(it.Why, ", "))
		}
		rows[i] = row
	}
	if err := s.Table(w, headers, rows, func(row, col int) lipgloss.Style {
		if col == 0 {
			return stateStyle(s, items[row].State)
		}
		return s.Plain
	}); err != nil {
		return err
	}
	if len(r.Stale) > 0 {
		fmt.Fprintf(w, "\n%s map entries no needed image uses (sync --prune removes them):\n", s.Faint.Render("stale"))
		for _, st := range r.Stale {
			fmt.Fprintf(w, "  %s -> %s\n", st.Source, st.Destination)
		}
	}
	_, err := fmt.Fprintln(w, "\n"+summary(s, r.Plan))
	return err
}

func summary(s *ui.Styles, p *plan.Plan) string {
	var parts []string
	for _, st := range plan.States {
		if n := p.Summary[st]; n > 0 {
			parts = append(parts, stateStyle(s, st).Render(fmt.Sprintf("%d %s", n, st)))
		}
	}
	if len(parts) == 0 {
		return "no images needed"
	}
	line := fmt.Sprintf("%d images: %s", len(p.Images), strings.Join(parts, ", "))
	if len(p.Stale) > 0 {
		line += fmt.Sprintf("; %d stale entries", len(p.Stale))
	}
	return line
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
