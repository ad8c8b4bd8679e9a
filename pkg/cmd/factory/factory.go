package factory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// Factory is handed to every command constructor.
type Factory struct {
	IO genericiooptions.IOStreams
	// Name is how the user invoked the tool: "kubectl sdr-mirror" or
	// "helm sdr-mirror". Help and hints use it.
	Name        string
	ConfigFlags *genericclioptions.ConfigFlags
	Global      *Global
	LookupEnv   func(string) (string, bool)

	// OpenBucket opens an object in a bucket; tests replace it.
	OpenBucket func(ctx context.Context, bucketURL, key string) (store.Object, error)

	// KubeClients returns API clients for the kubeconfig flags; tests
	// replace it.
	KubeClients func() (kubernetes.Interface, dynamic.Interface, error)
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
	f := &Factory{
		IO:          streams,
		Name:        name,
		ConfigFlags: genericclioptions.NewConfigFlags(true),
		Global:      &Global{Output: ui.FormatTable, Color: ui.ColorAuto, HelmPlugin: helm},
		LookupEnv:   lookupEnv,
		OpenBucket:  store.OpenBucket,
	}
	f.KubeClients = f.kubeClients
	return f
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

// MapFlags locate the image map: a local file, or a key in a bucket.
type MapFlags struct {
	File   string
	Bucket string
	Key    string
}

// AddFlags registers --map, --bucket and --image-map-path.
func (m *MapFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&m.File, "map", "", "image map in a local file")
	fs.StringVar(&m.Bucket, "bucket", "", "object-storage bucket holding the image map, as a URL (file:///dir, mem://)")
	fs.StringVar(&m.Key, "image-map-path", "", "object key of the image map in --bucket (the SDR's image_map_path)")
}

// Configured reports whether a map location was given.
func (m *MapFlags) Configured() bool { return m.File != "" || m.Bucket != "" }

// Validate checks the flag combination.
func (m *MapFlags) Validate() error {
	switch {
	case m.File != "" && (m.Bucket != "" || m.Key != ""):
		return errors.New("--map cannot be combined with --bucket or --image-map-path: give one location")
	case m.Bucket != "" && m.Key == "":
		return errors.New("--bucket needs --image-map-path: the object key of the image map in the bucket")
	case m.Key != "" && m.Bucket == "":
		return errors.New("--image-map-path needs --bucket: the bucket URL that holds the map")
	}
	return nil
}

// Open opens the configured map object.
func (m *MapFlags) Open(ctx context.Context, f *Factory) (store.Object, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if m.File != "" {
		return store.File(m.File), nil
	}
	if m.Bucket == "" {
		return nil, errors.New("no image map given: pass --map FILE, or --bucket URL with --image-map-path KEY")
	}
	return f.OpenBucket(ctx, m.Bucket, m.Key)
}
