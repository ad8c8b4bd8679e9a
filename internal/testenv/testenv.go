// Package testenv finds the real components the tests run against. make
// test installs them with hack/install-tools.sh and passes their locations
// as SDR_MIRROR_* variables; a test that needs a missing component fails in
// CI (CI=true) and is skipped elsewhere with the command that installs it.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Path returns the value of the variable that locates a component, such as
// SDR_MIRROR_KUBE_BIN. When it is unset the test fails in CI and is
// skipped otherwise.
func Path(t testing.TB, variable string) string {
	t.Helper()
	if v := os.Getenv(variable); v != "" {
		if _, err := os.Stat(v); err != nil {
			t.Fatalf("%s=%s: %v", variable, v, err)
		}
		return v
	}
	Missing(t, variable+" is not set")
	return ""
}

// Bin returns the path of binary name inside the directory named by
// variable, falling back to PATH outside CI.
func Bin(t testing.TB, variable, name string) string {
	t.Helper()
	if v := os.Getenv(variable); v != "" {
		p := filepath.Join(v, name)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: %v", variable, err)
		}
		return p
	}
	if os.Getenv("CI") != "true" {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, name+" not found ("+variable+" is not set)")
	return ""
}

// Missing fails the test in CI and skips it elsewhere.
func Missing(t testing.TB, why string) {
	t.Helper()
	msg := why + "; run the tests with 'make test', which installs every component (hack/install-tools.sh)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
