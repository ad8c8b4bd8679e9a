package inventory

import (
	"context"
	"io"
	"strings"
	"time"
)

// Origin is a place the needed images come from, chosen with --from. Each
// lives in a file of its own (origin_*.go) and is listed once in Origins.
type Origin interface {
	// Name is the source's --from value.
	Name() string
	// Needs returns the images the source finds, each with why it is
	// needed, and the entries it found but cannot use.
	Needs(ctx context.Context, in Input) (Found, error)
}

// Defaulted is an Origin that is read, when no --from is given, if its
// input calls for it.
type Defaulted interface {
	Origin
	// DefaultWhen says when, for help text: "when --atlan-url is set".
	DefaultWhen() string
	// Default reports whether in calls for the source.
	Default(in Input) bool
}

// Input is what the sources read; each uses its own part.
type Input struct {
	// UsesCluster says the SDR's settings come from its cluster.
	UsesCluster bool
	// Cluster is the SDR found in its cluster; nil without one.
	Cluster *Cluster
	// AtlanURL is the tenant whose latest-releases endpoint is read, with
	// Token; Timeout bounds each request.
	AtlanURL string
	Token    string
	Timeout  time.Duration
	// AllowedSources are the registry/path prefixes images may be
	// mirrored from.
	AllowedSources []string
	// ImagesFile names the images file; "-" reads Stdin.
	ImagesFile string
	Stdin      io.Reader
	// Version is this tool's, for its own image (the self source).
	Version string
	// OnSnapshot, when set, is given the latest-releases response as it
	// was read, and when, so that an export can carry it across a gap.
	OnSnapshot func(body []byte, fetched time.Time)
	// Bundle is the needed set of an imported bundle; nil without one.
	Bundle *BundleNeeds
}

// Found is what a source returns.
type Found struct {
	Items []Item
	// Skipped are entries the source reported and left out.
	Skipped []Skipped
}

// Origins is every needed-image source, in the order --from lists them
// and defaults are applied.
var Origins = []Origin{
	HelmOrigin{},
	ReleasesOrigin{},
	FileOrigin{},
	BundleOrigin{},
	SelfOrigin{},
}

// Names are the --from values of Origins.
func Names() []string {
	out := make([]string, len(Origins))
	for i, s := range Origins {
		out[i] = s.Name()
	}
	return out
}

// Lookup returns the source named name.
func Lookup(name string) (Origin, bool) {
	for _, s := range Origins {
		if s.Name() == name {
			return s, true
		}
	}
	return nil, false
}

// Defaults are the names of the sources in calls for, in list order.
func Defaults(in Input) []string {
	var out []string
	for _, s := range Origins {
		if d, ok := s.(Defaulted); ok && d.Default(in) {
			out = append(out, s.Name())
		}
	}
	return out
}

// DefaultsHelp says which sources are read by default, and when:
// "helm when ..., file when ...".
func DefaultsHelp() string {
	var parts []string
	for _, s := range Origins {
		if d, ok := s.(Defaulted); ok {
			parts = append(parts, s.Name()+" "+d.DefaultWhen())
		}
	}
	return strings.Join(parts, ", ")
}
