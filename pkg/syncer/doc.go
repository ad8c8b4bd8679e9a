// Package syncer is one diff or sync run of the SDR's image map: it gathers
// the needed images from their origins, keeps those that may be mirrored,
// plans them against the map and the registries, and carries the plan out
// through the signature gate. The diff and sync commands complete their
// flags into a Config and render what Plan and Apply return.
package syncer
