package registryflags

import (
	"github.com/spf13/pflag"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

// Flags are the registry access flags.
type Flags struct {
	AuthFile string
	Insecure []string
	CAFile   string
	Mirrors  []string
}

// AddFlags registers --registry-auth-file, --insecure-registry,
// --registry-ca-file and --registry-mirror.
func (f *Flags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.AuthFile, "registry-auth-file", "", "registry credentials in docker config.json or podman auth.json format, tried before docker's and podman's own files")
	fs.StringArrayVar(&f.Insecure, "insecure-registry", nil, "registry HOST[:PORT] spoken to over plain HTTP (repeatable)")
	fs.StringVar(&f.CAFile, "registry-ca-file", "", "PEM file of CA certificates trusted for registries, besides the system's")
	fs.StringArrayVar(&f.Mirrors, "registry-mirror", nil, "pull images of SOURCEHOST from MIRRORHOST, as SOURCEHOST=MIRRORHOST (repeatable; one mirror per host)")
}

// Validate checks the flag values without touching the network.
func (f *Flags) Validate() error {
	_, err := mirror.ParseMirrors(f.Mirrors)
	return err
}

// Options turns the flags into copy engine options.
func (f *Flags) Options() ([]mirror.Option, error) {
	mirrors, err := mirror.ParseMirrors(f.Mirrors)
	if err != nil {
		return nil, err
	}
	kc, err := mirror.Keychain(f.AuthFile)
	if err != nil {
		return nil, err
	}
	return []mirror.Option{
		mirror.WithKeychain(kc),
		mirror.WithInsecure(f.Insecure...),
		mirror.WithCAFile(f.CAFile),
		mirror.WithMirrors(mirrors),
	}, nil
}
