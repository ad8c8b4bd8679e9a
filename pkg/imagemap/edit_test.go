package imagemap

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func TestEditGolden(t *testing.T) {
	tests := []struct {
		name  string
		input string
		edit  func(t *testing.T, m *ImageMap)
	}{
		{"commented-noop", "commented", func(*testing.T, *ImageMap) {}},
		{"commented-set-new", "commented", func(t *testing.T, m *ImageMap) {
			mustSet(t, m, "atlanhq/atlan-snowflake-app", "registry.mycompany.com/atlan/atlan-snowflake-app", Added)
			mustSet(t, m, "atlanhq/atlan-snowflake-app:2.0.0", "registry.mycompany.com/atlan/snowflake:2.0.0-approved", Added)
		}},
		{"commented-set-update", "commented", func(t *testing.T, m *ImageMap) {
			mustSet(t, m, "atlanhq/atlan-teradata-app:3.1.4", "registry.mycompany.com/atlan/teradata:3.1.4-approved2", Updated)
			mustSet(t, m, "atlanhq/atlan-postgres-app", "registry.mycompany.com/atlan/atlan-postgres-app", Unchanged)
		}},
		{"commented-rm", "commented", func(t *testing.T, m *ImageMap) {
			if err := m.Remove("atlanhq/atlan-teradata-app:3.1.4"); err != nil {
				t.Fatal(err)
			}
		}},
		{"commented-rm-last", "commented", func(t *testing.T, m *ImageMap) {
			if err := m.Remove("atlanhq/atlan-postgres-app"); err != nil {
				t.Fatal(err)
			}
		}},
		{"commented-release-update", "commented", func(_ *testing.T, m *ImageMap) {
			m.SetRelease(&Release{Name: "my-sdr-release", StorageNamespace: "sdr-helm"})
		}},
		{"commented-release-remove", "commented", func(_ *testing.T, m *ImageMap) {
			m.SetRelease(nil)
		}},
		{"norelease-release-add", "norelease", func(t *testing.T, m *ImageMap) {
			m.SetRelease(&Release{Name: "flux-sdr", StorageNamespace: "flux-system"})
			mustSet(t, m, "atlanhq/b:1", "reg.example.com/atlan/b:1", Added)
		}},
		{"nullimages-set", "nullimages", func(t *testing.T, m *ImageMap) {
			mustSet(t, m, "atlanhq/a", "reg.example.com/atlan/a", Added)
		}},
		{"empty-set", "empty", func(t *testing.T, m *ImageMap) {
			mustSet(t, m, "myreg:5000/team/app", "reg.example.com/atlan/app", Added)
			mustSet(t, m, "atlanhq/pinned@"+dgst, "reg.example.com/atlan/pinned@"+dgst, Added)
		}},
		{"empty-noop", "empty", func(*testing.T, *ImageMap) {}},
		// The comment right under "images:" belongs to the block: removing
		// the entry below it, even the last one, leaves it where it was.
		{"blockcomment-rm-last", "blockcomment", func(t *testing.T, m *ImageMap) {
			if err := m.Remove("atlanhq/a"); err != nil {
				t.Fatal(err)
			}
		}},
		{"blockcomment-rm-last-set", "blockcomment", func(t *testing.T, m *ImageMap) {
			if err := m.Remove("atlanhq/a"); err != nil {
				t.Fatal(err)
			}
			mustSet(t, m, "atlanhq/b", "reg.example.com/atlan/b", Added)
		}},
		{"emptycomment-noop", "emptycomment", func(*testing.T, *ImageMap) {}},
		{"emptycomment-set", "emptycomment", func(t *testing.T, m *ImageMap) {
			mustSet(t, m, "atlanhq/a", "reg.example.com/atlan/a", Added)
		}},
		{"emptycomment-last-noop", "emptycomment-last", func(*testing.T, *ImageMap) {}},
		{"flowempty-set", "flowempty", func(t *testing.T, m *ImageMap) {
			mustSet(t, m, "atlanhq/a", "reg.example.com/atlan/a", Added)
		}},
		{"duplicate-rm-first", "duplicate", func(t *testing.T, m *ImageMap) {
			if err := m.Remove("atlanhq/a"); err != nil {
				t.Fatal(err)
			}
			if err := m.Remove("atlanhq/b"); err != nil {
				t.Fatal(err)
			}
		}},
		{"duplicate-set", "duplicate", func(t *testing.T, m *ImageMap) {
			mustSet(t, m, "atlanhq/b", "reg.example.com/atlan/b", Updated)
		}},
		{"duplicate-set-new-value", "duplicate", func(t *testing.T, m *ImageMap) {
			mustSet(t, m, "atlanhq/b", "new.example.com/atlan/b", Updated)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "edit", tc.input+".in.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tc.edit(t, m)
			if ps := m.Validate(); len(ps) > 0 {
				t.Fatalf("Validate after edit: %v", ps)
			}
			out, err := m.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("edit", tc.name+".golden.yaml"), out)

			// The output is deterministic and a fixed point: parsing and
			// rendering it again changes nothing.
			again, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(output): %v", err)
			}
			out2, err := again.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, out2) {
				t.Errorf("rendering is not stable:\n--- first ---\n%s\n--- second ---\n%s", out, out2)
			}
			if got, want := again.Entries(), m.Entries(); len(got) != len(want) {
				t.Errorf("entries after round trip = %d, want %d", len(got), len(want))
			}
		})
	}
}

func mustSet(t *testing.T, m *ImageMap, src, dst string, want Change) {
	t.Helper()
	got, err := m.Set(src, dst)
	if err != nil {
		t.Fatalf("Set(%q, %q): %v", src, dst, err)
	}
	if got != want {
		t.Errorf("Set(%q, %q) = %s, want %s", src, dst, got, want)
	}
}

func TestSetRejects(t *testing.T) {
	tests := []struct{ name, src, dst string }{
		{"bare source needs bare destination", "atlanhq/a", "reg/a:1.0"},
		{"bare source, digest destination", "atlanhq/a", "reg/a@" + dgst},
		{"invalid source", "atlanhq/A", "reg/a"},
		{"invalid destination", "atlanhq/a:1", "reg/a:"},
		{"empty source", "", "reg/a"},
		{"empty destination", "atlanhq/a:1", ""},
		{"tagged source needs a tagged destination", "atlanhq/a:1.0", "reg/atlan/a"},
		{"digest source needs a tag or digest", "atlanhq/a@" + dgst, "reg/atlan/a"},
		{"destination a registry host", "atlanhq/a", "registry.example.com"},
		{"destination a registry host and port", "atlanhq/a:1.0", "registry.example.com:5000"},
		{"destination localhost", "atlanhq/a", "localhost"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			_, err := m.Set(tc.src, tc.dst)
			if err == nil {
				t.Errorf("Set(%q, %q) succeeded, want an error", tc.src, tc.dst)
			}
			// What Set refuses, Validate reports in a map written by hand.
			if in := fmt.Sprintf("images:\n  %q: %q\n", tc.src, tc.dst); err != nil && tc.src != "" {
				if hand, perr := Parse([]byte(in)); perr == nil && len(hand.Validate()) == 0 {
					t.Errorf("Set(%q, %q) = %v, but Validate passes the same entry written by hand", tc.src, tc.dst, err)
				}
			}
			if m.Len() != 0 {
				t.Errorf("Set(%q, %q) failed but left %d entries", tc.src, tc.dst, m.Len())
			}
		})
	}
}

func TestRemoveMissing(t *testing.T) {
	m, err := Parse([]byte(sampleMap))
	if err != nil {
		t.Fatal(err)
	}
	n := m.Len()
	if err := m.Remove("atlanhq/nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove(missing) = %v, want ErrNotFound", err)
	}
	if m.Len() != n {
		t.Errorf("Remove(missing) changed the entry count from %d to %d", n, m.Len())
	}
}

func TestDuplicateKeyRepair(t *testing.T) {
	const dup = "images:\n  \"a/b\": \"r/first\"\n  \"c/d\": \"r/d\"\n  \"a/b\": \"r/last\"\n  \"a/b\": \"r/b\"\n"
	t.Run("set keeps one copy", func(t *testing.T) {
		m, err := Parse([]byte(dup))
		if err != nil {
			t.Fatal(err)
		}
		if n := m.Count("a/b"); n != 3 {
			t.Errorf("Count(a/b) = %d, want 3", n)
		}
		// Already the value of the copy the SDR uses, yet the map changes.
		mustSet(t, m, "a/b", "r/b", Updated)
		if n := m.Count("a/b"); n != 1 {
			t.Errorf("Count(a/b) after Set = %d, want 1", n)
		}
		if ps := m.Validate(); len(ps) != 0 {
			t.Errorf("Validate() after Set = %v, want the map repaired", ps)
		}
		if got, _ := m.Lookup("a/b"); got != "r/b" || m.Len() != 2 {
			t.Errorf("after Set: Lookup(a/b) = %q with %d entries, want r/b with 2", got, m.Len())
		}
		mustSet(t, m, "a/b", "r/b", Unchanged)
	})
	t.Run("remove takes every copy", func(t *testing.T) {
		m, err := Parse([]byte(dup))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Remove("a/b"); err != nil {
			t.Fatal(err)
		}
		if n := m.Count("a/b"); n != 0 || m.Len() != 1 {
			t.Errorf("after Remove: Count(a/b) = %d with %d entries, want 0 with 1", n, m.Len())
		}
	})
}

func TestSetKeepsNormalisedSpellingsApart(t *testing.T) {
	m := New()
	mustSet(t, m, "atlanhq/x", "reg/x", Added)
	mustSet(t, m, "docker.io/atlanhq/x", "reg/x", Added)
	mustSet(t, m, "index.docker.io/atlanhq/x", "reg/x", Added)
	if m.Len() != 3 {
		t.Errorf("Len() = %d, want 3 distinct literal keys", m.Len())
	}
}
