package store

import (
	"net/http"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/capool"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
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

// failFast passes requests to an HTTP client and marks a certificate from
// an unknown CA, a refused connection and a name that does not resolve as
// not worth retrying, for the AWS and Azure SDKs: they will not change,
// and their retries only delay the error.
type failFast struct {
	c interface {
		Do(*http.Request) (*http.Response, error)
	}
}

func (f failFast) Do(r *http.Request) (*http.Response, error) {
	resp, err := f.c.Do(r)
	if err != nil && (capool.Untrusted(err) || unchanging(err)) {
		return resp, finalError{err}
	}
	return resp, err
}

type finalError struct{ error }

func (e finalError) Unwrap() error { return e.error }

// NonRetriable tells azcore's retry policy not to retry.
func (finalError) NonRetriable() {}

// RetryableError tells the AWS SDK's retryer not to retry.
func (finalError) RetryableError() bool { return false }

// tlsHint explains a certificate from an unknown CA.
func tlsHint(err error, customCA bool) string {
	if !capool.Untrusted(err) {
		return ""
	}
	if customCA {
		return "; the server's certificate is signed neither by a CA in " + setting.BucketCAFile.String() + " nor by one this machine trusts: give the CA that signed it"
	}
	return capool.Hint(err, setting.BucketCAFile.String())
}
