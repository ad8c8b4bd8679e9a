// Command helmplugin makes the Helm plugin tarball of one platform: the
// plugin in a folder named as the plugin (sdr-mirror/: plugin.yaml, its
// hooks, plugin.complete and bin/ with that platform's binary), packaged
// and signed by Helm 4 itself (helm plugin package --sign), which writes
// the tarball and its .prov. Helm 4 verifies both when it installs from a
// tarball. goreleaser runs it after building each platform's binary (see
// .goreleaser.yaml); the release uploads what it writes.
//
// A tarball's name comes from the plugin's name and version, and its .prov
// names the tarball, so each platform's plugin.yaml carries the platform
// in its version: sdr-mirror-0.1.0-linux-amd64.tgz holds version
// 0.1.0-linux-amd64.
//
//	SDR_MIRROR_SIGNING_KEY=NAME SDR_MIRROR_SIGNING_KEYRING=secring.asc \
//	  go run ./hack/helmplugin --helm helm4 --binary dist/.../kubectl-sdr_mirror \
//	    --os linux --arch amd64 --dest dist/helm-plugin
//
// SDR_MIRROR_SIGNING_KEY names the OpenPGP key (its user ID or part of it),
// SDR_MIRROR_SIGNING_KEYRING is a keyring file holding its secret key
// (binary or ASCII-armoured, as gpg --export-secret-keys [-a] writes),
// SDR_MIRROR_SIGNING_PASSPHRASE_FILE, when set, holds its passphrase, and
// SDR_MIRROR_SIGNING_PUBLIC_KEY, when set, is the public key published with
// the release, which the tarball is then verified with.
// Without a key it refuses, unless --unsigned is given (for trying the
// layout: Helm 4 refuses such a tarball unless told --verify=false).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// The plugin's files besides the binary, from the repository root.
var pluginFiles = []string{"plugin.yaml", "plugin.complete", "plugin/install.sh", "plugin/install.ps1", "LICENSE"}

// platformRE matches a GOOS or GOARCH.
var platformRE = regexp.MustCompile(`^[a-z0-9]+$`)

// versionRE matches plugin.yaml's version line.
var versionRE = regexp.MustCompile(`(?m)^version:[ \t]*"?([^"\s]+)"?[ \t]*$`)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "helmplugin:", err)
		os.Exit(1)
	}
}

type options struct {
	helm, binary, goos, goarch, dest, root, version string
	unsigned                                        bool
	key, keyring, passphraseFile, publicKey         string
}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("helmplugin", flag.ContinueOnError)
	helm := os.Getenv("HELM4")
	if helm == "" {
		helm = "helm"
	}
	fs.StringVar(&o.helm, "helm", helm, "the Helm 4 binary (default: $HELM4, else helm)")
	fs.StringVar(&o.binary, "binary", "", "the platform's kubectl-sdr_mirror binary")
	fs.StringVar(&o.goos, "os", "", "the binary's operating system, as GOOS")
	fs.StringVar(&o.goarch, "arch", "", "the binary's architecture, as GOARCH")
	fs.StringVar(&o.dest, "dest", "dist/helm-plugin", "directory to write the plugin tarball and its .prov into")
	fs.StringVar(&o.root, "root", ".", "the repository, for plugin.yaml and the plugin's hooks")
	fs.StringVar(&o.version, "version", "", "the release's version, which must be plugin.yaml's (default: plugin.yaml's)")
	fs.BoolVar(&o.unsigned, "unsigned", false, "package without signing (Helm 4 then installs only with --verify=false)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.binary == "" || !platformRE.MatchString(o.goos) || !platformRE.MatchString(o.goarch) {
		return errors.New("usage: helmplugin --binary FILE --os GOOS --arch GOARCH [--dest DIR] [--version V] [--unsigned]")
	}
	o.key = os.Getenv("SDR_MIRROR_SIGNING_KEY")
	o.keyring = os.Getenv("SDR_MIRROR_SIGNING_KEYRING")
	o.passphraseFile = os.Getenv("SDR_MIRROR_SIGNING_PASSPHRASE_FILE")
	o.publicKey = os.Getenv("SDR_MIRROR_SIGNING_PUBLIC_KEY")
	if !o.unsigned {
		switch {
		case o.key == "":
			return errors.New("SDR_MIRROR_SIGNING_KEY is not set: Helm 4 installs only signed plugin tarballs; " +
				"set it to the name of the release's OpenPGP key and SDR_MIRROR_SIGNING_KEYRING to a keyring file holding its secret key (gpg --export-secret-keys -a NAME)")
		case o.keyring == "":
			return errors.New("SDR_MIRROR_SIGNING_KEYRING is not set: set it to a keyring file holding the secret key of " + o.key + " (gpg --export-secret-keys -a NAME)")
		}
		if _, err := os.Stat(o.keyring); err != nil {
			return fmt.Errorf("SDR_MIRROR_SIGNING_KEYRING: %w", err)
		}
	}
	if err := checkHelm4(o.helm); err != nil {
		return err
	}
	manifest, err := os.ReadFile(filepath.Join(o.root, "plugin.yaml"))
	if err != nil {
		return err
	}
	m := versionRE.FindSubmatch(manifest)
	if m == nil {
		return errors.New("plugin.yaml has no version")
	}
	// The install hook of a plugin installed from the repository fetches
	// plugin.yaml's version: a release must carry the same.
	if v := strings.TrimPrefix(o.version, "v"); v != "" && v != string(m[1]) {
		return fmt.Errorf("plugin.yaml says version %s, the release is %s: set plugin.yaml's version to the release's", m[1], v)
	}
	o.version = string(m[1])
	tgz, err := o.pack(manifest)
	if err != nil {
		return err
	}
	fmt.Println(tgz)
	return nil
}

// checkHelm4 refuses a Helm other than 4: Helm 3 cannot package plugins.
func checkHelm4(helm string) error {
	out, err := exec.Command(helm, "version", "--template", "{{.Version}}").Output()
	if err != nil {
		return fmt.Errorf("running %s version: %w (pass --helm with a Helm 4 binary)", helm, err)
	}
	if v := strings.TrimSpace(string(out)); !strings.HasPrefix(v, "v4.") {
		return fmt.Errorf("%s is Helm %s: plugin tarballs are packaged and signed by Helm 4 (pass --helm)", helm, v)
	}
	return nil
}

// pack stages the plugin and has Helm package (and sign) it into o.dest; it
// returns the tarball's path.
func (o *options) pack(manifest []byte) (string, error) {
	stage, err := os.MkdirTemp("", "sdr-mirror-plugin-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)
	dir := filepath.Join(stage, "sdr-mirror")
	for _, f := range pluginFiles {
		if err := copyFile(filepath.Join(o.root, f), filepath.Join(dir, f)); err != nil {
			return "", err
		}
	}
	version := fmt.Sprintf("%s-%s-%s", o.version, o.goos, o.goarch)
	withVersion := versionRE.ReplaceAll(manifest, []byte("version: "+version))
	if err := os.WriteFile(filepath.Join(dir, "plugin.yaml"), withVersion, 0o644); err != nil { //nolint:gosec // a plugin's files are readable
		return "", err
	}
	bin := "kubectl-sdr_mirror"
	if o.goos == "windows" {
		bin += ".exe"
	}
	data, err := os.ReadFile(o.binary)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil { //nolint:gosec // as above
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", bin), data, 0o755); err != nil { //nolint:gosec // the plugin's executable
		return "", err
	}
	if err := os.MkdirAll(o.dest, 0o755); err != nil { //nolint:gosec // release files are public
		return "", err
	}
	args := []string{"plugin", "package", "--destination", o.dest}
	if o.unsigned {
		args = append(args, "--sign=false")
	} else {
		args = append(args, "--sign", "--key", o.key, "--keyring", o.keyring)
		if o.passphraseFile != "" {
			args = append(args, "--passphrase-file", o.passphraseFile)
		}
	}
	cmd := exec.Command(o.helm, append(args, dir)...) //nolint:gosec // the packager runs the Helm it is given
	cmd.Stdin = strings.NewReader("")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("helm plugin package: %w\n%s", err, out)
	}
	tgz := filepath.Join(o.dest, fmt.Sprintf("sdr-mirror-%s.tgz", version))
	if _, err := os.Stat(tgz); err != nil {
		return "", fmt.Errorf("helm plugin package wrote no %s", tgz)
	}
	if !o.unsigned {
		// The .prov must name this very file: check it as Helm 4 will, with
		// the public key users are given when there is one.
		keyring := o.keyring
		if o.publicKey != "" {
			keyring = o.publicKey
		}
		out, err := exec.Command(o.helm, "plugin", "verify", "--keyring", keyring, tgz).CombinedOutput() //nolint:gosec // as above
		if err != nil {
			return "", fmt.Errorf("helm plugin verify %s: %w\n%s", tgz, err, out)
		}
	}
	return tgz, nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	fi, err := os.Stat(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil { //nolint:gosec // a plugin's folders are readable
		return err
	}
	return os.WriteFile(to, data, fi.Mode().Perm()|0o444)
}
