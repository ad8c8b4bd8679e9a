package copycmd_test

import (
	"bytes"
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
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cli"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := factory.New(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		func(string) (string, bool) { return "", false })
	code = cli.Run(context.Background(), f, args)
	return code, out.String(), errOut.String()
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

	code, stdout, stderr := run(t, "copy", src+"/atlanhq/app:1.0", dst+"/atlan/app:1.0", "-o", "json")
	if code != 0 {
		t.Fatalf("copy exit %d, stderr %s", code, stderr)
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

	code, stdout, stderr = run(t, "copy", src+"/atlanhq/app:1.0", dst+"/atlan/app:1.0")
	if code != 0 {
		t.Fatalf("second copy exit %d, stderr %s", code, stderr)
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
		{"odd arguments", []string{"copy", "a:1"}, "want SOURCE DESTINATION pairs"},
		{"two mirrors for one host", []string{"copy", "a:1", "b:1", "--registry-mirror", "docker.io=m1:5000", "--registry-mirror", "docker.io=m2:5000"}, "two mirrors"},
		{"bad platform", []string{"copy", "a:1", "b:1", "--platform", "linux"}, `platform "linux"`},
		{"unreadable auth file", []string{"copy", "a:1", "b:1", "--registry-auth-file", "/nonexistent/auth.json"}, "--registry-auth-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, tc.args...)
			if code != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tc.args, code, stderr, tc.want)
			}
		})
	}
}
