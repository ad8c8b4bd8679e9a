// Package registryflags holds the registry access flags shared by every
// command that talks to registries (copy, sync, diff): credentials file,
// plain-HTTP hosts, extra CA certificates and pull-side mirrors.
package registryflags
