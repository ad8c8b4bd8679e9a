//go:build integration

package mirror_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

// TestAuthFailureNamesRegistry copies into a Distribution registry with
// htpasswd auth and TLS: without credentials the error names the registry;
// with --registry-auth-file and --registry-ca-file the copy succeeds.
func TestAuthFailureNamesRegistry(t *testing.T) {
	src, _ := inProcessRegistry(t, nil)
	dst, dir := testenv.Registry(t, "--htpasswd", "mirror:s3cret-pass", "--tls")
	_, pairs := mirrorSet(t, src, dst)
	pairs = pairs[:1]
	ca := filepath.Join(dir, "ca.pem")

	_, err := newCopier(t, mirror.WithCAFile(ca)).Copy(ctx(t), pairs)
	if err == nil {
		t.Fatal("Copy without credentials: got no error")
	}
	if !errors.Is(err, mirror.ErrAuth) {
		t.Errorf("Copy without credentials: error %q does not wrap ErrAuth", err)
	}
	t.Logf("error without credentials: %v", err)
	want := fmt.Sprintf("destination registry %q: authentication failed", dst)
	if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Errorf("Copy without credentials = %q, want one line containing %q", err, want)
	}

	authFile := filepath.Join(t.TempDir(), "auth.json")
	auth := base64.StdEncoding.EncodeToString([]byte("mirror:s3cret-pass"))
	if err := os.WriteFile(authFile, []byte(`{"auths":{"`+dst+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	kc, err := mirror.Keychain(authFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mirror.New(mirror.WithKeychain(kc), mirror.WithCAFile(ca))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Copy(ctx(t), pairs)
	if err != nil {
		t.Fatalf("Copy with --registry-auth-file: %v", err)
	}
	if strings.Contains(fmt.Sprint(rep), "s3cret-pass") {
		t.Error("the report contains the password")
	}
	if rep.Images[0].Status != mirror.StatusCopied {
		t.Errorf("Status = %q, want copied", rep.Images[0].Status)
	}
}
