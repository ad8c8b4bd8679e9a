package imagemap

import (
	"fmt"

	yaml "go.yaml.in/yaml/v3"
)

// Change says what an edit did.
type Change string

// Edit outcomes.
const (
	Added     Change = "added"
	Updated   Change = "updated"
	Unchanged Change = "unchanged"
	Removed   Change = "removed"
)

// Set maps source to destination. A bare repository source maps every tag
// and so needs a bare repository destination; a source with a tag or digest
// is used verbatim. An existing key is updated in place, keeping its
// comments; other copies of a duplicated key are removed (Count tells how
// many there were); a new key is appended. Keys are matched literally, as
// the SDR matches them.
func (m *ImageMap) Set(source, destination string) (Change, error) {
	src, err := ParseReference(source)
	if err != nil {
		return "", fmt.Errorf("source: %w", err)
	}
	dst, err := ParseReference(destination)
	if err != nil {
		return "", fmt.Errorf("destination: %w", err)
	}
	if dst.isRegistryHost() {
		return "", fmt.Errorf("destination %q is a registry host, not a repository in it (the SDR would pull an image of that name from Docker Hub): write the repository path too, e.g. %q",
			destination, dst.hostExample(src, true))
	}
	if src.IsBare() && !dst.IsBare() {
		return "", fmt.Errorf("source %q is a bare repository, so its destination must be one too (the SDR appends the source tag): drop %q from %q or give the source a tag",
			source, dst.Suffix(), destination)
	}
	if !src.IsBare() && dst.IsBare() {
		return "", fmt.Errorf("source %q has a tag or digest, so its destination is used verbatim and needs one too (the SDR would pull %q): write it, e.g. %q",
			source, destination+":latest", destination+src.Suffix())
	}
	m.ensureImages()
	m.idx = nil
	for i := len(m.images.Content) - 2; i >= 0; i -= 2 {
		k, v := m.images.Content[i], m.images.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value != source {
			continue
		}
		// The last copy of a duplicated key is the one the SDR uses: keep
		// it, drop the others, so that set repairs such a map.
		dups := m.removeCopies(source, i)
		if v.Kind == yaml.ScalarNode && v.Value == destination && v.Tag == "!!str" {
			if dups > 0 {
				return Updated, nil
			}
			return Unchanged, nil
		}
		*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: destination, Style: yaml.DoubleQuotedStyle,
			HeadComment: v.HeadComment, LineComment: v.LineComment, FootComment: v.FootComment}
		return Updated, nil
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: source, Style: yaml.DoubleQuotedStyle}
	if len(m.images.Content) == 0 {
		// The comment under an empty images: block stays right under it.
		key.HeadComment, m.inner = m.inner, ""
	}
	if n := len(m.images.Content); n >= 2 {
		// A comment closing the images block stays at its end.
		k, v := m.images.Content[n-2], m.images.Content[n-1]
		key.FootComment = footOf(k, v)
		k.FootComment, v.FootComment = "", ""
	}
	m.images.Content = append(m.images.Content, key,
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: destination, Style: yaml.DoubleQuotedStyle})
	return Added, nil
}

// Remove deletes every entry whose key is exactly source. Comments above a
// removed entry go with it, except the comment right under "images:", which
// belongs to the block and stays there; a comment under a removed entry
// moves to the entry before, or stays in the block when none is left.
func (m *ImageMap) Remove(source string) error {
	if m.removeCopies(source, -1) == 0 {
		return fmt.Errorf("%w for %q", ErrNotFound, source)
	}
	return nil
}

// Count is the number of entries whose key is exactly source: more than
// one in a map with duplicate keys.
func (m *ImageMap) Count(source string) int {
	if m.images == nil {
		return 0
	}
	n := 0
	for i := 0; i+1 < len(m.images.Content); i += 2 {
		if k := m.images.Content[i]; k.Kind == yaml.ScalarNode && k.Value == source {
			n++
		}
	}
	return n
}

// removeCopies deletes the entries whose key is exactly source, except the
// one at index keep of m.images.Content (-1 keeps none), and returns how
// many it deleted.
func (m *ImageMap) removeCopies(source string, keep int) int {
	if m.images == nil {
		return 0
	}
	m.idx = nil
	removed := 0
	carry := "" // comments that stay where they are: above the next kept entry
	kept := m.images.Content[:0]
	for i := 0; i+1 < len(m.images.Content); i += 2 {
		k, v := m.images.Content[i], m.images.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == source && i != keep {
			removed++
			if i == 0 {
				carry = joinComments(carry, k.HeadComment)
			}
			if foot := footOf(k, v); foot != "" {
				if len(kept) > 0 {
					prev := kept[len(kept)-1]
					prev.FootComment = joinComments(prev.FootComment, foot)
				} else {
					carry = joinComments(carry, foot)
				}
			}
			continue
		}
		if carry != "" {
			k.HeadComment, carry = joinComments(carry, k.HeadComment), ""
		}
		kept = append(kept, k, v)
	}
	m.images.Content = kept
	if len(kept) == 0 {
		m.inner = joinComments(m.inner, carry)
	}
	return removed
}

func footOf(k, v *yaml.Node) string {
	return joinComments(k.FootComment, v.FootComment)
}

func joinComments(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

// SetRelease writes the release block, or removes it when r is nil or empty.
// Fields are updated in place so comments on them survive.
func (m *ImageMap) SetRelease(r *Release) {
	if r == nil || (r.Name == "" && r.StorageNamespace == "") {
		m.removeTopLevel(releaseKey)
		m.release = nil
		return
	}
	if m.release == nil {
		m.release = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		m.removeTopLevel(releaseKey) // a "release:" with a null value
		m.root.Content = append(m.root.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: releaseKey}, m.release)
	}
	setField(m.release, "name", r.Name)
	setField(m.release, "storage_namespace", r.StorageNamespace)
}

func setField(mapping *yaml.Node, key, value string) {
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if mapping.Content[i].Value != key {
			continue
		}
		if value == "" {
			mapping.Content = append(mapping.Content[:i], mapping.Content[i+2:]...)
			return
		}
		v := mapping.Content[i+1]
		*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value,
			HeadComment: v.HeadComment, LineComment: v.LineComment, FootComment: v.FootComment}
		return
	}
	if value != "" {
		mapping.Content = append(mapping.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
	}
}

func (m *ImageMap) removeTopLevel(key string) {
	kept := m.root.Content[:0]
	for i := 0; i+1 < len(m.root.Content); i += 2 {
		if m.root.Content[i].Value == key {
			continue
		}
		kept = append(kept, m.root.Content[i], m.root.Content[i+1])
	}
	m.root.Content = kept
}

// ensureImages creates the images mapping, first in the document, when the
// map has none.
func (m *ImageMap) ensureImages() {
	if m.images != nil {
		return
	}
	m.images = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	m.removeTopLevel(imagesKey)
	m.root.Content = append([]*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: imagesKey}, m.images}, m.root.Content...)
}
