package verifyflags

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestFlags: the gate is on by default; --tuf-url is refused where nothing
// is fetched, naming the flag it clashes with; turning the gate off is
// said every run.
func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		importing string
		want      string
	}{
		{nil, "", ""},
		{[]string{"--tuf-url", "https://tuf.internal", "--tuf-root", "root.json"}, "", ""},
		{[]string{"--tuf-url", "https://tuf.internal", "--trusted-root", "trusted_root.json"}, "", "--tuf-url cannot be combined with --trusted-root"},
		{[]string{"--tuf-url", "https://tuf.internal", "--key", "cosign.pub"}, "", "--tuf-url cannot be combined with --key"},
		{[]string{"--tuf-url", "https://tuf.internal"}, "--from-bundle", "--tuf-url cannot be combined with --from-bundle"},
	} {
		var v Flags
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		v.AddFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if !v.Enabled {
			t.Errorf("%v: the gate is off, want it on by default", tc.args)
		}
		err := v.Validate(tc.importing)
		if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && !strings.Contains(got, tc.want)) {
			t.Errorf("%v importing %q: Validate = %v, want %q", tc.args, tc.importing, err, tc.want)
		}
	}
}

type warner struct{ bytes.Buffer }

func (w *warner) Warnf(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }

func TestWarnIfDisabled(t *testing.T) {
	var w warner
	(&Flags{Enabled: true}).WarnIfDisabled(&w)
	if w.Len() != 0 {
		t.Errorf("gate on: warned %q, want nothing", w.String())
	}
	(&Flags{}).WarnIfDisabled(&w)
	if !strings.Contains(w.String(), "signature verification is OFF (--verify=false)") {
		t.Errorf("gate off: warned %q, want it said", w.String())
	}
}
