package imagemap

import (
	"errors"
	"testing"
)

const dgst = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestParseReference(t *testing.T) {
	tests := []struct {
		in               string
		repo, tag, digst string
		last             string
	}{
		{"atlanhq/app", "atlanhq/app", "", "", "app"},
		{"atlanhq/app:3.1.4", "atlanhq/app", "3.1.4", "", "app"},
		{"myreg:5000/team/app", "myreg:5000/team/app", "", "", "app"},
		{"myreg:5000/team/app:1.2", "myreg:5000/team/app", "1.2", "", "app"},
		{"myreg:5000/app", "myreg:5000/app", "", "", "app"},
		{"localhost:5000/a/b/c:v1-rc.2", "localhost:5000/a/b/c", "v1-rc.2", "", "c"},
		{"atlanhq/app@" + dgst, "atlanhq/app", "", dgst, "app"},
		{"atlanhq/app:1.0@" + dgst, "atlanhq/app", "1.0", dgst, "app"},
		{"myreg:5000/app:1.0@" + dgst, "myreg:5000/app", "1.0", dgst, "app"},
		{"myreg:5000/app@" + dgst, "myreg:5000/app", "", dgst, "app"},
		{"docker.io/atlanhq/app:1", "docker.io/atlanhq/app", "1", "", "app"},
		{"busybox", "busybox", "", "", "busybox"},
		{"busybox:latest", "busybox", "latest", "", "busybox"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			r, err := ParseReference(tc.in)
			if err != nil {
				t.Fatalf("ParseReference(%q) error: %v", tc.in, err)
			}
			if r.Repository != tc.repo || r.Tag != tc.tag || r.Digest != tc.digst {
				t.Errorf("ParseReference(%q) = {%q %q %q}, want {%q %q %q}", tc.in, r.Repository, r.Tag, r.Digest, tc.repo, tc.tag, tc.digst)
			}
			if got := r.String(); got != tc.in {
				t.Errorf("ParseReference(%q).String() = %q, want the input back", tc.in, got)
			}
			if got := r.LastElement(); got != tc.last {
				t.Errorf("ParseReference(%q).LastElement() = %q, want %q", tc.in, got, tc.last)
			}
		})
	}
}

func TestParseReferenceInvalid(t *testing.T) {
	for _, in := range []string{
		"",
		" atlanhq/app",
		"atlanhq/app ",
		"atlanhq/App",
		"atlanhq/app:",
		"atlanhq/app@",
		"atlanhq/app@sha256:abc",
		"atlanhq/app@md5:" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		":tag",
		"atlanhq/app:bad tag",
		"atlanhq/app:" + string(make([]byte, 0)) + "tag\x00",
		"atlanhq/app\n:1",
		"atlanhq/ápp",
		"atlanhq//app",
		"atlanhq/app:1@" + dgst + "@" + dgst,
		"atlanhq/app:-bad",
	} {
		t.Run(in, func(t *testing.T) {
			if r, err := ParseReference(in); err == nil {
				t.Errorf("ParseReference(%q) = %+v, want an error", in, r)
			} else if !errors.Is(err, ErrInvalidReference) {
				t.Errorf("ParseReference(%q) error %v is not ErrInvalidReference", in, err)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"atlanhq/app:1", "index.docker.io/atlanhq/app:1"},
		{"docker.io/atlanhq/app:1", "index.docker.io/atlanhq/app:1"},
		{"index.docker.io/atlanhq/app:1", "index.docker.io/atlanhq/app:1"},
		{"busybox", "index.docker.io/library/busybox"},
		{"myreg:5000/app:1", "myreg:5000/app:1"},
	}
	for _, tc := range tests {
		r, err := ParseReference(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Canonical(); got != tc.want {
			t.Errorf("Canonical(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
