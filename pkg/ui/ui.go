package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"golang.org/x/term"
	"sigs.k8s.io/yaml"
)

// Colour modes accepted by --color.
const (
	ColorAuto   = "auto"
	ColorAlways = "always"
	ColorNever  = "never"
)

// ColorModes lists the --color values.
var ColorModes = []string{ColorAuto, ColorAlways, ColorNever}

// Output formats accepted by -o.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatYAML  = "yaml"
)

// Formats lists the -o values.
var Formats = []string{FormatTable, FormatJSON, FormatYAML}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// UseColor decides colour for w: always and never are obeyed; auto means
// colour only on a terminal, with NO_COLOR unset (any value, even empty,
// turns it off) and TERM not "dumb".
func UseColor(mode string, w io.Writer, lookupEnv func(string) (string, bool)) bool {
	switch mode {
	case ColorAlways:
		return true
	case ColorNever:
		return false
	}
	if _, set := lookupEnv("NO_COLOR"); set {
		return false
	}
	if t, _ := lookupEnv("TERM"); t == "dumb" {
		return false
	}
	return IsTerminal(w)
}

// Styles is the palette for one output stream.
type Styles struct {
	Color  bool
	Plain  lipgloss.Style
	Header lipgloss.Style
	OK     lipgloss.Style
	Warn   lipgloss.Style
	Bad    lipgloss.Style
	Faint  lipgloss.Style
	Key    lipgloss.Style
}

// NewStyles returns the palette for w, coloured or plain.
func NewStyles(w io.Writer, color bool) *Styles {
	r := lipgloss.NewRenderer(w)
	r.SetHasDarkBackground(true) // never query the terminal
	if color {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	s := r.NewStyle()
	return &Styles{
		Color:  color,
		Plain:  s,
		Header: s.Bold(true),
		OK:     s.Foreground(lipgloss.Color("2")),
		Warn:   s.Foreground(lipgloss.Color("3")),
		Bad:    s.Foreground(lipgloss.Color("1")).Bold(true),
		Faint:  s.Faint(true),
		Key:    s.Foreground(lipgloss.Color("6")),
	}
}

// Table prints rows under headers in aligned columns, kubectl style: no
// borders, two spaces between columns, upper-case headers, no trailing
// spaces. style, when not nil, styles a body cell.
func (s *Styles) Table(w io.Writer, headers []string, rows [][]string, style func(row, col int) lipgloss.Style) error {
	widths := make([]int, len(headers))
	for c, h := range headers {
		widths[c] = lipgloss.Width(h)
	}
	for _, r := range rows {
		for c := range min(len(r), len(widths)) {
			widths[c] = max(widths[c], lipgloss.Width(r[c]))
		}
	}
	var b strings.Builder
	line := func(cells []string, cellStyle func(col int) lipgloss.Style) {
		var l strings.Builder
		for c := range min(len(cells), len(widths)) {
			l.WriteString(cellStyle(c).Render(cells[c]))
			if c < len(widths)-1 {
				l.WriteString(strings.Repeat(" ", widths[c]-lipgloss.Width(cells[c])+2))
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	line(headers, func(int) lipgloss.Style { return s.Header })
	for i, r := range rows {
		line(r, func(c int) lipgloss.Style {
			if style == nil {
				return s.Plain
			}
			return style(i, c)
		})
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// JSON writes v as indented JSON with a final newline.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding JSON: %w", err)
	}
	return nil
}

// YAML writes v as YAML with the same field names as JSON.
func YAML(w io.Writer, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding YAML: %w", err)
	}
	_, err = w.Write(b)
	return err
}
