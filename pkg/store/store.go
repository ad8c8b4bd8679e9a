package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// buckets
	_ "gocloud.dev/blob/memblob"  // mem:// buckets
	"gocloud.dev/gcerrors"
)

// ErrNotFound is returned by Read when the object does not exist.
var ErrNotFound = errors.New("not found")

// Object is one object (the map, or its lock file) that can be read and
// replaced as a whole.
type Object interface {
	// URL names the object for messages; it never carries credentials.
	URL() string
	Read(ctx context.Context) ([]byte, error)
	Write(ctx context.Context, data []byte) error
	// Sibling is the object with the given key in the same place.
	Sibling(key string) Object
	Close() error
}

// File is an object on the local file system.
func File(path string) Object { return &fileObject{path: path} }

type fileObject struct{ path string }

func (f *fileObject) URL() string { return f.path }

func (f *fileObject) Read(_ context.Context) ([]byte, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading %q: %w", f.path, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", f.path, err)
	}
	return b, nil
}

// Write replaces the file atomically: a temporary file in the same
// directory, synced, then renamed over the old one, keeping its mode.
func (f *fileObject) Write(_ context.Context, data []byte) (err error) {
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(f.path); err == nil {
		mode = st.Mode().Perm()
	}
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %q: %w", f.path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		return fmt.Errorf("writing %q: %w", f.path, err)
	}
	return nil
}

func (f *fileObject) Sibling(key string) Object {
	return &fileObject{path: filepath.Join(filepath.Dir(f.path), key)}
}

func (f *fileObject) Close() error { return nil }

// SupportedSchemes are the bucket URL schemes this build can open.
var SupportedSchemes = []string{"file", "mem"}

// OpenBucket opens the object at key in the bucket named by a gocloud.dev
// URL such as "file:///var/sdr" or "mem://".
func OpenBucket(ctx context.Context, bucketURL, key string) (Object, error) {
	u, err := url.Parse(bucketURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("bucket URL %q: not a URL; use a form like file:///path/to/dir", redact(bucketURL))
	}
	supported := false
	for _, s := range SupportedSchemes {
		supported = supported || u.Scheme == s
	}
	if !supported {
		return nil, fmt.Errorf("bucket URL %q: scheme %q is not supported; use one of %s", redact(bucketURL), u.Scheme, strings.Join(SupportedSchemes, ", "))
	}
	if key == "" {
		return nil, fmt.Errorf("bucket URL %q: no object key; pass --image-map-path", redact(bucketURL))
	}
	if u.Scheme == "file" {
		// Keep the bucket free of gocloud's .attrs side files.
		q := u.Query()
		if q.Get("metadata") == "" {
			q.Set("metadata", "skip")
		}
		u.RawQuery = q.Encode()
		if st, err := os.Stat(u.Path); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("bucket URL %q: directory %q does not exist; create it first", redact(bucketURL), u.Path)
		}
	}
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("opening bucket %q: %w", redact(bucketURL), err)
	}
	return &bucketObject{bucket: b, name: redact(bucketURL), key: key, owner: true}, nil
}

type bucketObject struct {
	bucket *blob.Bucket
	name   string
	key    string
	owner  bool
}

func (o *bucketObject) URL() string {
	return strings.TrimSuffix(stripQuery(o.name), "/") + "/" + o.key
}

func (o *bucketObject) Read(ctx context.Context) ([]byte, error) {
	b, err := o.bucket.ReadAll(ctx, o.key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("reading %q: %w", o.URL(), ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", o.URL(), err)
	}
	return b, nil
}

func (o *bucketObject) Write(ctx context.Context, data []byte) error {
	if err := o.bucket.WriteAll(ctx, o.key, data, &blob.WriterOptions{ContentType: contentType(o.key)}); err != nil {
		return fmt.Errorf("writing %q: %w", o.URL(), err)
	}
	return nil
}

func (o *bucketObject) Sibling(key string) Object {
	return &bucketObject{bucket: o.bucket, name: o.name, key: key}
}

func (o *bucketObject) Close() error {
	if !o.owner {
		return nil
	}
	return o.bucket.Close()
}

func contentType(key string) string {
	if strings.HasSuffix(key, ".json") {
		return "application/json"
	}
	return "application/yaml"
}

func stripQuery(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i]
	}
	return s
}

// redact removes user information and query parameters that may carry
// credentials from a URL shown to the user.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	q := u.Query()
	for k := range q {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "key") || strings.Contains(lk, "secret") || strings.Contains(lk, "token") ||
			strings.Contains(lk, "password") || strings.Contains(lk, "sig") || strings.Contains(lk, "credential") {
			q.Set(k, "REDACTED")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
