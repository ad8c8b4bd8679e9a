package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	gcaws "gocloud.dev/aws"
	"gocloud.dev/blob"
	"gocloud.dev/blob/azureblob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcp"
	"google.golang.org/api/option"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/capool"
)

// Option changes how a bucket is reached.
type Option func(*openOptions) error

type openOptions struct {
	// caPEM holds CA certificates trusted besides the system's (or the
	// provider's own configuration, such as AWS_CA_BUNDLE).
	caPEM []byte
}

// WithCAFile trusts the PEM certificates in file, besides the system's,
// for the bucket's TLS connections: an S3-compatible server with a private
// CA, or a TLS-inspecting proxy in front of a cloud provider. An empty
// file name changes nothing.
func WithCAFile(file string) Option {
	return func(o *openOptions) error {
		if file == "" {
			return nil
		}
		b, err := capool.Read("bucket CA file", file)
		if err != nil {
			return err
		}
		o.caPEM = b
		return nil
	}
}

func applyOptions(opts []Option) (*openOptions, error) {
	o := &openOptions{}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// transport is http.DefaultTransport, or a clone of it trusting the extra
// CAs.
func (o *openOptions) transport() http.RoundTripper {
	if o.caPEM == nil {
		return http.DefaultTransport
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = capool.Config(t.TLSClientConfig, o.caPEM)
	return t
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

// azureClientOptions bound the SDK's retries of a failing request to a few
// seconds (its default waits up to minutes) and trust the extra CAs.
func (o *openOptions) azureClientOptions() *container.ClientOptions {
	opts := azureRetryOptions()
	opts.Transport = failFast{&http.Client{Transport: o.transport()}}
	return opts
}

// failFast passes requests to an HTTP client and marks a certificate from
// an unknown CA as not worth retrying, for the AWS and Azure SDKs: it will
// not change, and their retries only delay the error.
type failFast struct {
	c interface {
		Do(*http.Request) (*http.Response, error)
	}
}

func (f failFast) Do(r *http.Request) (*http.Response, error) {
	resp, err := f.c.Do(r)
	if err != nil && capool.Untrusted(err) {
		return resp, untrustedError{err}
	}
	return resp, err
}

type untrustedError struct{ error }

func (e untrustedError) Unwrap() error { return e.error }

// NonRetriable tells azcore's retry policy not to retry.
func (untrustedError) NonRetriable() {}

// RetryableError tells the AWS SDK's retryer not to retry.
func (untrustedError) RetryableError() bool { return false }

// tlsHint explains a certificate from an unknown CA.
func tlsHint(err error, customCA bool) string {
	if !capool.Untrusted(err) {
		return ""
	}
	if customCA {
		return "; the server's certificate is signed neither by a CA in --bucket-ca-file nor by one this machine trusts: give the CA that signed it"
	}
	return capool.Hint(err, "--bucket-ca-file")
}

// openCloudURL opens an s3://, gs:// or azblob:// URL as gocloud.dev's URL
// openers do, but with HTTP clients of this package's making (the default
// openers take none): they trust the extra CAs, bound their retries and
// do not retry an untrusted certificate.
func openCloudURL(ctx context.Context, u *url.URL, o *openOptions) (*blob.Bucket, error) {
	switch u.Scheme {
	case "s3":
		return openS3URL(ctx, u, o)
	case "gs":
		return openGCSURL(ctx, u, o)
	case "azblob":
		return openAzureURL(ctx, u, o)
	}
	return blob.OpenBucket(ctx, u.String())
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

// openGCSURL follows gcsblob's URL opener: application default
// credentials, or none for STORAGE_EMULATOR_HOST, anonymous=true and
// access_id=-.
func openGCSURL(ctx context.Context, u *url.URL, o *openOptions) (*blob.Bucket, error) {
	q := u.Query()
	anon, _ := strconv.ParseBool(q.Get("anonymous"))
	anon = anon || q.Get("access_id") == "-" || os.Getenv("STORAGE_EMULATOR_HOST") != ""
	var client *gcp.HTTPClient
	if anon {
		client = gcp.NewAnonymousHTTPClient(o.transport())
	} else {
		creds, err := gcp.DefaultCredentials(ctx)
		if err != nil {
			return nil, fmt.Errorf("no application default credentials: %w; configure them, or use --objectstore-component with the service-account key", err)
		}
		if client, err = gcp.NewHTTPClient(o.transport(), gcp.CredentialsTokenSource(creds)); err != nil {
			return nil, err
		}
	}
	// The client option comes last and so replaces the one the opener
	// would pick (it uses http.DefaultClient for an emulator).
	opener := &gcsblob.URLOpener{Client: client, Options: gcsblob.Options{
		ClientOptions: []option.ClientOption{option.WithHTTPClient(&client.Client)},
	}}
	return opener.OpenBucketURL(ctx, u)
}

// openAzureURL follows azureblob's URL opener: the service URL and
// credentials from AZURE_STORAGE_* variables, or Azure's default
// credentials.
func openAzureURL(ctx context.Context, u *url.URL, o *openOptions) (*blob.Bucket, error) {
	sas := os.Getenv("AZURE_STORAGE_SAS_TOKEN")
	if sas != "" {
		for _, p := range []string{"domain", "protocol", "cdn", "localemu", "storage_account"} {
			if u.Query().Has(p) {
				return nil, fmt.Errorf("parameter %q cannot change the service endpoint when AZURE_STORAGE_SAS_TOKEN is set", p)
			}
		}
	}
	opener := &azureblob.URLOpener{
		ServiceURLOptions: *azureblob.NewDefaultServiceURLOptions(),
		MakeClient: func(svcURL azureblob.ServiceURL, name azureblob.ContainerName) (*container.Client, error) {
			containerURL, err := url.JoinPath(string(svcURL), string(name))
			if err != nil {
				return nil, err
			}
			opts := o.azureClientOptions()
			account, key := os.Getenv("AZURE_STORAGE_ACCOUNT"), os.Getenv("AZURE_STORAGE_KEY")
			conn := os.Getenv("AZURE_STORAGE_CONNECTION_STRING")
			if conn == "" {
				conn = os.Getenv("AZURE_STORAGEBLOB_CONNECTIONSTRING")
			}
			switch {
			case account != "" && key != "":
				cred, err := container.NewSharedKeyCredential(account, key)
				if err != nil {
					return nil, errors.New("AZURE_STORAGE_KEY is not a valid account key")
				}
				return container.NewClientWithSharedKeyCredential(containerURL, cred, opts)
			case sas != "":
				return container.NewClientWithNoCredential(containerURL, opts)
			case conn != "":
				return container.NewClientFromConnectionString(conn, string(name), opts)
			}
			var cred azcore.TokenCredential
			cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts.ClientOptions})
			if err != nil {
				return nil, err
			}
			return container.NewClient(containerURL, cred, opts)
		},
	}
	return opener.OpenBucketURL(ctx, u)
}
