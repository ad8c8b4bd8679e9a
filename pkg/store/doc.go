// Package store reads and writes the image map where the SDR keeps it: a
// local file or an object in a gocloud.dev/blob bucket. Writes never leave a
// partial object behind.
package store
