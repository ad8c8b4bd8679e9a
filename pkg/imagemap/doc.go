// Package imagemap implements the SDR's image map: the YAML file in the SDR's
// object-storage bucket that tells the SDR which private-registry image to pull
// instead of each public Atlan image. It parses the map with line-accurate
// errors, resolves references exactly as the SDR does, edits the map while
// keeping comments, key order and unknown keys, validates it, and defines the
// lock file that records the provenance of each entry. The contract is
// docs/image-map.md.
package imagemap
