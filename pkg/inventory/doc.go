// Package inventory lists the images an SDR needs, each with the reasons it
// is needed. The images come from sources listed in Origins, one file each:
// the rendered manifests and hooks of its Helm releases (containers,
// initContainers and ephemeralContainers of any pod template, and any
// containers list in a custom resource), Atlan's latest-releases endpoint,
// and an images file. A deployed image that is already an image-map
// destination is traced back to its source.
package inventory
