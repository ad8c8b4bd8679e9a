// Package copycmd is the copy command: mirror images from registry to
// registry with the copy engine, ad hoc.
package copycmd
