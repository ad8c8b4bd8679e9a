package syncer

import (
	"os/exec"
	"strings"
	"testing"
)

// The run is a library: it never prints, exits or styles, so it imports no
// CLI, styling or terminal package, nor any command.
func TestImportsNoCLI(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/sdr-mirror/kubectl-sdr-mirror/pkg/syncer").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/spf13/cobra",
		"github.com/spf13/pflag",
		"github.com/charmbracelet/",
		"github.com/muesli/termenv",
		"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui",
		"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cli",
		"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range forbidden {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("pkg/syncer depends on %s", dep)
			}
		}
	}
}
