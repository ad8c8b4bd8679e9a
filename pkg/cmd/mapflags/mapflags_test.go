package mapflags

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// TestValidate: one location, each with what it needs, or a one-line
// error naming the flags.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		m    Flags
		want string
	}{
		{Flags{}, ""},
		{Flags{File: "image-map.yaml"}, ""},
		{Flags{Bucket: "s3://sdr", Key: "sdr/image-map.yaml"}, ""},
		{Flags{File: "image-map.yaml", Bucket: "s3://sdr"}, "--map cannot be combined with --bucket"},
		{Flags{Bucket: "s3://sdr", Component: "c.yaml", Key: "k"}, "--bucket cannot be combined with --objectstore-component"},
		{Flags{Bucket: "s3://sdr"}, "--bucket needs --image-map-path"},
		{Flags{Component: "c.yaml"}, "--objectstore-component needs --image-map-path"},
		{Flags{Key: "k"}, "--image-map-path needs --bucket or --objectstore-component"},
	} {
		err := tc.m.Validate()
		if got := fmt.Sprint(err); (tc.want == "") != (err == nil) || (tc.want != "" && !strings.Contains(got, tc.want)) {
			t.Errorf("%+v: Validate = %v, want %q", tc.m, err, tc.want)
		}
	}
}

// TestOpen: a file, and a bucket through the opener given (the default
// opener when none is), each named by its URL; a map that is not there
// names the flags that located it.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "image-map.yaml")
	obj, err := (&Flags{File: path}).Open(ctx, Opener{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = obj.Read(ctx)
	if err = (&Flags{File: path}).MissingMap(err, obj.URL()); err == nil || !strings.Contains(err.Error(), "--map") {
		t.Errorf("a missing map file: %v, want --map named", err)
	}

	m := &Flags{Bucket: "mem://", Key: "sdr/image-map.yaml"}
	var opened string
	obj, err = m.Open(ctx, Opener{OpenBucket: func(ctx context.Context, url, key string, opts ...store.Option) (store.Object, error) {
		opened = url + " " + key
		return store.OpenBucket(ctx, url, key, opts...)
	}})
	if err != nil || opened != "mem:// sdr/image-map.yaml" {
		t.Fatalf("Open through the opener: %v, opened %q", err, opened)
	}
	_, _, err = obj.Read(ctx)
	if err = m.MissingMap(err, obj.URL()); err == nil || !strings.Contains(err.Error(), "check --bucket and --image-map-path") {
		t.Errorf("a missing map in a bucket: %v, want --bucket and --image-map-path named", err)
	}
	if _, err := (&Flags{Bucket: "mem://", Key: "k"}).Open(ctx, Opener{}); err != nil {
		t.Errorf("Open with the default opener: %v", err)
	}
}
