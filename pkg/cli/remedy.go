package cli

import (
	"strings"

	"github.com/spf13/cobra"

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

// noClusterRemedy follows "no cluster is reachable": how to reach the
// SDR's cluster, and how cmd runs without one, by the flags it has.
func noClusterRemedy(cmd *cobra.Command, helm bool) string {
	point := "; point --kubeconfig or --context at the SDR's cluster"
	if helm {
		point = "; point Helm's --kubeconfig or --kube-context at the SDR's cluster"
	}
	has := func(name string) bool { return cmd != nil && cmd.Flags().Lookup(name) != nil }
	switch {
	case has("from") && has("config"):
		return point + ", or run without one: --config FILE (a Docker/Podman SDR's config.yaml) or --values FILE " +
			"(the SDR chart's values) for its settings, and --from file --images-file FILE for the images"
	case has("config") && has("map"):
		return point + ", or run without one: --config FILE (a Docker/Podman SDR's config.yaml) or --values FILE " +
			"(the SDR chart's values) for its settings, or --map FILE, or --bucket URL with --image-map-path KEY"
	case has("apply"):
		return point + ", or leave out --apply to print the manifests"
	}
	return point + " (diff and sync run without one: --config, --values, --from file)"
}
