package imagemap

import (
	"fmt"
	"strings"
)

// Resolution is what the SDR will pull for a source image, and why.
type Resolution struct {
	Source   string `json:"source"`
	Resolved string `json:"resolved"`
	Rule     Rule   `json:"rule"`
	// Key is the map key that matched (exact and repo rules).
	Key string `json:"key,omitempty"`
}

// Resolver resolves source images the way the SDR does. With a Map, the map
// decides and the prefix rewrite is not used (the SDR gives image_map_path
// precedence over container_registry.base); without one, Prefix applies.
type Resolver struct {
	Map    *ImageMap
	Prefix string
}

// Resolve returns what the SDR pulls for source:
//  1. an entry whose key is exactly source, its value verbatim (exact);
//  2. else an entry whose key is the bare repository of source, with the
//     source's ":tag", "@digest" or ":tag@digest" appended (repo);
//  3. else, with no map and a prefix, <prefix>/<image name><suffix> (prefix);
//  4. else source unchanged (none).
func (r Resolver) Resolve(source string) (Resolution, error) {
	ref, err := ParseReference(source)
	if err != nil {
		return Resolution{}, err
	}
	res := Resolution{Source: source, Resolved: source, Rule: RuleNone}
	switch {
	case r.Map != nil:
		if dst, ok := r.Map.Lookup(source); ok {
			res.Resolved, res.Key, res.Rule = dst, source, RuleExact
			if ref.IsBare() {
				res.Rule = RuleRepo
			}
		} else if dst, ok := r.Map.Lookup(ref.Repository); ok {
			res.Resolved, res.Key, res.Rule = dst+ref.Suffix(), ref.Repository, RuleRepo
		}
	case r.Prefix != "":
		res.Resolved, res.Rule = PrefixRewrite(r.Prefix, ref), RulePrefix
	}
	if res.Rule == RuleRepo || res.Rule == RulePrefix {
		// A composed reference can still be unpullable (too long, or a map
		// value that is not a repository): say so rather than pretend.
		if _, err := ParseReference(res.Resolved); err != nil {
			return Resolution{}, fmt.Errorf("resolving %q by the %s rule gives a reference the SDR cannot pull: %w", source, res.Rule, err)
		}
	}
	return res, nil
}

// PrefixRewrite places the image under prefix, keeping its name, tag and
// digest: "atlanhq/app:1.0" under "reg.example.com/atlan" becomes
// "reg.example.com/atlan/app:1.0".
func PrefixRewrite(prefix string, ref Reference) string {
	return strings.TrimRight(prefix, "/") + "/" + ref.LastElement() + ref.Suffix()
}

// NormalizedKey finds a key that would match source only if the SDR
// normalised references (docker.io/, index.docker.io/, library/). The SDR
// matches literally, so such a key is a mistake worth a warning. It returns
// "" when source matches literally or no such key exists.
func (m *ImageMap) NormalizedKey(source string) string {
	ref, err := ParseReference(source)
	if err != nil || m == nil {
		return ""
	}
	if _, ok := m.Lookup(source); ok {
		return ""
	}
	if _, ok := m.Lookup(ref.Repository); ok {
		return ""
	}
	canon := m.index().canon
	if k := canon[ref.Canonical()]; k != "" {
		return k
	}
	// A bare repository key normalises to the repository alone.
	return canon[Reference{Repository: ref.Repository}.Canonical()]
}
