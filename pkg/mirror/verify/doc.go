// Package verify is the signature gate: it checks the cosign signature of a
// source image, by digest, before the image may be copied or mapped. It
// understands the classic cosign layout (a "sha256-<digest>.sig" tag whose
// layers carry the signature, certificate and Rekor bundle as annotations)
// and Sigstore bundles stored as OCI referrers, and verifies keyless
// signatures (certificate identity and OIDC issuer against a trusted root)
// or signatures made with a public key.
package verify
