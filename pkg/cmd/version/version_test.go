package version

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/core"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output =\n%s\nwant (%s)\n%s", got, path, want)
	}
}

func TestNewCmdVersion(t *testing.T) {
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{name: "no arguments", args: nil},
		{name: "an argument", args: []string{"extra"}, err: `unknown command "extra" for "version"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := core.NewTest(nil)
			var got *Options
			cmd := NewCmdVersion(f, func(o *Options) error { got = o; return nil })
			cmd.SetArgs(append([]string{}, tc.args...))
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("version %q: error %v, want %q", tc.args, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || got.Info != Get() {
				t.Errorf("version %q: options %+v, want Info %+v", tc.args, got, Get())
			}
		})
	}
}

func TestRun(t *testing.T) {
	info := Info{Version: "v1.2.3", GoVersion: "go1.99", Platform: "linux/amd64"}
	for _, tc := range []struct {
		name, output string
		info         Info
	}{
		{"table", "table", info},
		{"table-commit", "table", Info{Version: "v1.2.3", Commit: "abc123", GoVersion: "go1.99", Platform: "linux/amd64"}},
		{"json", "json", info},
		{"yaml", "yaml", info},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, out, _ := core.NewTest(nil)
			f.Global.Output = tc.output
			o := &Options{f: f, Info: tc.info}
			if err := o.Run(t.Context()); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, out.String())
		})
	}
}
