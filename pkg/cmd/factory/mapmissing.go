package factory

import (
	"errors"
	"fmt"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// MissingMap turns err, when it says the image map at url does not exist,
// into one line naming the flags that located it, so that every command
// reading a map fails on a missing one the same way; other errors are
// returned as they are.
func (m *MapFlags) MissingMap(err error, url string) error {
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	switch {
	case m.File != "":
		return fmt.Errorf("--map %q: the image map file does not exist; check the path", m.File)
	case m.Component != "":
		return fmt.Errorf("image map %q does not exist: check --objectstore-component and --image-map-path", url)
	case m.Bucket != "" && m.Key != "":
		return fmt.Errorf("image map %q does not exist: check --bucket and --image-map-path", url)
	case m.Bucket != "":
		return fmt.Errorf("image map %q does not exist: check --bucket", url)
	case m.Key != "":
		return fmt.Errorf("image map %q does not exist: check --image-map-path", url)
	}
	return fmt.Errorf("the SDR's image map %q does not exist yet (sync writes it): pass --map, or --bucket with --image-map-path, to read another", url)
}
