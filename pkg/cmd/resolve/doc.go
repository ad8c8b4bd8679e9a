// Package resolve implements the resolve command: what the SDR will pull for
// each image, given the image map or the registry prefix.
package resolve
