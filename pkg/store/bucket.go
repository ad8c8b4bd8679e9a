package store

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // S3 ETags are MD5 sums; used to detect torn reads
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/googleapis/gax-go/v2"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob:// buckets
	_ "gocloud.dev/blob/gcsblob"   // gs:// buckets
	_ "gocloud.dev/blob/memblob"   // mem:// buckets
	_ "gocloud.dev/blob/s3blob"    // s3:// buckets
	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"
)

// provider says how a bucket expresses a conditional write.
type provider string

const (
	providerS3    provider = "s3"
	providerGCS   provider = "gs"
	providerAzure provider = "azblob"
	providerMem   provider = "mem"
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
	switch u.Scheme {
	case "s3", "gs", "azblob":
		// Through this package's openers: the clients are its own (CAs,
		// bounded retries), and gocloud's gs:// opener prints a warning
		// on standard output when there are no default credentials,
		// which would corrupt -o json.
		b, err = openCloudURL(ctx, u, o)
	default:
		b, err = blob.OpenBucket(ctx, raw)
	}
	if err != nil {
		return nil, fmt.Errorf("opening bucket %q: %w", redact(raw), err)
	}
	if u.Scheme == "gs" {
		boundGCSRetries(b)
	}
	return newBucketObject(b, provider(u.Scheme), redact(raw), key, nil, o), nil
}

// boundGCSRetries limits the GCS client's retries of a failing request
// (by default it retries until the context ends).
func boundGCSRetries(b *blob.Bucket) {
	var c *storage.Client
	if b.As(&c) {
		c.SetRetry(storage.WithMaxAttempts(4), storage.WithBackoff(gax.Backoff{Initial: 200 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2}))
	}
}

func newBucketObject(b *blob.Bucket, p provider, name, key string, secrets []string, o *openOptions) *bucketObject {
	return &bucketObject{
		shared: &sharedBucket{bucket: b, provider: p, name: name, secrets: secrets, customCA: o.caPEM != nil},
		key:    key,
		owner:  true,
	}
}

// sharedBucket is what an object and its siblings have in common.
type sharedBucket struct {
	bucket   *blob.Bucket
	provider provider
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
		if err == nil && o.shared.provider == providerS3 && !etagMatches(v.token, data) {
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

// etagMatches reports whether an S3 ETag is the MD5 of data, as it is for
// a single-part upload without KMS encryption; other ETags count as a match.
func etagMatches(etag string, data []byte) bool {
	tag := strings.Trim(etag, `"`)
	if len(tag) != 32 {
		return true
	}
	sum := md5.Sum(data) //nolint:gosec // S3 ETags are MD5; used to detect a torn read, not for security
	return strings.EqualFold(tag, hex.EncodeToString(sum[:]))
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
	var token string
	switch o.shared.provider {
	case providerS3:
		var out s3.GetObjectOutput
		if r.As(&out) {
			token = aws.ToString(out.ETag)
		}
	case providerGCS:
		var sr *storage.Reader
		if r.As(&sr) && sr.Attrs.Generation != 0 {
			token = strconv.FormatInt(sr.Attrs.Generation, 10)
		}
	case providerAzure:
		var resp azblobblob.DownloadStreamResponse
		if r.As(&resp) && resp.ETag != nil {
			token = string(*resp.ETag)
		}
	default:
		return data, hashVersion(data), nil
	}
	if token == "" {
		return nil, Version{}, fmt.Errorf("the %s server returned no version (ETag or generation) for the object; conditional writes need one", o.shared.provider)
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
		switch o.shared.provider {
		case providerS3, providerGCS, providerAzure:
			opts.BeforeWrite = func(as func(any) bool) error { return precondition(o.shared.provider, as, ifVersion) }
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

// precondition makes the provider's upload request conditional on v.
func precondition(p provider, as func(any) bool, v Version) error {
	switch p {
	case providerS3:
		var in *transfermanager.UploadObjectInput
		if !as(&in) {
			return errors.New("s3: cannot reach the upload request to make it conditional")
		}
		if v.Absent() {
			in.IfNoneMatch = aws.String("*")
		} else {
			in.IfMatch = aws.String(v.token)
		}
	case providerGCS:
		// The driver hands out a pointer to its handle so that the handle
		// returned by If replaces it before the writer is created.
		var ohp **storage.ObjectHandle
		if !as(&ohp) {
			return errors.New("gcs: cannot reach the object handle to make the upload conditional")
		}
		if v.Absent() {
			*ohp = (*ohp).If(storage.Conditions{DoesNotExist: true})
		} else {
			gen, err := strconv.ParseInt(v.token, 10, 64)
			if err != nil {
				return fmt.Errorf("gcs: version %q is not a generation", v.token)
			}
			*ohp = (*ohp).If(storage.Conditions{GenerationMatch: gen})
		}
	case providerAzure:
		var uo *azblob.UploadStreamOptions
		if !as(&uo) {
			return errors.New("azure: cannot reach the upload options to make them conditional")
		}
		ac := &azblobblob.ModifiedAccessConditions{}
		if v.Absent() {
			ac.IfNoneMatch = to.Ptr(azcore.ETagAny)
		} else {
			ac.IfMatch = to.Ptr(azcore.ETag(v.token))
		}
		if uo.AccessConditions == nil {
			uo.AccessConditions = &azblobblob.AccessConditions{}
		}
		uo.AccessConditions.ModifiedAccessConditions = ac
	}
	return nil
}

// isConflict recognises a failed precondition in each provider's terms.
func isConflict(err error) bool {
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Code == 412 {
		return true
	}
	return bloberror.HasCode(err, bloberror.ConditionNotMet, bloberror.BlobAlreadyExists)
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
