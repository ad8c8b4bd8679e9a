package imagemap

import (
	"fmt"
	"slices"

	yaml "go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with a map, at a line.
type Problem struct {
	Line int    `json:"line"`
	Key  string `json:"key,omitempty"`
	Msg  string `json:"message"`
}

func (p Problem) Error() string {
	return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
}

// Validate lists every problem that would make the SDR pull the wrong image
// or reject the map: duplicate keys, empty or unparsable references,
// non-string values, aliases, a bare-repository key whose value has a tag or
// digest, a key with a tag or digest whose value has neither (the SDR would
// pull ":latest"), a value that is a registry host with no repository, and a
// release block with fields the SDR does not know. No problems means the map
// is safe to write.
func (m *ImageMap) Validate() []Problem {
	var ps []Problem
	add := func(n *yaml.Node, key, format string, args ...any) {
		ps = append(ps, Problem{Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	seenTop := map[string]int{}
	for i := 0; i+1 < len(m.root.Content); i += 2 {
		k := m.root.Content[i]
		if first, dup := seenTop[k.Value]; dup {
			add(k, k.Value, "top-level key %q is defined again (first at line %d)", k.Value, first)
			continue
		}
		seenTop[k.Value] = k.Line
	}
	// The SDR's YAML reader expands anchors and aliases; a few lines of them
	// can grow into gigabytes (billion laughs). A map has no use for them.
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == m.images {
			return // validateImages reports aliases there, per entry
		}
		if n.Kind == yaml.AliasNode {
			add(n, "", "anchors and aliases are not allowed in an image map (alias %q); write the values out", n.Value)
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(m.root)
	if m.images != nil {
		ps = append(ps, validateImages(m.images)...)
	}
	if m.release != nil {
		seen := map[string]int{}
		for i := 0; i+1 < len(m.release.Content); i += 2 {
			k, v := m.release.Content[i], m.release.Content[i+1]
			switch {
			case !slices.Contains(ReleaseFields, k.Value):
				add(k, k.Value, "release: unknown field %q (the SDR accepts only name and storage_namespace)", k.Value)
			case seen[k.Value] > 0:
				add(k, k.Value, "release: field %q is defined again (first at line %d)", k.Value, seen[k.Value])
			case v.Kind != yaml.ScalarNode || v.Tag != "!!str" || v.Value == "":
				add(v, k.Value, "release: %s must be a non-empty string, found %s", k.Value, kindName(v))
			}
			seen[k.Value] = k.Line
		}
	}
	slices.SortStableFunc(ps, func(a, b Problem) int { return a.Line - b.Line })
	return ps
}

func validateImages(images *yaml.Node) []Problem {
	var ps []Problem
	add := func(n *yaml.Node, key, format string, args ...any) {
		ps = append(ps, Problem{Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(images.Content); i += 2 {
		k, v := images.Content[i], images.Content[i+1]
		if k.Kind != yaml.ScalarNode || (k.Tag != "!!str" && k.Tag != "!!merge") {
			add(k, "", "images: key must be an image reference string, found %s", kindName(k))
			continue
		}
		if k.Tag == "!!merge" {
			add(k, k.Value, "images: merge keys (<<) are not allowed; write each entry out")
			continue
		}
		key := k.Value
		if first, dup := seen[key]; dup {
			add(k, key, "images: key %q is defined again (first at line %d); the SDR would use only the last one: keep one with 'map set', or remove every copy with 'map rm'", key, first)
		}
		seen[key] = k.Line
		src, srcErr := ParseReference(key)
		if srcErr != nil {
			add(k, key, "images: key: %v", srcErr)
		}
		if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
			add(v, key, "images: value of %q must be an image reference string, found %s", key, kindName(v))
			continue
		}
		dst, dstErr := ParseReference(v.Value)
		if dstErr != nil {
			add(v, key, "images: value of %q: %v", key, dstErr)
			continue
		}
		if dst.isRegistryHost() {
			add(v, key, "images: value of %q, %q, is a registry host, not a repository in it: the SDR would pull an image of that name from Docker Hub; write the repository path too, e.g. %q",
				key, v.Value, dst.hostExample(src, srcErr == nil))
			continue
		}
		if srcErr == nil && !src.IsBare() && dst.IsBare() {
			add(v, key, "images: %q has a tag or digest, so the SDR uses its value verbatim; %q has neither, so the SDR would pull %q: write the tag or digest in the value, e.g. %q",
				key, v.Value, v.Value+":latest", v.Value+src.Suffix())
		}
		if srcErr == nil && src.IsBare() && !dst.IsBare() {
			add(v, key, "images: %q is a bare repository key, so the SDR appends the source tag to its value; %q already carries %q",
				key, v.Value, dst.Suffix())
		}
	}
	return ps
}

// Audit lists what map validate reports: every problem of Validate, and
// keys that name the same image under two spellings ("atlanhq/x" and
// "docker.io/atlanhq/x"). The SDR matches keys literally, so one of the
// two is almost always dead; writes still accept both, as set does when
// asked for the second spelling, because an SDR whose images use both
// needs both.
func (m *ImageMap) Audit() []Problem {
	ps := m.Validate()
	if m.images == nil {
		return ps
	}
	first := map[string]*yaml.Node{} // canonical form -> the first key spelling it
	for i := 0; i+1 < len(m.images.Content); i += 2 {
		k := m.images.Content[i]
		ref, err := ParseReference(k.Value)
		if k.Kind != yaml.ScalarNode || err != nil {
			continue
		}
		c := ref.Canonical()
		prev, seen := first[c]
		switch {
		case !seen:
			first[c] = k
		case prev.Value != k.Value:
			ps = append(ps, Problem{Line: k.Line, Key: k.Value, Msg: fmt.Sprintf(
				"images: keys %q and %q (line %d) name the same image under two spellings; the SDR matches keys literally, so only the spelling its images use ever matches: remove the other one (keep both only if the SDR's images use both spellings)",
				k.Value, prev.Value, prev.Line)})
		}
	}
	slices.SortStableFunc(ps, func(a, b Problem) int { return a.Line - b.Line })
	return ps
}
