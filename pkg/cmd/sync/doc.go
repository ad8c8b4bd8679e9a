// Package synccmd implements diff and sync. Both bind the same flags —
// where the SDR's settings come from, which images it needs, the image
// map, the registries and the signature gate — and complete them into a
// syncer.Config; diff prints the plan syncer.Plan makes, and sync carries
// it out with Run.Apply and prints what was done.
package synccmd
