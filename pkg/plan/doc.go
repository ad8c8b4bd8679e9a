// Package plan compares the images the SDR needs with the image map and the
// registries, and gives each image its state (ok, unmapped, missing, drift,
// unverified, error), the rule and reference the SDR would resolve it to,
// and the entry sync would add. It is what diff prints and sync carries out.
// What each state means, whether it needs work, how it is shown and how it
// sets the exit code is one table, StateRules (states.go); see docs/plan.md.
package plan
