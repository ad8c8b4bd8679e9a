// Package depcheck asserts the layering rule: domain packages import no CLI,
// styling or terminal package, so they never print or exit.
package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

var domain = []string{"imagemap", "sdr", "inventory", "plan", "mirror", "store"}

var forbidden = []string{
	"github.com/spf13/cobra",
	"github.com/spf13/pflag",
	"github.com/charmbracelet/",
	"github.com/muesli/termenv",
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui",
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cli",
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd",
}

func TestDomainPackagesImportNoCLI(t *testing.T) {
	for _, p := range domain {
		pkg := "github.com/sdr-mirror/kubectl-sdr-mirror/pkg/" + p
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			if strings.Contains(string(out), "cannot find package") || strings.Contains(string(out), "no required module") ||
				strings.Contains(string(out), "is not in std") || strings.Contains(string(out), "matched no packages") {
				continue // not written yet
			}
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, bad := range forbidden {
				if strings.HasPrefix(dep, bad) {
					t.Errorf("%s depends on %s; domain packages must not import CLI, styling or terminal packages", pkg, dep)
				}
			}
		}
	}
}
