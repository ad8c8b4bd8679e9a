// Package images is the images command: the images the installed SDR and
// its connector apps need, with why.
package images
