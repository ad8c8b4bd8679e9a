// Package plan compares the images the SDR needs with the image map and the
// registries, and gives each image its state (ok, unmapped, missing, drift,
// unverified, error), the rule and reference the SDR would resolve it to,
// and the entry sync would add. It is what diff prints and sync carries out.
package plan
