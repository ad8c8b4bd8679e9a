package core

import (
	"io"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// TestName: the tool names itself as the user invoked it, in help and
// hints: as a Helm plugin when Helm set HELM_PLUGIN_NAME.
func TestName(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
		helm bool
	}{
		{nil, "kubectl sdr-mirror", false},
		{map[string]string{"HELM_PLUGIN_NAME": "sdr-mirror"}, "helm sdr-mirror", true},
	} {
		f, _, _ := NewTest(tc.env)
		if f.Name != tc.want || f.Global.HelmPlugin != tc.helm {
			t.Errorf("env %v: name %q, helm plugin %v; want %q, %v", tc.env, f.Name, f.Global.HelmPlugin, tc.want, tc.helm)
		}
	}
}

// TestPrint: -o json and yaml print the value, table calls the renderer;
// warnings go to standard error, never standard output.
func TestPrint(t *testing.T) {
	v := struct {
		Image string `json:"image"`
	}{"atlanhq/app:1.0"}
	for format, want := range map[string]string{ui.FormatJSON: `"image": "atlanhq/app:1.0"`, ui.FormatYAML: "image: atlanhq/app:1.0", ui.FormatTable: "IMAGE atlanhq/app:1.0"} {
		f, out, errOut := NewTest(nil)
		f.Global.Output = format
		err := f.Print(v, func(w io.Writer, _ *ui.Styles) error {
			_, err := w.Write([]byte("IMAGE " + v.Image + "\n"))
			return err
		})
		if err != nil || !strings.Contains(out.String(), want) {
			t.Errorf("-o %s printed %q (%v), want it to contain %q", format, out, err, want)
		}
		f.Warnf("the map has %d stale entries", 2)
		if !strings.Contains(errOut.String(), "warning: the map has 2 stale entries") || strings.Contains(out.String(), "warning") {
			t.Errorf("-o %s: warning on stderr %q, stdout %q; want it on stderr only", format, errOut, out)
		}
	}
}

// TestSpelling: domain errors name their settings as this tool's flags
// once the core is linked in.
func TestSpelling(t *testing.T) {
	if got := setting.Target.String(); got != "--target" {
		t.Errorf("setting.Target reads %q, want the flag --target", got)
	}
}
