package cli

import (
	"strings"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// remedies say which flag fixes a domain error. The domain packages name
// the cause and know nothing of flags; the remedy follows the cause's own
// text wherever it appears in the printed message.
var remedies = []struct {
	is   func(err error) bool
	text string
}{
	{func(err error) bool { _, ok := err.(*mirror.ConflictError); return ok }, ": give one --registry-mirror per source host"}, //nolint:errorlint // the cause itself: walk visits what wraps it
	{func(err error) bool { return err == store.ErrNoObjectKey }, "; pass --image-map-path"},                                   //nolint:errorlint // the cause itself, not what wraps it
	{func(err error) bool { _, ok := err.(*sdr.ChartPatternError); return ok }, "; fix --sdr-chart"},                           //nolint:errorlint // as above
}

// withRemedies returns msg, err's message, with the remedy of every cause
// found in err's tree written after that cause's text.
func withRemedies(msg string, err error) string {
	done := map[string]bool{}
	walk(err, func(e error) {
		for _, r := range remedies {
			if cause := e.Error(); r.is(e) && !done[cause] {
				done[cause] = true
				msg = strings.ReplaceAll(msg, cause, cause+r.text)
			}
		}
	})
	return msg
}

// walk calls fn on err and every error it wraps, joined ones included.
func walk(err error, fn func(error)) {
	if err == nil {
		return
	}
	fn(err)
	switch u := err.(type) { //nolint:errorlint // walking the tree by hand
	case interface{ Unwrap() error }:
		walk(u.Unwrap(), fn)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walk(e, fn)
		}
	}
}
