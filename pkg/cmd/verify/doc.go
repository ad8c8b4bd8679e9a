// Package verifycmd implements the verify command: check the cosign signature
// of images the way the signature gate of sync does, without copying.
package verifycmd
