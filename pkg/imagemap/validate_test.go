package imagemap

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"syntax", "images:\n  \"a\": \"b\n", 2, "found unexpected end of stream"},
		{"bad indentation", "images:\n  a: b\n c: d\n", 2, "did not find expected key"},
		{"list at top", "- a\n- b\n", 1, "must be a YAML mapping"},
		{"scalar at top", "hello\n", 1, "must be a YAML mapping"},
		{"images is a list", "images:\n  - a\n", 2, `"images" must be a mapping`},
		{"images is a string", "images: atlanhq/a\n", 1, `"images" must be a mapping`},
		{"release is a list", "images: {}\nrelease: [a]\n", 2, `"release" must be a mapping`},
		{"two documents", "images: {}\n---\nimages: {}\n", 2, "more than one YAML document"},
		{"tab indentation", "images:\n\t\"a\": \"b\"\n", 2, "found character that cannot start any token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error = %v, want a *ParseError", tc.in, err)
			}
			if pe.Line != tc.line || !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("Parse(%q) = line %d %q, want line %d containing %q", tc.in, pe.Line, pe.Msg, tc.line, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Errorf("Parse(%q) error %q does not start with the line", tc.in, err)
			}
		})
	}
}

func TestParseAcceptsEmpty(t *testing.T) {
	for _, in := range []string{"", "\n\n", "# only a comment\n", "images:\n", "images: {}\n", "~\n"} {
		m, err := Parse([]byte(in))
		if err != nil {
			t.Errorf("Parse(%q) error: %v", in, err)
			continue
		}
		if m.Len() != 0 {
			t.Errorf("Parse(%q).Len() = %d, want 0", in, m.Len())
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // "line:substring" of each problem, in order
	}{
		{"valid", sampleMap + "release:\n  name: x\n  storage_namespace: y\n", nil},
		{"duplicate key", "images:\n  \"a/b\": \"r/b\"\n  \"c/d\": \"r/d\"\n  \"a/b\": \"r/b2\"\n",
			[]string{`4:key "a/b" is defined again (first at line 2)`}},
		{"duplicate top-level", "images: {}\nimages: {}\n", []string{`2:top-level key "images" is defined again`}},
		{"empty key", "images:\n  \"\": \"r/b\"\n", []string{"2:empty reference"}},
		{"empty value", "images:\n  \"a/b\": \"\"\n", []string{"2:empty reference"}},
		{"null value", "images:\n  \"a/b\":\n", []string{"2:must be an image reference string, found the value"}},
		{"unparsable key", "images:\n  \"Atlan/B\": \"r/b\"\n", []string{"2:invalid image reference \"Atlan/B\""}},
		{"unparsable value", "images:\n  \"a/b:1\": \"r/b:\"\n", []string{"2:empty tag"}},
		{"number value", "images:\n  \"a/b:1\": 1.5\n", []string{"2:found the value 1.5"}},
		{"list value", "images:\n  \"a/b:1\": [x]\n", []string{"2:found a list"}},
		{"bool key", "images:\n  true: \"r/b\"\n", []string{"2:key must be an image reference string"}},
		{"alias value", "images:\n  \"a/b:1\": &x \"r/b:1\"\n  \"a/c:1\": *x\n", []string{"3:found an alias"}},
		{"merge key", "base: &b {\"a/b\": \"r/b\"}\nimages:\n  <<: *b\n", []string{"3:merge keys"}},
		{"billion laughs outside images", "images: {}\na: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", []string{"3:alias \"a\"", "3:alias \"a\"", "4:alias \"b\"", "4:alias \"b\""}},
		{"bare key with tagged value", "images:\n  \"atlanhq/a\": \"r/a:1.0\"\n", []string{`2:bare repository key, so the SDR appends the source tag to its value; "r/a:1.0" already carries ":1.0"`}},
		{"bare key with digest value", "images:\n  \"atlanhq/a\": \"r/a@" + dgst + "\"\n", []string{"2:already carries \"@sha256:"}},
		{"release unknown field", "images: {}\nrelease:\n  name: x\n  namespace: y\n", []string{`4:release: unknown field "namespace"`}},
		{"release non-string", "images: {}\nrelease:\n  name: [x]\n", []string{"3:release: name must be a non-empty string"}},
		{"release duplicate field", "images: {}\nrelease:\n  name: x\n  name: y\n", []string{`4:release: field "name" is defined again`}},
		{"tagged key with untagged value", "images:\n  \"atlanhq/a:1.0\": \"r/atlan/a\"\n",
			[]string{`2:images: "atlanhq/a:1.0" has a tag or digest, so the SDR uses its value verbatim; "r/atlan/a" has neither, so the SDR would pull "r/atlan/a:latest": write the tag or digest in the value, e.g. "r/atlan/a:1.0"`}},
		{"digest key with untagged value", "images:\n  \"atlanhq/a@" + dgst + "\": \"r/atlan/a\"\n",
			[]string{`2:e.g. "r/atlan/a@` + dgst + `"`}},
		{"bare host value", "images:\n  \"atlanhq/a\": \"registry.example.com\"\n",
			[]string{`2:images: value of "atlanhq/a", "registry.example.com", is a registry host, not a repository in it: the SDR would pull an image of that name from Docker Hub; write the repository path too, e.g. "registry.example.com/a"`}},
		{"bare host and port value", "images:\n  \"atlanhq/a:1.0\": \"localhost:5000\"\n",
			[]string{`2:is a registry host, not a repository in it: the SDR would pull an image of that name from Docker Hub; write the repository path too, e.g. "localhost:5000/a:1.0"`}},
		{"host with a path is a repository", "images:\n  \"atlanhq/a\": \"registry.example.com/a\"\n  \"atlanhq/b:1\": \"mirror.example.com:5000/b:1\"\n", nil},
		{"several, sorted by line", "images:\n  \"a\": \"\"\n  \"a\": \"r/a:1\"\nrelease:\n  foo: 1\n",
			[]string{"2:empty reference", "3:defined again", "3:already carries", "5:unknown field"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := m.Validate()
			if len(got) != len(tc.want) {
				t.Fatalf("Validate() = %v, want %d problems %v", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				line, sub, _ := strings.Cut(w, ":")
				if s := got[i].Error(); !strings.HasPrefix(s, "line "+line+": ") || !strings.Contains(s, sub) {
					t.Errorf("problem %d = %q, want line %s containing %q", i, s, line, sub)
				}
			}
		})
	}
}

func TestAudit(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // "line:substring" of each problem, in order
	}{
		{"valid", sampleMap, nil},
		{"two spellings of one repository", "images:\n  \"docker.io/atlanhq/x\": \"r/atlan/x\"\n  \"c/d\": \"r/d\"\n  \"atlanhq/x\": \"r/atlan/x\"\n",
			[]string{`4:images: keys "atlanhq/x" and "docker.io/atlanhq/x" (line 2) name the same image under two spellings; the SDR matches keys literally, so only the spelling its images use ever matches: remove the other one`}},
		{"three spellings with tags", "images:\n  \"atlanhq/x:1\": \"r/x:1\"\n  \"index.docker.io/atlanhq/x:1\": \"r/x:1\"\n  \"docker.io/atlanhq/x:1\": \"r/x:1\"\n",
			[]string{`3:"index.docker.io/atlanhq/x:1" and "atlanhq/x:1" (line 2)`, `4:"docker.io/atlanhq/x:1" and "atlanhq/x:1" (line 2)`}},
		{"library images", "images:\n  \"nginx\": \"r/nginx\"\n  \"docker.io/library/nginx\": \"r/nginx\"\n", []string{`3:"docker.io/library/nginx" and "nginx" (line 2)`}},
		{"a repository and one of its tags are two images", "images:\n  \"atlanhq/x\": \"r/x\"\n  \"docker.io/atlanhq/x:1\": \"r/x:1\"\n", nil},
		{"validate's problems too, sorted", "images:\n  \"atlanhq/x\": \"r/x\"\n  \"a:1\": \"r/a\"\n  \"docker.io/atlanhq/x\": \"r/x\"\n",
			[]string{"3:would pull \"r/a:latest\"", "4:two spellings"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := m.Audit()
			if len(got) != len(tc.want) {
				t.Fatalf("Audit() = %v, want %d problems %v", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				line, sub, _ := strings.Cut(w, ":")
				if s := got[i].Error(); !strings.HasPrefix(s, "line "+line+": ") || !strings.Contains(s, sub) {
					t.Errorf("problem %d = %q, want line %s containing %q", i, s, line, sub)
				}
			}
			// Two spellings are the one thing Audit adds: writes accept them.
			for _, p := range m.Validate() {
				if strings.Contains(p.Msg, "two spellings") {
					t.Errorf("Validate() reports %q; only Audit should", p.Msg)
				}
			}
		})
	}
}

func TestLookupLastDuplicateWins(t *testing.T) {
	m, err := Parse([]byte("images:\n  \"a/b\": \"r/first\"\n  \"a/b\": \"r/last\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Lookup("a/b"); got != "r/last" {
		t.Errorf("Lookup(duplicate) = %q, want the last value as the SDR's YAML reader takes", got)
	}
}

func TestEntryRule(t *testing.T) {
	for src, want := range map[string]Rule{"a/b": RuleRepo, "a/b:1": RuleExact, "a/b@" + dgst: RuleExact, "reg:5000/a": RuleRepo} {
		if got := (Entry{Source: src}).Rule(); got != want {
			t.Errorf("Entry{%q}.Rule() = %s, want %s", src, got, want)
		}
	}
}

func TestRelease(t *testing.T) {
	m, err := Parse([]byte("images: {}\nrelease:\n  name: my-sdr\n  storage_namespace: flux-system\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Release(); r == nil || r.Name != "my-sdr" || r.StorageNamespace != "flux-system" {
		t.Errorf("Release() = %+v, want my-sdr in flux-system", r)
	}
	if r := New().Release(); r != nil {
		t.Errorf("New().Release() = %+v, want nil", r)
	}
}

func TestParseRefusesHugeMaps(t *testing.T) {
	huge := []byte("images:\n" + strings.Repeat("  \"atlanhq/a\": \"r/a\"\n", MaxSize/20))
	if _, err := Parse(huge); err == nil || !strings.Contains(err.Error(), "MiB") {
		t.Errorf("Parse(%d bytes) = %v, want a size error", len(huge), err)
	}
}
