// Package e2e runs the built kubectl-sdr_mirror binary the way users run it
// — through kubectl's plugin mechanism, as a Helm plugin and directly —
// against real components. Scripts live in testdata/*.txtar.
package e2e
