package copycmd_test

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	copycmd "github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/copy"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/core"
)

// run runs the copy command with args, output in the format given, as the
// root command would.
func run(t *testing.T, output string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	f, out, errOut := core.NewTest(nil)
	f.Global.Output = output
	cmd := copycmd.NewCmdCopy(f, nil)
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func serve(t *testing.T) string {
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func TestCopy(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_RUNTIME_DIR", "")
	src, dst := serve(t), serve(t)
	idx, err := random.Index(1024, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(src + "/atlanhq/app:1.0")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()

	stdout, stderr, err := run(t, "json", src+"/atlanhq/app:1.0", dst+"/atlan/app:1.0")
	if err != nil {
		t.Fatalf("copy: %v, stderr %s", err, stderr)
	}
	var rep struct {
		Images []struct{ Source, Destination, Digest, Status string }
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("copy -o json printed %q: %v", stdout, err)
	}
	if len(rep.Images) != 1 || rep.Images[0].Status != "copied" || rep.Images[0].Digest != want.String() {
		t.Errorf("copy -o json = %+v, want one image copied with digest %s", rep.Images, want)
	}
	if !strings.Contains(stderr, "copied  "+src+"/atlanhq/app:1.0 -> "+dst+"/atlan/app:1.0") {
		t.Errorf("stderr = %q, want one line for the copied image", stderr)
	}

	stdout, stderr, err = run(t, "table", src+"/atlanhq/app:1.0", dst+"/atlan/app:1.0")
	if err != nil {
		t.Fatalf("second copy: %v, stderr %s", err, stderr)
	}
	if !strings.Contains(stdout, "skipped") || !strings.Contains(stderr, "present ") {
		t.Errorf("second copy: stdout %q, stderr %q; want the image skipped", stdout, stderr)
	}
}

func TestCopyArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"odd arguments", []string{"a:1"}, "want SOURCE DESTINATION pairs"},
		{"two mirrors for one host", []string{"a:1", "b:1", "--registry-mirror", "docker.io=m1:5000", "--registry-mirror", "docker.io=m2:5000"}, "two mirrors"},
		{"bad platform", []string{"a:1", "b:1", "--platform", "linux"}, `platform "linux"`},
		{"unreadable auth file", []string{"a:1", "b:1", "--registry-auth-file", "/nonexistent/auth.json"}, "--registry-auth-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, "table", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("copy %v: error %v; want one line naming %q", tc.args, err, tc.want)
			}
		})
	}
}
