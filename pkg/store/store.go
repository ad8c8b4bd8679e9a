package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrNotFound is returned by Read when the object does not exist.
var ErrNotFound = errors.New("not found")

// ErrNoObjectKey marks a bucket opened without the key of the object in it.
var ErrNoObjectKey = errors.New("no object key")

// ErrConflict is returned by Write when the object is no longer at the
// version it was read at: someone else wrote it in between. Update re-reads
// and retries on it.
var ErrConflict = errors.New("changed since it was read")

// Version identifies the state of an object as it was read: an S3 or Azure
// ETag, a GCS generation, or a content hash for local files and mem://. The
// zero Version is "absent": a write conditional on it succeeds only when the
// object does not exist. Any makes a write unconditional.
type Version struct {
	token string
	any   bool
}

// Any is the version that makes Write unconditional.
var Any = Version{any: true}

// Absent reports whether v stands for an object that did not exist.
func (v Version) Absent() bool { return !v.any && v.token == "" }

func (v Version) String() string {
	switch {
	case v.any:
		return "any"
	case v.token == "":
		return "absent"
	}
	return v.token
}

// Object is one object (the map, or its lock file) that can be read and
// replaced as a whole.
type Object interface {
	// URL names the object for messages; it never carries credentials.
	URL() string
	// Read returns the content and its version. A missing object is
	// ErrNotFound with the zero (absent) Version.
	Read(ctx context.Context) ([]byte, Version, error)
	// Write replaces the object in one step, only if it is still at
	// version if (ErrConflict otherwise); Any writes unconditionally. A
	// failed write leaves the previous content intact.
	Write(ctx context.Context, data []byte, ifVersion Version) error
	// Sibling is the object with the given key in the same place.
	Sibling(key string) Object
	Close() error
}

func hashVersion(data []byte) Version {
	sum := sha256.Sum256(data)
	return Version{token: "sha256:" + hex.EncodeToString(sum[:])}
}

// SupportedSchemes are the bucket URL schemes this build can open.
var SupportedSchemes = supportedSchemes()

func supportedSchemes() []string {
	var s []string
	for _, p := range providers {
		s = append(s, p.scheme)
	}
	return append(s, "file", "mem")
}

// OpenBucket opens the object at key in the bucket named by a gocloud.dev
// URL: s3://bucket?region=…&endpoint=…&use_path_style=true,
// gs://bucket, azblob://container, file:///dir or mem://. Credentials come
// from each provider's default chain (environment, shared config, workload
// identity); use OpenComponent to pass them explicitly.
func OpenBucket(ctx context.Context, bucketURL, key string, opts ...Option) (Object, error) {
	u, err := url.Parse(bucketURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("bucket URL %q: not a URL; use a form like s3://bucket?region=eu-west-1 or file:///path/to/dir", redact(bucketURL))
	}
	supported := false
	for _, s := range SupportedSchemes {
		supported = supported || u.Scheme == s
	}
	if !supported {
		return nil, fmt.Errorf("bucket URL %q: scheme %q is not supported; use one of %s", redact(bucketURL), u.Scheme, strings.Join(SupportedSchemes, ", "))
	}
	if key == "" {
		return nil, fmt.Errorf("bucket URL %q: %w", redact(bucketURL), ErrNoObjectKey)
	}
	if u.Fragment != "" || strings.HasSuffix(bucketURL, "#") {
		return nil, fmt.Errorf("bucket URL %q: '#' starts a URL fragment; write it as %%23 in a path", redact(bucketURL))
	}
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	return openURL(ctx, u, bucketURL, key, o)
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
