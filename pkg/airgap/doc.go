// Package airgap is the inside of an air gap: a bundle, checked against
// its SHA256SUMS, served to the copy engine in place of the source
// registries; its trusted root, taken when its TUF metadata chains to an
// anchor; and its images' signatures verified again from its own
// artefacts (docs/bundle.md). It knows nothing of clusters, maps or plans:
// verify --bundle uses it alone, sync --from-bundle through pkg/syncer.
package airgap
