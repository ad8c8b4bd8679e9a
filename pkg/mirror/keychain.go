package mirror

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/google"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// Keychain returns the credential sources operators already have, first
// match wins:
//  1. authFile, when given (--registry-auth-file: docker config.json or
//     Podman auth.json format, credential helpers included);
//  2. docker's config.json ($DOCKER_CONFIG or ~/.docker) with its
//     credsStore and credHelpers;
//  3. Podman's auth.json ($REGISTRY_AUTH_FILE,
//     $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json);
//  4. Google: gcloud or application default credentials for gcr.io and
//     *-docker.pkg.dev;
//  5. ECR and ACR through their credential helpers
//     (docker-credential-ecr-login, docker-credential-acr-env) when on PATH,
//     for *.dkr.ecr.*.amazonaws.com and *.azurecr.io.
//
// An authFile that cannot be read or parsed is an error.
func Keychain(authFile string) (authn.Keychain, error) {
	var kcs []authn.Keychain
	if authFile != "" {
		cf, err := loadConfigFile(authFile)
		if err != nil {
			return nil, fmt.Errorf("reading registry auth file %q: %w; pass a docker config.json or podman auth.json to %s", authFile, err, setting.RegistryAuthFile)
		}
		kcs = append(kcs, configKeychain{cf})
	}
	kcs = append(kcs, authn.DefaultKeychain)
	for _, p := range podmanAuthFiles() {
		if cf, err := loadConfigFile(p); err == nil {
			kcs = append(kcs, configKeychain{cf})
		}
	}
	kcs = append(kcs,
		google.Keychain,
		helperKeychain{helper: "docker-credential-ecr-login", hosts: ecrHost},
		helperKeychain{helper: "docker-credential-acr-env", hosts: acrHost},
	)
	return authn.NewMultiKeychain(kcs...), nil
}

func podmanAuthFiles() []string {
	var out []string
	if p := os.Getenv("REGISTRY_AUTH_FILE"); p != "" {
		out = append(out, p)
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		out = append(out, filepath.Join(d, "containers", "auth.json"))
	}
	cfg := os.Getenv("XDG_CONFIG_HOME")
	if cfg == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cfg = filepath.Join(home, ".config")
		}
	}
	if cfg != "" {
		out = append(out, filepath.Join(cfg, "containers", "auth.json"))
	}
	return out
}

func loadConfigFile(path string) (*configfile.ConfigFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cf, err := config.LoadFromReader(f)
	if err != nil {
		return nil, err
	}
	cf.Filename = path
	return cf, nil
}

// configKeychain resolves from one docker/Podman auth file, including the
// credential helpers it names.
type configKeychain struct{ cf *configfile.ConfigFile }

var _ authn.Keychain = configKeychain{}

func (k configKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	for _, key := range []string{target.String(), target.RegistryStr()} {
		if key == name.DefaultRegistry {
			key = authn.DefaultAuthKey
		}
		cfg, err := k.cf.GetAuthConfig(key)
		if err != nil {
			return nil, fmt.Errorf("reading credentials for registry %q from %q: %w", target.RegistryStr(), k.cf.Filename, err)
		}
		if cfg.Username != "" || cfg.Password != "" || cfg.Auth != "" || cfg.IdentityToken != "" || cfg.RegistryToken != "" {
			return authn.FromConfig(authn.AuthConfig{
				Username: cfg.Username, Password: cfg.Password, Auth: cfg.Auth,
				IdentityToken: cfg.IdentityToken, RegistryToken: cfg.RegistryToken,
			}), nil
		}
	}
	return authn.Anonymous, nil
}

var (
	ecrHost = regexp.MustCompile(`^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)
	acrHost = regexp.MustCompile(`\.azurecr\.(io|cn|us)$`)
)

// helperKeychain runs a docker credential helper for the hosts it serves,
// when the helper is installed; otherwise it is anonymous.
type helperKeychain struct {
	helper string
	hosts  *regexp.Regexp
}

func (k helperKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	host := target.RegistryStr()
	if !k.hosts.MatchString(host) {
		return authn.Anonymous, nil
	}
	bin, err := exec.LookPath(k.helper)
	if err != nil {
		return authn.Anonymous, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "get") //nolint:gosec // the helper is a fixed, well-known name found on PATH
	cmd.Stdin = strings.NewReader(host)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// The helper's stderr may name the account, never a secret.
		return nil, fmt.Errorf("getting credentials for registry %q from %s: %w: %s", host, k.helper, err, strings.TrimSpace(stderr.String()))
	}
	var c struct{ Username, Secret string }
	if err := json.Unmarshal(stdout.Bytes(), &c); err != nil {
		return nil, fmt.Errorf("getting credentials for registry %q from %s: unreadable answer", host, k.helper)
	}
	if c.Username == "<token>" {
		return authn.FromConfig(authn.AuthConfig{IdentityToken: c.Secret}), nil
	}
	return authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: c.Secret}), nil
}
