package core

import (
	"fmt"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// RenderProgress shows a copy event: bytes advance the bar, and each
// finished image is one line saying what happened to it.
func RenderProgress(p *ui.Progress, e mirror.Event) {
	switch e.Kind {
	case mirror.ImageStarted:
		p.AddTotal(e.Total)
	case mirror.BlobBytes:
		p.Advance(e.Bytes)
	case mirror.ImageCopied:
		p.Done(ui.ProgressOK, fmt.Sprintf("copied  %s -> %s (%s)", e.Source, e.Destination, shortDigest(e.Digest)))
	case mirror.ImageSkipped:
		p.Done(ui.ProgressSkipped, fmt.Sprintf("present %s -> %s (%s)", e.Source, e.Destination, shortDigest(e.Digest)))
	case mirror.ImageFailed:
		p.Done(ui.ProgressFailed, "failed  "+e.Err.Error())
	case mirror.Warning:
	}
}

// shortDigest keeps a digest's algorithm and first twelve hex digits.
func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}
