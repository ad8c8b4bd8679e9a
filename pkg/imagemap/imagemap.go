package imagemap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// Top-level keys the SDR reads. Other top-level keys are kept untouched.
const (
	imagesKey  = "images"
	releaseKey = "release"
)

// Release is the optional release block, written only for SDR releases whose
// Helm release name or storage namespace is not the default (Flux and other
// external managers).
type Release struct {
	Name             string `json:"name,omitempty" yaml:"name,omitempty"`
	StorageNamespace string `json:"storageNamespace,omitempty" yaml:"storage_namespace,omitempty"`
}

// ReleaseFields are the fields the SDR accepts in the release block.
var ReleaseFields = []string{"name", "storage_namespace"}

// Rule says which part of the map decided a resolution.
type Rule string

// The rules, in the order the SDR tries them.
const (
	RuleExact  Rule = "exact"  // a repo:tag key, value used verbatim
	RuleRepo   Rule = "repo"   // a bare repo key, source tag/digest appended
	RulePrefix Rule = "prefix" // no map configured: the registry prefix rewrite
	RuleNone   Rule = "none"   // nothing matched: the source is pulled as is
)

// Entry is one images: line of the map.
type Entry struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Line        int    `json:"line,omitempty"`
}

// Rule is the rule this entry applies by: exact for keys with a tag or
// digest, repo for bare repositories.
func (e Entry) Rule() Rule {
	if ref, err := ParseReference(e.Source); err == nil && ref.IsBare() {
		return RuleRepo
	}
	return RuleExact
}

// ParseError is a problem at a line of the map text.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// ErrNotFound is returned by Remove for a source with no entry.
var ErrNotFound = errors.New("no entry")

// ImageMap is a parsed image map. It keeps the YAML document so that edits
// preserve comments, key order and keys the tool does not know.
type ImageMap struct {
	doc     *yaml.Node // the document node
	root    *yaml.Node // its top-level mapping
	images  *yaml.Node // the images mapping, nil until needed
	release *yaml.Node // the release mapping, nil when absent
	idx     *index     // lookups, built on first use, dropped on edit
	// inner holds the comment lines indented under an images: block that
	// has no entries. The YAML library attaches such lines to whatever
	// follows the block, which would move them out of it on every write;
	// they are kept here and written back under the block.
	inner string
}

// index makes lookups constant-time on large maps.
type index struct {
	value  map[string]string  // key -> destination; the last duplicate wins
	canon  map[string]string  // normalised key -> the key as written (first one)
	byRepo map[string][]Entry // repository of a key -> its entries
}

func (m *ImageMap) index() *index {
	if m.idx != nil {
		return m.idx
	}
	ix := &index{value: map[string]string{}, canon: map[string]string{}, byRepo: map[string][]Entry{}}
	if m.images != nil {
		for i := 0; i+1 < len(m.images.Content); i += 2 {
			k, v := m.images.Content[i], m.images.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				continue
			}
			ix.value[k.Value] = v.Value
			ref, err := ParseReference(k.Value)
			if err != nil {
				continue
			}
			if c := ref.Canonical(); ix.canon[c] == "" {
				ix.canon[c] = k.Value
			}
			ix.byRepo[ref.Repository] = append(ix.byRepo[ref.Repository], Entry{Source: k.Value, Destination: v.Value, Line: k.Line})
		}
	}
	m.idx = ix
	return ix
}

// New returns an empty map.
func New() *ImageMap {
	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	return &ImageMap{doc: &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}, root: root}
}

// MaxSize bounds an image map: thousands of entries fit in a fraction of
// it, and a larger object is a mistake or an attack, not a map.
const MaxSize = 8 << 20

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// Parse reads a map. Empty input is an empty map. Errors are *ParseError and
// name the line. Structural checks happen here; entry-level problems are
// reported by Validate so that a map with a bad entry can still be repaired.
func Parse(data []byte) (*ImageMap, error) {
	if len(data) > MaxSize {
		return nil, &ParseError{Msg: fmt.Sprintf("%d bytes is over the %d MiB an image map may have", len(data), MaxSize>>20)}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) || len(bytes.TrimSpace(data)) == 0 {
			return New(), nil
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &ParseError{Line: extra.Line, Msg: "more than one YAML document; an image map is a single document"}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(err)
	}
	if len(doc.Content) == 0 {
		return New(), nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		m := New()
		m.doc.HeadComment, m.doc.FootComment = doc.HeadComment, doc.FootComment
		m.root.HeadComment, m.root.LineComment, m.root.FootComment = root.HeadComment, root.LineComment, root.FootComment
		return m, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &ParseError{Line: root.Line, Msg: fmt.Sprintf("the map must be a YAML mapping with an %q key, found %s", imagesKey, kindName(root))}
	}
	m := &ImageMap{doc: &doc, root: root}
	var imagesAt int // the index of the images key in root.Content
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case imagesKey:
			if m.images != nil {
				continue // duplicate top-level key: Validate reports it
			}
			imagesAt = i
			switch {
			case v.Kind == yaml.MappingNode:
				m.images = v
			case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
				// "images:" with nothing under it: make it an empty mapping in place.
				*v = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: v.Line, Column: v.Column,
					HeadComment: v.HeadComment, LineComment: v.LineComment, FootComment: v.FootComment}
				m.images = v
			default:
				return nil, &ParseError{Line: v.Line, Msg: fmt.Sprintf("%q must be a mapping of source image to mirrored image, found %s", imagesKey, kindName(v))}
			}
		case releaseKey:
			if m.release != nil {
				continue
			}
			switch {
			case v.Kind == yaml.MappingNode:
				m.release = v
			case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
			default:
				return nil, &ParseError{Line: v.Line, Msg: fmt.Sprintf("%q must be a mapping with name and storage_namespace, found %s", releaseKey, kindName(v))}
			}
		}
	}
	if m.images != nil && len(m.images.Content) == 0 {
		m.takeInnerComment(data, imagesAt)
	}
	return m, nil
}

func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		err = errors.New(te.Errors[0])
	}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ParseError{Line: line, Msg: m[2]}
	}
	return &ParseError{Msg: err.Error()}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!str" {
			return fmt.Sprintf("the string %q", n.Value)
		}
		return fmt.Sprintf("the value %s", n.Value)
	}
	return "nothing"
}

// Entries lists the images: entries in file order.
func (m *ImageMap) Entries() []Entry {
	if m.images == nil {
		return nil
	}
	out := make([]Entry, 0, len(m.images.Content)/2)
	for i := 0; i+1 < len(m.images.Content); i += 2 {
		k, v := m.images.Content[i], m.images.Content[i+1]
		out = append(out, Entry{Source: k.Value, Destination: v.Value, Line: k.Line})
	}
	return out
}

// Len is the number of entries.
func (m *ImageMap) Len() int {
	if m.images == nil {
		return 0
	}
	return len(m.images.Content) / 2
}

// Lookup returns the destination of the entry whose key is exactly source.
// When a key appears twice, the last one wins, as it does for the SDR's YAML
// reader.
func (m *ImageMap) Lookup(source string) (string, bool) {
	v, ok := m.index().value[source]
	return v, ok
}

// EntriesFor lists the entries whose key names repository, bare or with a
// tag or digest, in file order.
func (m *ImageMap) EntriesFor(repository string) []Entry {
	return m.index().byRepo[repository]
}

// Release returns the release block, or nil when the map has none.
func (m *ImageMap) Release() *Release {
	if m.release == nil {
		return nil
	}
	var r Release
	for i := 0; i+1 < len(m.release.Content); i += 2 {
		switch m.release.Content[i].Value {
		case "name":
			r.Name = m.release.Content[i+1].Value
		case "storage_namespace":
			r.StorageNamespace = m.release.Content[i+1].Value
		}
	}
	return &r
}

// Bytes renders the map: two-space indentation, image keys and values
// double-quoted, comments and unknown keys where they were. The output is a
// function of the document alone.
func (m *ImageMap) Bytes() ([]byte, error) {
	if m.images != nil {
		// "images: {}" parses as a flow mapping; entries added to it are
		// still written one per line.
		m.images.Style &^= yaml.FlowStyle
		for _, n := range m.images.Content {
			if n.Kind == yaml.ScalarNode {
				n.Style = yaml.DoubleQuotedStyle
				n.Tag = "!!str"
			}
		}
	}
	for i := 0; i+1 < len(m.root.Content); i += 2 {
		k, v := m.root.Content[i], m.root.Content[i+1]
		if (v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode) && len(v.Content) == 0 {
			// The emitter cannot put a comment after "key: {}" or "key: []":
			// keep it above the key instead.
			if c := joinComments(k.LineComment, v.LineComment); c != "" {
				k.HeadComment = joinComments(k.HeadComment, c)
				k.LineComment, v.LineComment = "", ""
			}
		}
	}
	if len(m.root.Content) == 0 && m.root.HeadComment == "" && m.doc.HeadComment == "" {
		// An empty map is written with an explicit, empty images block.
		m.ensureImages()
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m.doc); err != nil {
		return nil, fmt.Errorf("rendering image map: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("rendering image map: %w", err)
	}
	if m.inner != "" && m.images != nil && len(m.images.Content) == 0 {
		return putInnerComment(buf.Bytes(), m.inner), nil
	}
	return buf.Bytes(), nil
}
