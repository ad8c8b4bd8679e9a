package ui

import (
	"bytes"
	"strings"
	"testing"
)

func TestProgressNotTTY(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, NewStyles(&b, false), false, 2)
	p.AddTotal(100)
	p.Advance(60)
	p.Done(ProgressOK, "copied a")
	p.Done(ProgressSkipped, "present b")
	p.Close()
	if got, want := b.String(), "copied a\npresent b\n"; got != want {
		t.Errorf("progress off a terminal = %q, want %q", got, want)
	}
}

func TestProgressTTY(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, NewStyles(&b, false), true, 1)
	p.AddTotal(2_000_000)
	p.Done(ProgressOK, "copied a")
	p.Close()
	out := b.String()
	if !strings.Contains(out, "1/1 images") || !strings.Contains(out, "2.0 MB") || !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("progress on a terminal = %q, want a bar with 1/1 images and 2.0 MB, cleared at the end", out)
	}
}

func TestBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0 B"}, {999, "999 B"}, {1500, "1.5 kB"}, {2_500_000_000, "2.5 GB"}} {
		if got := Bytes(tc.n); got != tc.want {
			t.Errorf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
