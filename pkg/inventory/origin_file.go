package inventory

import (
	"bytes"
	"context"
	"fmt"
	"io"
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

// maxImagesFileBytes bounds an images file.
const maxImagesFileBytes = 16 << 20

// Needs reads in.ImagesFile, or in.Stdin for "-": one reference per line,
// or the JSON list `images -o json` prints (an inventory taken elsewhere,
// each image with its reasons). A reference listed again is skipped as a
// duplicate of its first line.
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
	data, err := io.ReadAll(io.LimitReader(r, maxImagesFileBytes+1))
	if err != nil {
		return Found{}, fmt.Errorf("reading %s: %w", setting.ImagesFile, err)
	}
	if len(data) > maxImagesFileBytes {
		return Found{}, fmt.Errorf("images file %q: larger than %d bytes", in.ImagesFile, maxImagesFileBytes)
	}
	if IsInventoryJSON(data) {
		items, err := ReadInventoryJSON(data, in.ImagesFile)
		if err != nil {
			return Found{}, err
		}
		inv := New()
		for _, it := range items {
			for _, why := range it.Why {
				inv.Add(it.Image, why)
			}
		}
		return Found{Items: inv.Items()}, nil
	}
	images, err := ReadImagesFile(bytes.NewReader(data), in.ImagesFile)
	if err != nil {
		return Found{}, err
	}
	images, skipped := Duplicates(images, in.ImagesFile)
	inv := New()
	inv.AddFileImages(in.ImagesFile, images)
	return Found{Items: inv.Items(), Skipped: skipped}, nil
}
