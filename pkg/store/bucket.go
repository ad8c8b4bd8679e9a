package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/memblob" // mem:// buckets
	"gocloud.dev/gcerrors"
)

func openURL(ctx context.Context, u *url.URL, raw, key string, o *openOptions) (Object, error) {
	if u.Scheme == "file" {
		if st, err := os.Stat(u.Path); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("bucket URL %q: directory %q does not exist; create it first", redact(raw), u.Path)
		}
		return FileBucket(u.Path, key)
	}
	var b *blob.Bucket
	var err error
	p := providerForScheme(u.Scheme)
	if p != nil {
		// Through this package's openers: the clients are its own (CAs,
		// bounded retries), and gocloud's gs:// opener prints a warning
		// on standard output when there are no default credentials,
		// which would corrupt -o json.
		b, err = p.openURL(ctx, u, o)
	} else {
		b, err = blob.OpenBucket(ctx, raw)
	}
	if err != nil {
		return nil, fmt.Errorf("opening bucket %q: %w", redact(raw), err)
	}
	return newBucketObject(b, p, redact(raw), key, nil, o), nil
}

func newBucketObject(b *blob.Bucket, p *provider, name, key string, secrets []string, o *openOptions) *bucketObject {
	return &bucketObject{
		shared: &sharedBucket{bucket: b, provider: p, name: name, secrets: secrets, customCA: o.caPEM != nil},
		key:    key,
		owner:  true,
	}
}

// sharedBucket is what an object and its siblings have in common.
type sharedBucket struct {
	bucket *blob.Bucket
	// provider is nil for mem://, which has no versions or preconditions
	// of its own.
	provider *provider
	name     string
	// secrets are credential values that must never appear in an error.
	secrets []string
	// customCA is set when a bucket CA file is trusted.
	customCA bool
	// mu serialises conditional writes where the provider has no
	// precondition of its own (mem://, which lives in this process).
	mu sync.Mutex
}

type bucketObject struct {
	shared *sharedBucket
	key    string
	owner  bool
}

func (o *bucketObject) URL() string {
	return strings.TrimSuffix(stripQuery(o.shared.name), "/") + "/" + o.key
}

func (o *bucketObject) Read(ctx context.Context) ([]byte, Version, error) {
	data, v, err := o.read(ctx)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, Version{}, fmt.Errorf("reading %q: %w", o.URL(), ErrNotFound)
	}
	if err != nil {
		return nil, Version{}, fmt.Errorf("reading %q: %w%s", o.URL(), o.scrub(err), o.hint(err))
	}
	return data, v, nil
}

func (o *bucketObject) read(ctx context.Context) ([]byte, Version, error) {
	// A read racing a write can be torn on some S3-compatible servers: the
	// body of one version with the checksum or ETag of another. Such a read
	// is retried; two identical reads in a row are accepted.
	var prev []byte
	var prevV Version
	for attempt := 0; ; attempt++ {
		data, v, err := o.readOnce(ctx)
		torn := err != nil && strings.Contains(err.Error(), "checksum did not match")
		if err == nil && o.shared.provider != nil && o.shared.provider.checkRead != nil && !o.shared.provider.checkRead(v.token, data) {
			same := prev != nil && prevV == v && bytes.Equal(prev, data)
			torn = !same
			prev, prevV = data, v
		}
		if !torn || attempt >= 10 {
			return data, v, err
		}
		// Let the racing write finish before reading again.
		select {
		case <-ctx.Done():
			return nil, Version{}, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
		}
	}
}

func (o *bucketObject) readOnce(ctx context.Context) ([]byte, Version, error) {
	r, err := o.shared.bucket.NewReader(ctx, o.key, nil)
	if err != nil {
		return nil, Version{}, err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, Version{}, err
	}
	// The version comes from the same response as the content, so it
	// names exactly the bytes read.
	p := o.shared.provider
	if p == nil {
		return data, hashVersion(data), nil
	}
	token := p.version(r)
	if token == "" {
		return nil, Version{}, fmt.Errorf("the %s server returned no version (ETag or generation) for the object; conditional writes need one", p.scheme)
	}
	return data, Version{token: token}, nil
}

func (o *bucketObject) Write(ctx context.Context, data []byte, ifVersion Version) error {
	err := o.write(ctx, data, ifVersion)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrConflict) || isConflict(err) {
		return fmt.Errorf("writing %q: %w", o.URL(), ErrConflict)
	}
	return fmt.Errorf("writing %q: %w%s", o.URL(), o.scrub(err), o.hint(err))
}

// accessHint says what to check when the provider refused the credentials.
func accessHint(err error) string {
	msg := err.Error()
	if gcerrors.Code(err) == gcerrors.PermissionDenied || strings.Contains(msg, "StatusCode: 403") ||
		strings.Contains(msg, "RESPONSE 403") || strings.Contains(msg, ": 401 ") || strings.Contains(msg, "Error 403") {
		return "; check the bucket credentials (the objectstore component's keys or the provider's environment) and that they may read and write this object"
	}
	return ""
}

// hint says what to do about a refused or untrusted connection.
func (o *bucketObject) hint(err error) string {
	return accessHint(err) + tlsHint(err, o.shared.customCA)
}

func (o *bucketObject) write(ctx context.Context, data []byte, ifVersion Version) error {
	opts := &blob.WriterOptions{ContentType: contentType(o.key)}
	if !ifVersion.any {
		switch p := o.shared.provider; {
		case p != nil:
			opts.BeforeWrite = func(as func(any) bool) error { return p.precondition(as, ifVersion) }
		default:
			o.shared.mu.Lock()
			defer o.shared.mu.Unlock()
			_, cur, err := o.read(ctx)
			if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return err
			}
			if cur != ifVersion {
				return ErrConflict
			}
		}
	}
	// Upload hands the whole body to the driver in one call, which keeps
	// the Azure driver off its pipe path (that path panics when a
	// conditional upload is refused).
	return o.shared.bucket.Upload(ctx, o.key, bytes.NewReader(data), opts)
}

// isConflict recognises a failed precondition in each provider's terms.
func isConflict(err error) bool {
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return true
	}
	for _, p := range providers {
		if p.isConflict(err) {
			return true
		}
	}
	return false
}

func (o *bucketObject) objectKey() string { return o.key }

func (o *bucketObject) Sibling(key string) Object {
	return &bucketObject{shared: o.shared, key: key}
}

func (o *bucketObject) Close() error {
	if !o.owner {
		return nil
	}
	return o.shared.bucket.Close()
}

// scrub replaces every credential value in err's message. Provider errors
// sometimes echo what they were given.
func (o *bucketObject) scrub(err error) error {
	return scrubSecrets(err, o.shared.secrets)
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
