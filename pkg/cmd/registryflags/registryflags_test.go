package registryflags

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestFlags(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_RUNTIME_DIR", "")
	auth := filepath.Join(t.TempDir(), "auth.json")
	if err := os.WriteFile(auth, []byte(`{"auths":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want Flags
		err  string // from Validate, or else from Options
	}{
		{name: "none"},
		{name: "all", args: []string{"--registry-auth-file", auth, "--insecure-registry", "a:5000", "--insecure-registry", "b:5000",
			"--registry-ca-file", "ca.pem", "--registry-mirror", "docker.io=proxy:5000", "--registry-mirror", "ghcr.io=proxy:5001"},
			want: Flags{AuthFile: auth, Insecure: []string{"a:5000", "b:5000"}, CAFile: "ca.pem", Mirrors: []string{"docker.io=proxy:5000", "ghcr.io=proxy:5001"}}},
		{name: "mirror without host", args: []string{"--registry-mirror", "proxy:5000"},
			want: Flags{Mirrors: []string{"proxy:5000"}}, err: `registry mirror "proxy:5000": want SOURCEHOST=MIRRORHOST`},
		{name: "two mirrors", args: []string{"--registry-mirror", "docker.io=a:1", "--registry-mirror", "docker.io=b:1"},
			want: Flags{Mirrors: []string{"docker.io=a:1", "docker.io=b:1"}}, err: `registry "index.docker.io" has two mirrors, "a:1" and "b:1"`}, // the root command adds the --registry-mirror remedy
		{name: "unreadable auth file", args: []string{"--registry-auth-file", "/nonexistent/auth.json"},
			want: Flags{AuthFile: "/nonexistent/auth.json"}, err: "--registry-auth-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f Flags
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			f.AddFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f, tc.want) {
				t.Errorf("flags %q = %+v, want %+v", tc.args, f, tc.want)
			}
			err := f.Validate()
			if err == nil {
				_, err = f.Options()
			}
			if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("flags %q: error %v, want %q", tc.args, err, tc.err)
			}
		})
	}
}
