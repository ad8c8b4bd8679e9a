package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestUseColor(t *testing.T) {
	var notTTY bytes.Buffer
	tests := []struct {
		name string
		mode string
		env  map[string]string
		want bool
	}{
		{"always wins over NO_COLOR", ColorAlways, map[string]string{"NO_COLOR": "1"}, true},
		{"never", ColorNever, nil, false},
		{"auto, not a terminal", ColorAuto, map[string]string{"TERM": "xterm-256color"}, false},
		{"auto, NO_COLOR empty still set", ColorAuto, map[string]string{"NO_COLOR": ""}, false},
		{"auto, dumb terminal", ColorAuto, map[string]string{"TERM": "dumb"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := UseColor(tc.mode, &notTTY, env(tc.env)); got != tc.want {
				t.Errorf("UseColor(%q, %v) = %v, want %v", tc.mode, tc.env, got, tc.want)
			}
		})
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	s := NewStyles(&b, false)
	if err := s.Table(&b, []string{"SOURCE", "RULE"}, [][]string{{"atlanhq/a:1", "exact"}, {"x", ""}}, nil); err != nil {
		t.Fatal(err)
	}
	want := "SOURCE       RULE\natlanhq/a:1  exact\nx\n"
	if b.String() != want {
		t.Errorf("Table =\n%q\nwant\n%q", b.String(), want)
	}

	b.Reset()
	s = NewStyles(&b, true)
	if err := s.Table(&b, []string{"A", "B"}, [][]string{{"1", "2"}}, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\x1b[1mA\x1b[0m") {
		t.Errorf("coloured Table header not bold: %q", b.String())
	}
}

func TestDiff(t *testing.T) {
	const diff = "--- a/m.yaml\n+++ b/m.yaml\n@@ -1,2 +1,3 @@\n images:\n-  \"a\": \"b\"\n+  \"a\": \"c\"\n"
	for _, tc := range []struct {
		name  string
		color bool
	}{{"plain", false}, {"color", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := NewStyles(&b, tc.color).Diff(&b, diff); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			if !tc.color && got != diff {
				t.Errorf("Diff(no colour) = %q, want it unchanged %q", got, diff)
			}
			if tc.color {
				for _, line := range []string{"-  \"a\": \"b\"", "+  \"a\": \"c\""} {
					if strings.Contains(got, "\n"+line+"\n") {
						t.Errorf("Diff(colour): line %q is not styled:\n%s", line, got)
					}
					if !strings.Contains(got, line) || !strings.Contains(got, "\x1b[") {
						t.Errorf("Diff(colour) = %q, want %q with escape codes", got, line)
					}
				}
				if !strings.Contains(got, "\n images:\n") {
					t.Errorf("Diff(colour) styled a context line: %q", got)
				}
			}
		})
	}
}

func TestWhen(t *testing.T) {
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	if got, want := When(at, at.Add(50*time.Hour)), "2026-12-01T08:00:00Z, 2d2h ago"; got != want {
		t.Errorf("When = %q, want %q", got, want)
	}
}
