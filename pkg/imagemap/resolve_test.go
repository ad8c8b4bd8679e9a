package imagemap

import (
	"errors"
	"strings"
	"testing"
)

const sampleMap = `images:
  # repo -> repo
  "atlanhq/atlan-teradata-app": "registry.mycompany.com/atlan/atlan-teradata-app"
  # repo:tag -> repo:tag wins over the repo entry
  "atlanhq/atlan-teradata-app:3.1.4": "registry.mycompany.com/atlan/teradata:3.1.4-approved"
  "myreg:5000/team/app": "mirror.example.com/team/app"
  "myreg:5000/team/app:1.2": "mirror.example.com/team/app:1.2-fixed"
  "atlanhq/pinned@` + dgst + `": "mirror.example.com/pinned@` + dgst + `"
  "docker.io/atlanhq/normalised": "mirror.example.com/normalised"
`

func TestResolveWithMap(t *testing.T) {
	m, err := Parse([]byte(sampleMap))
	if err != nil {
		t.Fatal(err)
	}
	r := Resolver{Map: m, Prefix: "ignored.example.com/x"}
	tests := []struct {
		name, in, want string
		rule           Rule
	}{
		{"exact wins over repo", "atlanhq/atlan-teradata-app:3.1.4", "registry.mycompany.com/atlan/teradata:3.1.4-approved", RuleExact},
		{"repo appends tag", "atlanhq/atlan-teradata-app:3.2.0", "registry.mycompany.com/atlan/atlan-teradata-app:3.2.0", RuleRepo},
		{"repo without tag", "atlanhq/atlan-teradata-app", "registry.mycompany.com/atlan/atlan-teradata-app", RuleRepo},
		{"repo appends digest", "atlanhq/atlan-teradata-app@" + dgst, "registry.mycompany.com/atlan/atlan-teradata-app@" + dgst, RuleRepo},
		{"repo appends tag and digest", "atlanhq/atlan-teradata-app:3.2.0@" + dgst, "registry.mycompany.com/atlan/atlan-teradata-app:3.2.0@" + dgst, RuleRepo},
		{"tag@digest is not the repo:tag key", "atlanhq/atlan-teradata-app:3.1.4@" + dgst, "registry.mycompany.com/atlan/atlan-teradata-app:3.1.4@" + dgst, RuleRepo},
		{"port is not a tag", "myreg:5000/team/app", "mirror.example.com/team/app", RuleRepo},
		{"port with tag, repo rule", "myreg:5000/team/app:2.0", "mirror.example.com/team/app:2.0", RuleRepo},
		{"port with tag, exact rule", "myreg:5000/team/app:1.2", "mirror.example.com/team/app:1.2-fixed", RuleExact},
		{"exact digest key", "atlanhq/pinned@" + dgst, "mirror.example.com/pinned@" + dgst, RuleExact},
		{"unmapped is unchanged", "atlanhq/other-app:1.0", "atlanhq/other-app:1.0", RuleNone},
		{"keys match literally, not normalised", "atlanhq/normalised:1.0", "atlanhq/normalised:1.0", RuleNone},
		{"literal normalised key matches", "docker.io/atlanhq/normalised:1.0", "mirror.example.com/normalised:1.0", RuleRepo},
		{"prefix is ignored with a map", "atlanhq/nothing:1", "atlanhq/nothing:1", RuleNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Resolve(tc.in)
			if err != nil {
				t.Fatalf("Resolve(%q) error: %v", tc.in, err)
			}
			if got.Resolved != tc.want || got.Rule != tc.rule {
				t.Errorf("Resolve(%q) = %q (%s), want %q (%s)", tc.in, got.Resolved, got.Rule, tc.want, tc.rule)
			}
		})
	}
}

func TestResolveWithoutMap(t *testing.T) {
	tests := []struct {
		name, prefix, in, want string
		rule                   Rule
	}{
		{"prefix keeps name and tag", "reg.example.com/atlan", "atlanhq/app:1.0", "reg.example.com/atlan/app:1.0", RulePrefix},
		{"prefix trailing slash", "reg.example.com/atlan/", "docker.io/atlanhq/app:1.0", "reg.example.com/atlan/app:1.0", RulePrefix},
		{"prefix keeps digest", "reg:5000", "atlanhq/app:1.0@" + dgst, "reg:5000/app:1.0@" + dgst, RulePrefix},
		{"prefix on a ported source", "reg.example.com", "myreg:5000/team/app", "reg.example.com/app", RulePrefix},
		{"no prefix, no map: unchanged", "", "atlanhq/app:1.0", "atlanhq/app:1.0", RuleNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolver{Prefix: tc.prefix}.Resolve(tc.in)
			if err != nil {
				t.Fatalf("Resolve(%q) error: %v", tc.in, err)
			}
			if got.Resolved != tc.want || got.Rule != tc.rule {
				t.Errorf("Resolve(%q) = %q (%s), want %q (%s)", tc.in, got.Resolved, got.Rule, tc.want, tc.rule)
			}
		})
	}
}

func TestResolveEmptyMapBeatsPrefix(t *testing.T) {
	got, err := Resolver{Map: New(), Prefix: "reg.example.com"}.Resolve("atlanhq/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Rule != RuleNone || got.Resolved != "atlanhq/app:1" {
		t.Errorf("Resolve with an empty map = %q (%s), want unchanged (none)", got.Resolved, got.Rule)
	}
}

func TestResolveInvalid(t *testing.T) {
	if _, err := (Resolver{}).Resolve("Not A Ref"); err == nil {
		t.Error("Resolve(\"Not A Ref\") succeeded, want an error")
	}
}

func TestNormalizedKey(t *testing.T) {
	m, err := Parse([]byte(sampleMap + "  \"atlanhq/exact:1\": \"mirror.example.com/exact:1\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"atlanhq/normalised:1.0", "docker.io/atlanhq/normalised"},
		{"index.docker.io/atlanhq/normalised", "docker.io/atlanhq/normalised"},
		{"docker.io/atlanhq/normalised:1.0", ""}, // literal match
		{"docker.io/atlanhq/exact:1", "atlanhq/exact:1"},
		{"docker.io/atlanhq/exact:2", ""},
		{"atlanhq/unrelated:1", ""},
	}
	for _, tc := range tests {
		if got := m.NormalizedKey(tc.in); got != tc.want {
			t.Errorf("NormalizedKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestResolveRefusesUnpullableResult(t *testing.T) {
	long := "atlanhq/" + strings.Repeat("a", 250) + ":1"
	if _, err := (Resolver{Prefix: "reg.example.com/atlan"}).Resolve(long); !errors.Is(err, ErrInvalidReference) {
		t.Errorf("Resolve(over-long prefix rewrite) = %v, want ErrInvalidReference", err)
	}
}
