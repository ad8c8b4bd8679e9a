package cli

import (
	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testnet"

	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestUnreachableLines: diff and sync against an unreachable target and
// source registry exit 1 in a bounded time with one error line per
// registry, and sync writes nothing.
func TestUnreachableLines(t *testing.T) {
	dir := t.TempDir()
	src, dst := testnet.ClosedPort(t), testnet.ClosedPort(t)
	images := filepath.Join(dir, "images.txt")
	if err := os.WriteFile(images, []byte(src+"/atlanhq/atlan-a:1\n"+src+"/atlanhq/atlan-b:2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bucket := filepath.Join(dir, "bucket")
	if err := os.Mkdir(bucket, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"diff", "sync"} {
		t.Run(verb, func(t *testing.T) {
			f, out, errOut := newFactory(nil)
			args := []string{verb, "--from", "file", "--images-file", images, "--allowed-source", src + "/atlanhq",
				"--bucket", "file://" + bucket, "--image-map-path", "m.yaml", "--target", dst + "/atlan"}
			start := time.Now()
			code := Run(context.Background(), f, args)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("%s took %s, want a bounded few seconds", verb, d)
			}
			if code != ExitError {
				t.Errorf("%s exit = %d, want %d", verb, code, ExitError)
			}
			lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "error: ") || !strings.HasPrefix(lines[1], "error: ") ||
				!strings.Contains(errOut.String(), `destination registry "`+dst+`" is unreachable (connection refused)`) ||
				!strings.Contains(errOut.String(), `source registry "`+src+`" is unreachable (connection refused)`) {
				t.Errorf("%s stderr = %q, want one error line for each registry", verb, errOut)
			}
			if out.Len() != 0 {
				t.Errorf("%s stdout = %q, want nothing: no image was looked at", verb, out)
			}
			if entries, _ := os.ReadDir(bucket); len(entries) != 0 {
				t.Errorf("%s wrote %d files into the bucket, want none", verb, len(entries))
			}
		})
	}
}

func TestLines(t *testing.T) {
	a, b := errors.New("registry a is unreachable"), errors.New("registry b is unreachable")
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"joined", errors.Join(a, b), []string{a.Error(), b.Error()}},
		{"joined with nil", errors.Join(a, nil), []string{a.Error()}},
		{"wrapped join is one error", fmt.Errorf("probing: %w", errors.Join(a, b)), []string{"probing: " + a.Error() + "\n" + b.Error()}},
		{"several %w in a sentence", fmt.Errorf("%w and %w", a, b), []string{a.Error() + " and " + b.Error()}},
		{"plain", a, []string{a.Error()}},
	}
	for _, tc := range tests {
		var got []string
		for _, e := range lines(tc.err) {
			got = append(got, e.Error())
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: lines(%q) = %q, want %q", tc.name, tc.err, got, tc.want)
		}
	}
}
