package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
)

func TestFileWriteIsAtomicAndKeepsMode(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "image-map.yaml")
	if err := os.WriteFile(path, []byte("images: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	obj := File(path)
	if err := obj.Write(ctx, []byte("images:\n  \"a/b\": \"c/d\"\n"), Any); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode after write = %v, want 0600", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d files after write, want only the map (no temp files)", len(entries))
	}
}

func TestFileWriteFailureLeavesOldMap(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores directory permissions; use a path whose parent is a file.
		dir := t.TempDir()
		parent := filepath.Join(dir, "file")
		if err := os.WriteFile(parent, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := File(filepath.Join(parent, "m.yaml")).Write(context.Background(), []byte("images: {}\n"), Any); err == nil {
			t.Fatal("write under a regular file succeeded")
		}
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "m.yaml")
	old := []byte("images: {}\n")
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil { //nolint:gosec // a read-only directory is the point
		t.Fatal(err)
	}
	defer func() { _ = os.Chmod(dir, 0o700) }() //nolint:gosec // restores the test directory
	if err := File(path).Write(context.Background(), []byte("new"), Any); err == nil {
		t.Fatal("write into a read-only directory succeeded")
	}
	if got, _ := os.ReadFile(path); string(got) != string(old) {
		t.Errorf("map after failed write = %q, want %q", got, old)
	}
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	for _, open := range []struct {
		name string
		open func(t *testing.T) Object
	}{
		{"file", func(t *testing.T) Object { return File(filepath.Join(t.TempDir(), "m.yaml")) }},
		{"file bucket", func(t *testing.T) Object {
			o, err := OpenBucket(ctx, "file://"+t.TempDir(), "sdr/image-map.yaml")
			if err != nil {
				t.Fatal(err)
			}
			return o
		}},
		{"mem bucket", func(t *testing.T) Object {
			o, err := OpenBucket(ctx, "mem://", "sdr/image-map.yaml")
			if err != nil {
				t.Fatal(err)
			}
			return o
		}},
	} {
		t.Run(open.name, func(t *testing.T) {
			obj := open.open(t)
			defer obj.Close()
			if _, err := LoadMap(ctx, obj); !errors.Is(err, ErrNotFound) {
				t.Fatalf("LoadMap(absent) = %v, want ErrNotFound", err)
			}
			res, err := Update(ctx, obj, func(m *imagemap.ImageMap) error {
				_, err := m.Set("atlanhq/a", "reg/a")
				return err
			})
			if err != nil || !res.Written {
				t.Fatalf("Update(add) = %+v, %v", res, err)
			}
			res, err = Update(ctx, obj, func(m *imagemap.ImageMap) error {
				_, err := m.Set("atlanhq/a", "reg/a")
				return err
			})
			if err != nil || res.Changed || res.Written {
				t.Fatalf("Update(same) = %+v, %v; want no write", res, err)
			}
			before, _, _ := obj.Read(ctx)

			// An edit that fails writes nothing.
			boom := errors.New("boom")
			if _, err := Update(ctx, obj, func(*imagemap.ImageMap) error { return boom }); !errors.Is(err, boom) {
				t.Fatalf("Update(failing edit) = %v", err)
			}
			after, _, _ := obj.Read(ctx)
			if string(before) != string(after) {
				t.Errorf("map changed by a failed edit:\n%s\n->\n%s", before, after)
			}

			// A result that still has problems writes nothing.
			dup := "images:\n  \"a/b\": \"r/b\"\n  \"a/b\": \"r/c\"\n"
			if err := obj.Write(ctx, []byte(dup), Any); err != nil {
				t.Fatal(err)
			}
			_, err = Update(ctx, obj, func(m *imagemap.ImageMap) error { _, err := m.Set("x/y", "r/y"); return err })
			if !errors.Is(err, ErrInvalidMap) || !strings.Contains(err.Error(), "line 3") {
				t.Fatalf("Update(invalid result) = %v, want ErrInvalidMap at line 3", err)
			}
			if got, _, _ := obj.Read(ctx); string(got) != dup {
				t.Errorf("map with problems was overwritten: %q", got)
			}

			// A map that does not parse is never overwritten.
			if err := obj.Write(ctx, []byte("images:\n  \"a\": [\n"), Any); err != nil {
				t.Fatal(err)
			}
			_, err = Update(ctx, obj, func(m *imagemap.ImageMap) error { _, err := m.Set("x/y", "r/y"); return err })
			if err == nil || !strings.Contains(err.Error(), "line ") || !strings.Contains(err.Error(), obj.URL()) {
				t.Fatalf("Update(unparsable) = %v, want an error naming the object and the line", err)
			}
			if got, _, _ := obj.Read(ctx); string(got) != "images:\n  \"a\": [\n" {
				t.Errorf("unparsable map was overwritten: %q", got)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	for in, secret := range map[string]string{
		"s3://user:pa55@b?region=x":           "pa55",
		"azblob://c?sas_token=sv%3D2020sig":   "sv",
		"s3://b?secret_access_key=ABCDEFSECR": "ABCDEFSECR",
	} {
		if got := redact(in); strings.Contains(got, secret) {
			t.Errorf("redact(%q) = %q, still holds %q", in, got, secret)
		}
	}
}

func TestScrubSecrets(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{"secret value", "auth failed for key s3cr3tValue!", []string{"s3cr3tValue!"}, "auth failed for key REDACTED"},
		{"short values are left alone", "region eu", []string{"eu"}, "region eu"},
		{"signed token", `bad assertion eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl"}`, nil, `bad assertion REDACTED"}`},
		{"authorization header", "header Authorization: Bearer ya29.abcdef sent", nil, "header Authorization: Bearer REDACTED sent"},
		{"one line without the XML body", "GET http://h/c\n--------------------\nRESPONSE 403: denied\n<?xml version=\"1.0\"?><Error/>", nil, "GET http://h/c RESPONSE 403: denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := scrubSecrets(errors.New(tc.in), tc.secrets).Error(); got != tc.want {
				t.Errorf("scrubSecrets(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
