package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"gocloud.dev/gcerrors"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/capool"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// DefaultProbeTimeout bounds the bucket's reachability probe.
const DefaultProbeTimeout = 5 * time.Second

// UnreachableError is a bucket whose service did not answer, or that
// cannot be used with the credentials at hand (Credentials).
type UnreachableError struct {
	// URL names the object, without credentials; Host is the endpoint
	// that did not answer, when the error names it.
	URL, Host string
	// Cause says in a few words what went wrong; Check what the operator
	// should look at.
	Cause, Check string
	Credentials  bool
	Err          error
}

func (e *UnreachableError) Error() string {
	if e.Credentials {
		return fmt.Sprintf("cannot use the bucket of %q (%s): %s", e.URL, e.Cause, e.Check)
	}
	at := ""
	if e.Host != "" {
		at = fmt.Sprintf(" at %s", e.Host)
	}
	return fmt.Sprintf("cannot reach the bucket of %q%s (%s): %s", e.URL, at, e.Cause, e.Check)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Probe checks that the bucket holding obj answers and accepts the
// credentials: one attributes request for the object, bounded by timeout
// (DefaultProbeTimeout when zero). An object that does not exist yet is
// fine. Files on this machine and mem:// need no probe. A failure is an
// *UnreachableError saying what to check.
func Probe(ctx context.Context, obj Object, timeout time.Duration) error {
	b, ok := obj.(*bucketObject)
	if !ok || b.shared.provider == nil {
		return nil
	}
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := b.shared.bucket.Attributes(pctx, b.key)
	if err == nil || gcerrors.Code(err) == gcerrors.NotFound {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	u := &UnreachableError{URL: b.URL(), Host: endpointHost(err), Err: b.scrub(err)}
	switch {
	case noCredentials(err):
		u.Credentials, u.Cause = true, "no credentials found"
		u.Check = "give the bucket credentials: the objectstore component's keys, or the provider's environment (such as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AZURE_STORAGE_KEY, GOOGLE_APPLICATION_CREDENTIALS)"
	case accessHint(err) != "":
		u.Credentials, u.Cause = true, "it refused the credentials"
		u.Check = "check the bucket credentials (the objectstore component's keys or the provider's environment) and that they may read this object"
	case !network(err) && !errors.Is(err, context.DeadlineExceeded):
		// It answered: the read that follows reports what it said.
		return nil
	default:
		u.Cause, u.Check = diagnose(err, b.shared.customCA, timeout)
	}
	return u
}

// noCredentials reports whether the provider's SDK found no credentials to
// sign the request with, before anything was sent.
func noCredentials(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "get credentials") || strings.Contains(msg, "failed to retrieve credentials") ||
		strings.Contains(msg, "could not find default credentials") || strings.Contains(msg, "DefaultAzureCredential")
}

// network reports whether err is a connection that could not be made or
// kept, as opposed to an answer from the service.
func network(err error) bool {
	var ue *url.Error
	var oe *net.OpError
	var dns *net.DNSError
	return errors.As(err, &ue) || errors.As(err, &oe) || errors.As(err, &dns) || capool.Untrusted(err)
}

// endpointHost is the host a failed request went to, from the URL the
// HTTP client names in its error.
func endpointHost(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			return u.Host
		}
	}
	return ""
}

// diagnose names why a connection to the bucket's service failed, in a
// few words, and what to check.
func diagnose(err error, customCA bool, timeout time.Duration) (cause, check string) {
	const proxy = "a firewall or proxy on the way (HTTPS_PROXY, and NO_PROXY for hosts reached directly)"
	var dns *net.DNSError
	switch {
	case capool.Untrusted(err):
		if customCA {
			return "TLS certificate signed by an unknown authority", fmt.Sprintf("the CA in %s did not sign it: give the CA that did", setting.BucketCAFile)
		}
		return "TLS certificate signed by an unknown authority", fmt.Sprintf("pass the CA's PEM file with %s", setting.BucketCAFile)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "it does not speak HTTPS", "for a plain-HTTP endpoint use http:// in the endpoint (or disableSSL in the objectstore component)"
	case strings.Contains(err.Error(), "proxyconnect"):
		return "the proxy failed", "check HTTPS_PROXY and NO_PROXY"
	case errors.As(err, &dns) && dns.IsNotFound:
		return "no such host", "check the endpoint's host name and this machine's DNS; behind a proxy check HTTPS_PROXY and NO_PROXY"
	case errors.As(err, &dns):
		return "DNS lookup failed", "check this machine's DNS; behind a proxy check HTTPS_PROXY and NO_PROXY"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", "check the endpoint's host and port, and " + proxy
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", timeout), "check " + proxy
	case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
		return "no route to host", "check the network, and " + proxy
	}
	return "connection failed", fmt.Sprintf("check the endpoint, DNS, %s, and a private CA (%s)", proxy, setting.BucketCAFile)
}

// unchanging are connection errors a retry will not change: nothing
// listens, or the name does not resolve. The SDKs' retries only delay them.
func unchanging(err error) bool {
	var dns *net.DNSError
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &dns) && dns.IsNotFound)
}
