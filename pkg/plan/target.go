package plan

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// TargetForm is the shape of a registry prefix, for messages.
const TargetForm = "HOST[:PORT]/PATH in lower case, e.g. registry.example.com/atlan"

// targetPattern is a registry prefix: a host (a name with a dot,
// localhost, or an address in brackets), an optional port, and one or
// more path components as the distribution reference grammar spells them.
var targetPattern = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$`)

// CheckTarget checks a registry prefix new entries point into: HOST[:PORT]
// followed by a path, in lower case, with no scheme, tag or digest. A
// trailing slash is allowed. The error names setting.Target, the value,
// what is wrong and the expected form.
func CheckTarget(prefix string) error {
	p := strings.TrimSuffix(prefix, "/")
	why := ""
	host, _, hasPath := strings.Cut(p, "/")
	switch {
	case strings.Contains(p, "://"):
		why = "a registry prefix has no scheme"
	case strings.Contains(p, "@"):
		why = "a registry prefix has no digest"
	case strings.ToLower(p) != p:
		why = "it must be lower case"
	case strings.Contains(p[strings.LastIndex(p, "/")+1:], ":") && hasPath:
		why = "a registry prefix has no tag"
	case !hasPath:
		why = "it needs a path after the registry host"
	case !strings.ContainsAny(host, ".:[") && host != "localhost":
		why = fmt.Sprintf("%q is not a registry host", host)
	case !targetPattern.MatchString(p):
		why = "it is not a registry prefix"
	default:
		return nil
	}
	return fmt.Errorf("%s %q: %s; want %s", setting.Target, prefix, why, TargetForm)
}

// Inference is what InferTarget found in a map.
type Inference struct {
	// Prefix is the target every entry follows; empty when none.
	Prefix string
	// Entries is the number of entries in the map.
	Entries int
	// Other is an entry that does not follow the others' naming.
	Other *imagemap.Entry
}

// From says where an inferred target came from.
func (in Inference) From() string {
	entries := "entries"
	if in.Entries == 1 {
		entries = "entry"
	}
	return fmt.Sprintf("inferred from the image map's %d %s", in.Entries, entries)
}

// Reason says why no target could be inferred.
func (in Inference) Reason() string {
	if in.Entries == 0 {
		return "the image map has no entries whose naming could serve as the target"
	}
	if in.Other != nil {
		return fmt.Sprintf("the image map's entries do not all follow one <prefix>/<image name> naming (%q -> %q does not)", in.Other.Source, in.Other.Destination)
	}
	return "the image map's entries do not all follow one <prefix>/<image name> naming"
}

// InferTarget finds the target the map's entries follow: when every entry
// sends a source to <prefix>/<last element of the source repository>, the
// same valid prefix for all, that prefix.
func InferTarget(m *imagemap.ImageMap) (Inference, bool) {
	entries := m.Entries()
	in := Inference{Entries: len(entries)}
	prefix := ""
	for _, e := range entries {
		p, ok := entryPrefix(e)
		if !ok || (prefix != "" && p != prefix) {
			in.Other = &e
			return in, false
		}
		prefix = p
	}
	if prefix == "" || CheckTarget(prefix) != nil {
		return in, false
	}
	in.Prefix = prefix
	return in, true
}

// entryPrefix is the prefix an entry's destination puts before the
// source's image name.
func entryPrefix(e imagemap.Entry) (string, bool) {
	src, err := imagemap.ParseReference(e.Source)
	if err != nil {
		return "", false
	}
	dst, err := imagemap.ParseReference(e.Destination)
	if err != nil {
		return "", false
	}
	return strings.CutSuffix(dst.Repository, "/"+src.LastElement())
}
