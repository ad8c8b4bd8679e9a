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

// TestProgressBlobs: a display that learns its items late counts them
// without a line each, on a terminal and off one.
func TestProgressBlobs(t *testing.T) {
	var tty bytes.Buffer
	p := NewProgress(&tty, NewStyles(&tty, false), true, 0)
	p.SetItems(3, "blobs")
	p.AddTotal(3_000)
	p.Advance(3_000)
	for range 3 {
		p.Tick()
	}
	p.SetItems(3, "blobs")
	p.Close()
	if out := tty.String(); !strings.Contains(out, "3/3 blobs") || strings.Contains(out, "images") || strings.Contains(out, "\n") {
		t.Errorf("progress on a terminal = %q, want 3/3 blobs and no line per blob", out)
	}
	var plain bytes.Buffer
	p = NewProgress(&plain, NewStyles(&plain, false), false, 0)
	p.SetItems(1, "blobs")
	p.Tick()
	p.Close()
	if plain.Len() != 0 {
		t.Errorf("progress off a terminal = %q, want nothing", plain.String())
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
