package mirror_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

func writeAuth(t *testing.T, path, host, user, pass string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	if err := os.WriteFile(path, []byte(`{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestKeychainSources(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", filepath.Join(home, ".docker"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(home, "run"))
	t.Setenv("REGISTRY_AUTH_FILE", "")
	writeAuth(t, filepath.Join(home, ".docker", "config.json"), "docker.example.com", "docker-user", "p1")
	writeAuth(t, filepath.Join(home, "run", "containers", "auth.json"), "podman.example.com", "podman-user", "p2")
	writeAuth(t, filepath.Join(home, ".config", "containers", "auth.json"), "podman-cfg.example.com", "cfg-user", "p3")
	authFile := filepath.Join(home, "flag.json")
	writeAuth(t, authFile, "docker.example.com", "flag-user", "p4")

	tests := []struct {
		name     string
		authFile string
		registry string
		wantUser string
	}{
		{"docker config.json", "", "docker.example.com", "docker-user"},
		{"podman auth.json in XDG_RUNTIME_DIR, docker config present", "", "podman.example.com", "podman-user"},
		{"podman auth.json in ~/.config", "", "podman-cfg.example.com", "cfg-user"},
		{"--registry-auth-file wins", authFile, "docker.example.com", "flag-user"},
		{"unknown registry is anonymous", "", "other.example.com", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kc, err := mirror.Keychain(tc.authFile)
			if err != nil {
				t.Fatal(err)
			}
			reg, _ := name.NewRegistry(tc.registry)
			a, err := kc.Resolve(reg)
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tc.registry, err)
			}
			cfg, err := a.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Username != tc.wantUser {
				t.Errorf("Resolve(%q) user = %q, want %q", tc.registry, cfg.Username, tc.wantUser)
			}
		})
	}
}

func TestKeychainBadAuthFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "auth.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := mirror.Keychain(bad)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "--registry-auth-file") {
		t.Errorf("Keychain(%q) error = %v, want one naming the file and the flag", bad, err)
	}
}
