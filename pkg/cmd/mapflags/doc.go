// Package mapflags holds the flags that locate the image map — a local
// file, or a key in a bucket given by URL or by the SDR's Dapr objectstore
// component — and opens it. Reading the SDR's own map location from its
// cluster is pkg/cmd/factory's (MapLocation, OpenSettingsMap).
package mapflags
