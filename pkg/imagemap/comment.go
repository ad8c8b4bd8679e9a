package imagemap

import (
	"regexp"
	"strings"
)

// takeInnerComment finds the comment lines indented under the images key at
// root.Content[at], whose block has no entries, and takes them out of the
// node the YAML library attached them to (the next top-level key, or the
// end of the document) so that rendering can put them back under the
// block. When the lines cannot be found where the library puts them, the
// document is left as parsed.
func (m *ImageMap) takeInnerComment(data []byte, at int) {
	text := indentedCommentAfter(data, m.root.Content[at].Line)
	if text == "" {
		return
	}
	candidates := []*string{&m.root.Content[at].FootComment, &m.root.Content[at+1].FootComment}
	if at+2 < len(m.root.Content) {
		candidates = append(candidates, &m.root.Content[at+2].HeadComment)
	}
	candidates = append(candidates, &m.root.FootComment, &m.doc.FootComment)
	// The library splits the lines at blank lines over several of these
	// nodes, in document order: take them from each in turn, on copies,
	// and keep the result only when every line was found.
	stripped := make([]string, len(candidates))
	rest := text
	for i, c := range candidates {
		stripped[i] = *c
		rest = stripLeadingComment(&stripped[i], rest)
	}
	if rest != "" {
		return
	}
	for i, c := range candidates {
		*c = stripped[i]
	}
	m.inner = text
}

// indentedCommentAfter returns the comment lines, indented, that directly
// follow line (1-based) of data, as the YAML library spells comments:
// without indentation, blank lines between them kept, none at either end.
func indentedCommentAfter(data []byte, line int) string {
	lines := strings.Split(string(data), "\n")
	var out []string
	for i := line; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], " \t\r")
		t := strings.TrimLeft(l, " \t")
		if t == "" {
			out = append(out, "")
			continue
		}
		if !strings.HasPrefix(t, "#") || t == l {
			break
		}
		out = append(out, t)
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	for len(out) > 0 && out[0] == "" {
		out = out[1:]
	}
	return strings.Join(out, "\n")
}

// stripLeadingComment removes from the start of the comment *c the longest
// run of text's paragraphs (separated by blank lines) that *c starts with,
// with the blank lines after it, and returns the rest of text.
func stripLeadingComment(c *string, text string) string {
	for cut := len(text); cut > 0; cut = strings.LastIndex(text[:cut], "\n\n") {
		head := text[:cut]
		if *c == head || strings.HasPrefix(*c, head+"\n") {
			*c = strings.TrimLeft(strings.TrimPrefix(*c, head), "\n")
			return strings.TrimLeft(text[cut:], "\n")
		}
	}
	return text
}

// emptyImagesLineRE matches the rendered line of an images block without
// entries; only a top-level key starts at column 0.
var emptyImagesLineRE = regexp.MustCompile(`^(?:images|"images"|'images'): \{\}$`)

// putInnerComment writes the inner comment lines back under the rendered
// line of the empty images block, indented as block content.
func putInnerComment(out []byte, inner string) []byte {
	lines := strings.SplitAfter(string(out), "\n")
	for i, l := range lines {
		if !emptyImagesLineRE.MatchString(strings.TrimSuffix(l, "\n")) {
			continue
		}
		var b strings.Builder
		for _, c := range strings.Split(inner, "\n") {
			if c != "" {
				b.WriteString("  " + c)
			}
			b.WriteString("\n")
		}
		rest := append([]string{b.String()}, lines[i+1:]...)
		return []byte(strings.Join(append(lines[:i+1:i+1], rest...), ""))
	}
	return out
}
