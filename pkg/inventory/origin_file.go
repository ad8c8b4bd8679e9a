package inventory

import (
	"context"
	"fmt"
	"os"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// FileOrigin is an images file: one reference per line, or standard input.
type FileOrigin struct{}

// Name is "file".
func (FileOrigin) Name() string { return "file" }

// DefaultWhen is when an images file is given.
func (FileOrigin) DefaultWhen() string { return "when " + setting.ImagesFile.String() + " is set" }

// Default reports whether an images file is given.
func (FileOrigin) Default(in Input) bool { return in.ImagesFile != "" }

// Needs reads in.ImagesFile, or in.Stdin for "-". A reference listed
// again is skipped as a duplicate of its first line.
func (FileOrigin) Needs(_ context.Context, in Input) (Found, error) {
	r := in.Stdin
	if in.ImagesFile != "-" {
		f, err := os.Open(in.ImagesFile)
		if err != nil {
			return Found{}, fmt.Errorf("reading %s: %w", setting.ImagesFile, err)
		}
		defer f.Close()
		r = f
	}
	images, err := ReadImagesFile(r, in.ImagesFile)
	if err != nil {
		return Found{}, err
	}
	images, skipped := Duplicates(images, in.ImagesFile)
	inv := New()
	inv.AddFileImages(in.ImagesFile, images)
	return Found{Items: inv.Items(), Skipped: skipped}, nil
}
