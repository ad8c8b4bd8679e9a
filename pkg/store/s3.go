package store

import (
	"context"
	"crypto/md5" //nolint:gosec // S3 ETags are MD5 sums; used to detect torn reads
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	gcaws "gocloud.dev/aws"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/capool"
)

// s3Provider is Amazon S3 and S3-compatible servers; versions are ETags.
var s3Provider = &provider{
	scheme:         "s3",
	componentTypes: []string{"bindings.aws.s3", "bindings.s3"},
	openComponent:  openS3,
	openURL:        openS3URL,
	version: func(r *blob.Reader) string {
		var out s3.GetObjectOutput
		if r.As(&out) {
			return aws.ToString(out.ETag)
		}
		return ""
	},
	checkRead:    etagMatches,
	precondition: s3Precondition,
	isConflict: func(err error) bool {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			switch ae.ErrorCode() {
			case "PreconditionFailed", "ConditionalRequestConflict":
				return true
			}
		}
		return false
	},
}

func openS3(ctx context.Context, s *settings, o *openOptions) (*blob.Bucket, string, error) {
	bucket, err := s.need("bucket", "bucket")
	if err != nil {
		return nil, "", err
	}
	pathStyle, err := s.bool("forcePathStyle")
	if err != nil {
		return nil, "", err
	}
	noSSL, err := s.bool("disableSSL")
	if err != nil {
		return nil, "", err
	}
	insecure, err := s.bool("insecureSSL")
	if err != nil {
		return nil, "", err
	}
	endpoint := s.get("endpoint")
	if endpoint != "" && !strings.Contains(endpoint, "://") {
		scheme := "https://"
		if noSSL {
			scheme = "http://"
		}
		endpoint = scheme + endpoint
	}
	region := s.get("region")
	if region == "" && endpoint != "" {
		region = "us-east-1" // S3-compatible servers accept any region
	}
	opts := []func(*config.LoadOptions) error{}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if ak := s.get("accessKey"); ak != "" {
		sk, err := s.need("secret key for accessKey", "secretKey")
		if err != nil {
			return nil, "", err
		}
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(ak, sk, s.get("sessionToken"))))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("objectstore component %q: loading AWS configuration: %w", s.component, err)
	}
	cfg.HTTPClient = o.awsHTTPClient(cfg.HTTPClient, insecure)
	if cfg.Region == "" {
		return nil, "", fmt.Errorf("objectstore component %q: no AWS region; set metadata \"region\"", s.component)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = pathStyle
	})
	b, err := s3blob.OpenBucket(ctx, client, bucket, nil)
	if err != nil {
		return nil, "", fmt.Errorf("objectstore component %q: opening S3 bucket %q: %w", s.component, bucket, err)
	}
	name := "s3://" + bucket
	if endpoint != "" {
		name += "?endpoint=" + url.QueryEscape(endpoint)
	}
	return b, name, nil
}

// openS3URL follows s3blob's URL opener: its own parameters first, the
// rest (region, endpoint, profile, …) through gocloud's AWS configuration.
func openS3URL(ctx context.Context, u *url.URL, o *openOptions) (*blob.Bucket, error) {
	q := u.Query()
	var bopts s3blob.Options
	var sopts []func(*s3.Options)
	boolParam := func(name string) (bool, bool, error) {
		v := q.Get(name)
		if v == "" {
			return false, false, nil
		}
		q.Del(name)
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, false, fmt.Errorf("invalid value %q for %q: %w", v, name, err)
		}
		return b, true, nil
	}
	if v := q.Get("ssetype"); v != "" {
		q.Del("ssetype")
		var found bool
		for _, t := range types.ServerSideEncryptionAes256.Values() {
			if strings.EqualFold(string(t), v) {
				bopts.EncryptionType, found = t, true
			}
		}
		if !found {
			return nil, fmt.Errorf("%q is not a valid value for %q", v, "ssetype")
		}
	}
	if v := q.Get("kmskeyid"); v != "" {
		q.Del("kmskeyid")
		bopts.KMSEncryptionID = v
	}
	accelerate, _, err := boolParam("accelerate")
	if err != nil {
		return nil, err
	}
	sopts = append(sopts, func(so *s3.Options) { so.UseAccelerate = accelerate })
	if v, set, err := boolParam("disable_https"); err != nil {
		return nil, err
	} else if set {
		sopts = append(sopts, func(so *s3.Options) { so.EndpointOptions.DisableHTTPS = v })
	}
	for _, name := range []string{"use_path_style", "s3ForcePathStyle"} {
		if v, set, err := boolParam(name); err != nil {
			return nil, err
		} else if set {
			sopts = append(sopts, func(so *s3.Options) { so.UsePathStyle = v })
		}
	}
	cfg, err := gcaws.V2ConfigFromURLParams(ctx, q)
	if err != nil {
		return nil, err
	}
	cfg.HTTPClient = o.awsHTTPClient(cfg.HTTPClient, false)
	bopts.RequestChecksumCalculation = cfg.RequestChecksumCalculation
	return s3blob.OpenBucket(ctx, s3.NewFromConfig(cfg, sopts...), u.Host, &bopts)
}

// awsHTTPClient returns the AWS SDK's client c trusting the extra CAs (on
// top of those of AWS_CA_BUNDLE), or skipping certificate checks when the
// component asks for it (insecureSSL).
func (o *openOptions) awsHTTPClient(c aws.HTTPClient, insecure bool) aws.HTTPClient {
	if c == nil {
		c = awshttp.NewBuildableClient() // the SDK's default
	}
	if o.caPEM == nil && !insecure {
		return failFast{c}
	}
	bc, ok := c.(*awshttp.BuildableClient)
	if !ok || bc == nil {
		bc = awshttp.NewBuildableClient()
	}
	return failFast{bc.WithTransportOptions(func(t *http.Transport) {
		switch {
		case insecure:
			if t.TLSClientConfig == nil {
				t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			t.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // the component asks for it (insecureSSL)
		default:
			t.TLSClientConfig = capool.Config(t.TLSClientConfig, o.caPEM)
		}
	})}
}

func s3Precondition(as func(any) bool, v Version) error {
	var in *transfermanager.UploadObjectInput
	if !as(&in) {
		return errors.New("s3: cannot reach the upload request to make it conditional")
	}
	if v.Absent() {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(v.token)
	}
	return nil
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
