package version

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
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

// NewCommand returns the version command.
func NewCommand(f *factory.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version of this tool",
		Example: strings.ReplaceAll("  NAME version\n  NAME version -o json", "NAME", f.Name),
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			info := Get()
			return f.Print(info, func(w io.Writer, _ *ui.Styles) error {
				_, err := fmt.Fprintf(w, "kubectl-sdr-mirror %s (commit %s, %s, %s)\n", info.Version, orNone(info.Commit), info.GoVersion, info.Platform)
				return err
			})
		},
	}
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
