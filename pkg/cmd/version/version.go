package version

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/core"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// Set at build time with
// -ldflags "-X github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/version.version=v1.2.3 -X ...commit=abc".
var (
	version = ""
	commit  = ""
)

// Info is what version prints.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the version stamped by the linker, else the module version
// and VCS revision recorded by the Go toolchain, else "(devel)".
func Get() Info {
	info := Info{Version: version, Commit: commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && info.Commit == "" {
				info.Commit = s.Value
			}
		}
	}
	if info.Version == "" {
		info.Version = "(devel)"
	}
	return info
}

// Options are the version command's inputs.
type Options struct {
	f *core.Factory
	// Info is what Run prints; Complete reads it from this binary.
	Info Info
}

// NewCmdVersion returns the version command. runF, when not nil, is called
// with the completed options instead of Run.
func NewCmdVersion(f *core.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{f: f}
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version of this tool",
		Example: strings.ReplaceAll("  NAME version\n  NAME version -o json", "NAME", f.Name),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return o.Run(cmd.Context())
		},
	}
}

// Complete reads the version of this binary.
func (o *Options) Complete() error {
	o.Info = Get()
	return nil
}

// Validate has nothing to check: the command takes no flags of its own.
func (o *Options) Validate() error { return nil }

// Run prints the version.
func (o *Options) Run(_ context.Context) error {
	return o.f.Print(o.Info, func(w io.Writer, _ *ui.Styles) error {
		_, err := fmt.Fprintf(w, "kubectl-sdr-mirror %s (commit %s, %s, %s)\n", o.Info.Version, orNone(o.Info.Commit), o.Info.GoVersion, o.Info.Platform)
		return err
	})
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
