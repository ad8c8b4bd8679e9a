package imagemap

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(sampleMap))
	f.Add([]byte("images: {}\nrelease:\n  name: x\n"))
	f.Add([]byte("# c\nimages:\n  a: b # d\nother: [1]\n"))
	f.Add([]byte("images:\n  <<: *x\n"))
	f.Add([]byte(""))
	f.Add([]byte("# x\nimages:\n  # c\n\n  # d\nrelease:\n  name: x\n# last\n"))
	f.Add([]byte("images: {}\n  # c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		m, err := Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") && strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line parse error: %q", err)
			}
			return
		}
		_ = m.Validate()
		out, err := m.Bytes()
		if err != nil {
			return
		}
		// What the tool writes parses back to the same entries, and renders
		// to the same bytes.
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
		a, b := m.Entries(), again.Entries()
		if len(a) != len(b) {
			t.Fatalf("entries %d -> %d after round trip\n%s", len(a), len(b), out)
		}
		for i := range a {
			if a[i].Source != b[i].Source || a[i].Destination != b[i].Destination {
				t.Fatalf("entry %d %+v -> %+v after round trip", i, a[i], b[i])
			}
		}
		if a, b := m.Release(), again.Release(); (a == nil) != (b == nil) || (a != nil && *a != *b) {
			t.Fatalf("release %+v -> %+v after round trip", a, b)
		}
		// Rendering settles: the YAML emitter may move a comment on odd
		// input once (blank line before a foot comment), never again.
		out2, err := again.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		third, err := Parse(out2)
		if err != nil {
			t.Fatalf("second output does not parse: %v\n%s", err, out2)
		}
		out3, err := third.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out2, out3) {
			t.Fatalf("rendering does not settle:\n%s\n---\n%s", out2, out3)
		}
	})
}

func FuzzResolve(f *testing.F) {
	f.Add("atlanhq/atlan-teradata-app:3.1.4")
	f.Add("myreg:5000/team/app")
	f.Add("myreg:5000/team/app:1.2@" + dgst)
	f.Add("atlanhq/app@" + dgst)
	f.Add("docker.io/atlanhq/normalised")
	m, err := Parse([]byte(sampleMap))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		ref, err := ParseReference(src)
		if err != nil {
			return
		}
		if ref.String() != src {
			t.Fatalf("String() = %q, want %q", ref.String(), src)
		}
		r, err := Resolver{Map: m}.Resolve(src)
		if err != nil {
			// Only a composed reference may fail, and only by being invalid.
			if !errors.Is(err, ErrInvalidReference) {
				t.Fatalf("Resolve(%q): %v", src, err)
			}
			return
		}
		switch r.Rule {
		case RuleNone:
			if r.Resolved != src {
				t.Fatalf("rule none changed %q to %q", src, r.Resolved)
			}
		case RuleRepo:
			// A repo entry keeps the source's tag and digest.
			if !strings.HasSuffix(r.Resolved, ref.Suffix()) {
				t.Fatalf("repo rule dropped the suffix of %q: %q", src, r.Resolved)
			}
		case RuleExact:
			if want, _ := m.Lookup(src); r.Resolved != want {
				t.Fatalf("exact rule = %q, want %q", r.Resolved, want)
			}
		default:
			t.Fatalf("unexpected rule %q", r.Rule)
		}
		p, err := Resolver{Prefix: "reg.example.com/atlan"}.Resolve(src)
		if err != nil {
			if !errors.Is(err, ErrInvalidReference) {
				t.Fatalf("prefix Resolve(%q): %v", src, err)
			}
			return
		}
		if p.Rule != RulePrefix || !strings.HasPrefix(p.Resolved, "reg.example.com/atlan/") {
			t.Fatalf("prefix Resolve(%q) = %+v", src, p)
		}
		if _, err := ParseReference(p.Resolved); err != nil {
			t.Fatalf("prefix rewrite of %q gave an invalid reference %q: %v", src, p.Resolved, err)
		}
	})
}
