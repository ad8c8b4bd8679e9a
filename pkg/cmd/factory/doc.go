// Package factory carries what the commands that reach a cluster or a
// bucket need: pkg/cmd/core's factory (streams, global flags, output
// helpers), the kubeconfig flags, and the openers of the cluster and the
// image map as functions tests replace.
package factory
