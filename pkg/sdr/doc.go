// Package sdr finds an installed Atlan SDR and the settings it runs with: its
// Helm release (plain Helm or a Flux HelmRelease, records read through the
// secret or configmap storage driver), the release's merged values, the Dapr
// objectstore component, the image map key and registry prefix, and, for a
// Docker/Podman SDR, its config.yaml. Every setting can be overridden, and a
// setting that cannot be found is an error naming where it was looked for and
// the flag that supplies it. Where each setting is looked for: docs/settings.md.
package sdr
