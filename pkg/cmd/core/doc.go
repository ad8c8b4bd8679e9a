// Package core is what every command needs that involves neither a
// cluster nor a bucket: the streams, the name the tool was invoked by, the
// root command's flags, the environment, and the output helpers. Commands
// that reach a cluster take pkg/cmd/factory's Factory, which embeds this
// one; the others (version, copy, verify, and resolve, which opens a map
// through pkg/cmd/mapflags) take this one, so their tests link neither
// client-go nor Helm.
package core
