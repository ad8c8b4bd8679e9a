// Package inventory lists the images an SDR needs, each with the reasons it
// is needed: from the rendered manifests and hooks of its Helm releases
// (containers, initContainers and ephemeralContainers of any pod template,
// and any containers list in a custom resource). A deployed image that is
// already an image-map destination is traced back to its source.
package inventory
