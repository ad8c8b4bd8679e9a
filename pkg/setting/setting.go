// Package setting names what an operator sets — the release, the registry
// prefix, the registry auth file — so that an error in a domain package can
// say which setting fixes it without knowing how a command spells it.
//
// A domain package writes a Name into its message (fmt's %s); the command
// layer decides the spelling once, with SetSpelling: the CLI spells each
// setting as its flag (docs/README.md, "Errors name their remedy"). Without a
// spelling a Name reads as its plain name, which is what a library user sees.
package setting

import "sync/atomic"

// Name is a setting the operator controls.
type Name string

// The settings domain errors name as their remedy.
const (
	AllNamespaces        Name = "all-namespaces"
	AllowedSource        Name = "allowed-source"
	AtlanURL             Name = "atlan-url"
	Bucket               Name = "bucket"
	BucketCAFile         Name = "bucket-ca-file"
	CertIdentity         Name = "certificate-identity"
	CertIdentityRegexp   Name = "certificate-identity-regexp"
	CertOIDCIssuer       Name = "certificate-oidc-issuer"
	CertOIDCIssuerRegexp Name = "certificate-oidc-issuer-regexp"
	Config               Name = "config"
	CreateRepositories   Name = "create-repositories"
	DeploymentName       Name = "deployment-name"
	ECRTagMutability     Name = "ecr-tag-mutability"
	From                 Name = "from"
	FromBundle           Name = "from-bundle"
	HelmDriver           Name = "helm-driver"
	ImageMapPath         Name = "image-map-path"
	ImagesFile           Name = "images-file"
	InsecureRegistry     Name = "insecure-registry"
	Key                  Name = "key"
	Namespace            Name = "namespace"
	ObjectstoreComponent Name = "objectstore-component"
	Offline              Name = "offline"
	Overwrite            Name = "overwrite"
	RegistryAuthFile     Name = "registry-auth-file"
	RegistryCAFile       Name = "registry-ca-file"
	RegistryMirror       Name = "registry-mirror"
	Release              Name = "release"
	ReleaseBlock         Name = "release-block"
	SDRChart             Name = "sdr-chart"
	StorageNamespace     Name = "storage-namespace"
	Target               Name = "target"
	TrustedRoot          Name = "trusted-root"
	TUFRoot              Name = "tuf-root"
	TUFURL               Name = "tuf-url"
	Values               Name = "values"
)

var spelling atomic.Pointer[func(Name) string]

// SetSpelling makes every Name read as spell(name) from now on; nil restores
// the plain names. A command layer calls it once, before it runs anything.
func SetSpelling(spell func(Name) string) {
	if spell == nil {
		spelling.Store(nil)
		return
	}
	spelling.Store(&spell)
}

// String is how the setting reads in a message.
func (n Name) String() string {
	if spell := spelling.Load(); spell != nil {
		return (*spell)(n)
	}
	return string(n)
}

// Flags spells a setting as the command-line flag that sets it: -n and -A
// for the namespaces kubectl's own flags choose, --name for the rest.
func Flags(n Name) string {
	switch n {
	case Namespace:
		return "-n"
	case AllNamespaces:
		return "-A"
	}
	return "--" + string(n)
}
