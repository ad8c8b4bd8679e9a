// Package bundle writes and reads an air-gap bundle (docs/bundle.md): an
// OCI image layout holding every image the SDR needs, all platforms, with
// its cosign signatures, attestations, SBOMs and Sigstore-bundle
// referrers, plus an sdr-mirror/ folder saying what was exported, why, who
// signed it and with which trusted root. SHA256SUMS, written last, covers
// every file; a reader refuses a bundle whose files do not match it, and
// serves the images it holds to the copy engine and the signature gate as
// a read-only registry on the loopback interface, read in place.
package bundle
