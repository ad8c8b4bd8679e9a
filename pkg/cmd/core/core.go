package core

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// Factory is handed to every command constructor, directly or embedded in
// pkg/cmd/factory's.
type Factory struct {
	IO genericiooptions.IOStreams
	// Name is how the user invoked the tool: "kubectl sdr-mirror" or
	// "helm sdr-mirror". Help and hints use it.
	Name      string
	Global    *Global
	LookupEnv func(string) (string, bool)
}

// Global holds the root command's own flags.
type Global struct {
	Output    string
	Color     string
	Verbosity int
	// HelmPlugin is true when running as a Helm plugin (HELM_PLUGIN_NAME set).
	HelmPlugin bool
}

// New returns a factory over the given streams and environment.
func New(streams genericiooptions.IOStreams, lookupEnv func(string) (string, bool)) *Factory {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	plugin, _ := lookupEnv("HELM_PLUGIN_NAME")
	helm := plugin != ""
	name := "kubectl sdr-mirror"
	if helm {
		name = "helm sdr-mirror"
	}
	return &Factory{
		IO:        streams,
		Name:      name,
		Global:    &Global{Output: ui.FormatTable, Color: ui.ColorAuto, HelmPlugin: helm},
		LookupEnv: lookupEnv,
	}
}

// NewTest returns a factory for tests of commands: empty standard input,
// standard output and error in the returned buffers (not terminals, so no
// colour and no progress bars), and only the variables of env in the
// environment.
func NewTest(env map[string]string) (f *Factory, out, errOut *bytes.Buffer) {
	out, errOut = &bytes.Buffer{}, &bytes.Buffer{}
	f = New(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut}, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	return f, out, errOut
}

// Styles is the palette for standard output.
func (f *Factory) Styles() *ui.Styles {
	return ui.NewStyles(f.IO.Out, ui.UseColor(f.Global.Color, f.IO.Out, f.LookupEnv))
}

// ErrStyles is the palette for standard error.
func (f *Factory) ErrStyles() *ui.Styles {
	return ui.NewStyles(f.IO.ErrOut, ui.UseColor(f.Global.Color, f.IO.ErrOut, f.LookupEnv))
}

// Logger writes debug logs to standard error when -v is given, and only
// warnings otherwise.
func (f *Factory) Logger() *slog.Logger {
	level := slog.LevelWarn
	if f.Global.Verbosity > 0 {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(f.IO.ErrOut, &slog.HandlerOptions{Level: level}))
}

// Warnf prints a warning line to standard error.
func (f *Factory) Warnf(format string, args ...any) {
	s := f.ErrStyles()
	fmt.Fprintln(f.IO.ErrOut, s.Warn.Render("warning:")+" "+fmt.Sprintf(format, args...))
}

// Print writes v as JSON or YAML per -o, or calls table for -o table.
func (f *Factory) Print(v any, table func(w io.Writer, s *ui.Styles) error) error {
	switch f.Global.Output {
	case ui.FormatJSON:
		return ui.JSON(f.IO.Out, v)
	case ui.FormatYAML:
		return ui.YAML(f.IO.Out, v)
	}
	return table(f.IO.Out, f.Styles())
}

// PrintDiff writes a map diff (styled on a terminal) to w and says on
// standard error that nothing was written to name.
func (f *Factory) PrintDiff(w io.Writer, s *ui.Styles, diff, name string) error {
	if diff == "" {
		fmt.Fprintf(f.IO.ErrOut, "dry run: %q would not change\n", name)
		return nil
	}
	if err := s.Diff(w, diff); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "dry run: nothing was written to %q\n", name)
	return nil
}
