// Package version implements the version command and holds the version
// stamped in at build time.
package version
