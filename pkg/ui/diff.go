package ui

import (
	"io"
	"strings"
)

// Diff writes a unified diff, colouring removed lines red, added lines
// green and hunk headers faint when the palette has colour.
func (s *Styles) Diff(w io.Writer, diff string) error {
	var b strings.Builder
	for _, line := range strings.SplitAfter(diff, "\n") {
		if line == "" {
			continue
		}
		text, nl := strings.CutSuffix(line, "\n")
		switch {
		case strings.HasPrefix(text, "+++"), strings.HasPrefix(text, "---"):
			text = s.Header.Render(text)
		case strings.HasPrefix(text, "@@"):
			text = s.Faint.Render(text)
		case strings.HasPrefix(text, "+"):
			text = s.OK.Render(text)
		case strings.HasPrefix(text, "-"):
			text = s.Bad.Render(text)
		}
		b.WriteString(text)
		if nl {
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
