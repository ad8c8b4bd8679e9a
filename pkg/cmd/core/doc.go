// Package core is what every command needs that involves neither a
// cluster nor a bucket: the streams, the name the tool was invoked by, the
// root command's flags, the environment, and the output helpers. Commands
// that reach a cluster or a bucket take pkg/cmd/factory's Factory, which
// embeds this one; commands that do not (version, copy) take this one, and
// their tests link neither client-go nor the storage SDKs.
package core
