package e2e

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testnet"

	"github.com/google/go-containerregistry/pkg/registry"
)

// TestReachabilityFirst runs the binary against unreachable endpoints: a
// target on a port nothing listens on, and a bucket endpoint there. Each
// run exits 1 within seconds with one error line naming the endpoint,
// prints no table and writes nothing.
func TestReachabilityFirst(t *testing.T) {
	bin := filepath.Join(binDir, "kubectl-sdr_mirror")
	src := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer src.Close()
	srcHost := strings.TrimPrefix(src.URL, "http://")
	closed := testnet.ClosedPort(t)

	dir := t.TempDir()
	images := filepath.Join(dir, "images.txt")
	if err := os.WriteFile(images, []byte(srcHost+"/atlanhq/atlan-a:1\n"+srcHost+"/atlanhq/atlan-b:2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bucket := filepath.Join(dir, "bucket")
	if err := os.Mkdir(bucket, 0o700); err != nil {
		t.Fatal(err)
	}
	from := []string{"--from", "file", "--images-file", images, "--allowed-source", srcHost + "/atlanhq", "--image-map-path", "sdr/image-map.yaml"}
	fileBucket := append([]string{"--bucket", "file://" + bucket}, from...)
	s3Bucket := append([]string{"--bucket", "s3://sdr?endpoint=http://" + closed + "&region=us-east-1&use_path_style=true", "--target", srcHost + "/atlan"}, from...)
	target := `error: destination registry "127.0.0.1:1" is unreachable (connection refused): check the host and port`
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"diff", append([]string{"diff", "--target", "127.0.0.1:1/atlan"}, fileBucket...), target},
		{"diff detailed-exitcode", append([]string{"diff", "--detailed-exitcode", "--target", "127.0.0.1:1/atlan"}, fileBucket...), target},
		{"sync", append([]string{"sync", "--verify=false", "--target", "127.0.0.1:1/atlan"}, fileBucket...), target},
		{"sync bucket", append([]string{"sync", "--verify=false"}, s3Bucket...),
			`error: cannot reach the bucket of "s3://sdr/sdr/image-map.yaml" at ` + closed + ` (connection refused): check the endpoint's host and port`},
		{"copy", []string{"copy", srcHost + "/atlanhq/atlan-a:1", "127.0.0.1:1/atlan/atlan-a:1"}, target},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			cmd.Env = append(os.Environ(), "HOME="+dir, "AWS_ACCESS_KEY_ID=AKIAREACH", "AWS_SECRET_ACCESS_KEY=reach-secret",
				"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE="+filepath.Join(dir, "none"))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			err := cmd.Run()
			elapsed := time.Since(start)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Errorf("%v: %v, want exit code 1 (docs/exit-codes.md)", tc.args, err)
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			var errLines []string
			for _, l := range lines {
				if strings.HasPrefix(l, "error: ") {
					errLines = append(errLines, l)
				}
			}
			if len(errLines) != 1 || !strings.HasPrefix(errLines[0], tc.want) {
				t.Errorf("stderr = %q, want one error line starting %q", stderr.String(), tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing: no image was looked at", stdout.String())
			}
			if elapsed > 10*time.Second {
				t.Errorf("took %s, want a bounded few seconds", elapsed)
			}
			t.Logf("%s: %s", tc.name, elapsed)
			if entries, _ := os.ReadDir(bucket); len(entries) != 0 {
				t.Errorf("the bucket holds %d entries, want none written", len(entries))
			}
		})
	}
}
