// Package factory carries what every command needs — streams, global flags,
// the colour decision, the logger and the openers of the image map — as
// lazy functions that tests replace.
package factory
