// Package synccmd implements diff and sync, which share their inputs: where
// the SDR's settings come from, which images it needs, the image map, the
// registries and the signature gate. diff prints the plan; sync carries it
// out.
package synccmd
