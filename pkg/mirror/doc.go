// Package mirror copies images between registries: whole multi-arch indexes
// with every digest preserved (or an opt-in platform subset), skipping what
// the destination already holds, moving each unique blob once per run and
// mounting it into the other repositories of the destination registry,
// retrying throttled and failing requests, and carrying cosign signatures,
// attestations and OCI referrers along with the image. It reports progress
// as events and prints nothing.
package mirror
