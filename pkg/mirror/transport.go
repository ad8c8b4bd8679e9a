package mirror

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/capool"
)

type retryPolicy struct {
	attempts int
	initial  time.Duration
	max      time.Duration
}

var defaultRetryPolicy = retryPolicy{attempts: 6, initial: 500 * time.Millisecond, max: 30 * time.Second}

// refusedAttempts is how often a refused connection is tried in all: once
// more covers a registry restarting behind its load balancer, while a
// registry that is not there at all costs one backoff, not the whole
// policy's.
const refusedAttempts = 2

// retryableStatus are the answers worth asking again: timeouts, throttling
// and server or gateway failures.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableError is a dropped or refused connection, not a cancelled
// context or a TLS or DNS misconfiguration. A refused connection is
// retried only once (see refusedAttempts).
func retryableError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// restartable is go-containerregistry's retry predicate for the whole
// operations it restarts (a blob upload): a dropped connection, not one
// that was refused (retryTransport has retried that already) or that no
// retry changes.
func restartable(err error) bool {
	return retryableError(err) && !errors.Is(err, syscall.ECONNREFUSED) && !unchanging(err)
}

// retryTransport retries requests that failed with a retryable status or a
// dropped connection, waiting as Retry-After says or with a jittered
// exponential backoff. A request whose body cannot be replayed (a streamed
// blob upload) is sent once; when its answer carries Retry-After the wait
// happens here before the answer is returned, so the caller's own retry of
// the whole upload starts no earlier than the registry asked.
type retryTransport struct {
	inner  http.RoundTripper
	policy retryPolicy
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r = req.Clone(req.Context())
			r.Body = body
		}
		resp, err := t.inner.RoundTrip(r)
		retry := retryableError(err) || (err == nil && retryableStatus(resp.StatusCode))
		if !retry || attempt >= t.policy.attempts || (errors.Is(err, syscall.ECONNREFUSED) && attempt >= refusedAttempts) {
			return resp, err
		}
		wait, fromHeader := t.backoff(attempt, resp)
		if !replayable {
			if fromHeader {
				_ = sleep(req.Context(), wait)
			}
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
		}
		if err := sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// backoff is Retry-After when the answer has one (seconds or an HTTP date,
// capped at the policy's maximum), else initial*2^(attempt-1) with ±20%
// jitter, capped.
func (t *retryTransport) backoff(attempt int, resp *http.Response) (time.Duration, bool) {
	if resp != nil {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return min(d, t.policy.max), true
		}
	}
	d := t.policy.initial << (attempt - 1)
	if d <= 0 || d > t.policy.max {
		d = t.policy.max
	}
	jitter := 0.8 + 0.4*rand.Float64() //nolint:gosec // jitter needs no cryptographic randomness
	return time.Duration(float64(d) * jitter), false
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// baseTransport is http.DefaultTransport's settings with enough idle
// connections per host for the concurrency and the extra CA files trusted.
func baseTransport(o *options) (http.RoundTripper, error) {
	if o.transport != nil {
		if len(o.caPEMs) > 0 {
			return nil, errors.New("a custom transport cannot be combined with a registry CA file")
		}
		return o.transport, nil
	}
	t := remote.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, 4*o.concurrency)
	t.MaxIdleConns = max(t.MaxIdleConns, 8*o.concurrency)
	if len(o.caPEMs) > 0 {
		t.TLSClientConfig = capool.Config(nil, o.caPEMs...)
	}
	if len(o.insecure) == 0 {
		return t, nil
	}
	// Like docker's insecure-registries: those hosts are spoken to over
	// HTTPS without certificate checks, or over plain HTTP.
	lax := t.Clone()
	lax.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // only for hosts named by --insecure-registry
	return &perHostTLS{strict: t, lax: lax, hosts: o.insecure}, nil
}

// perHostTLS skips certificate checks for the hosts named insecure.
type perHostTLS struct {
	strict, lax http.RoundTripper
	hosts       map[string]bool
}

func (p *perHostTLS) RoundTrip(r *http.Request) (*http.Response, error) {
	if p.hosts[r.URL.Host] {
		return p.lax.RoundTrip(r)
	}
	return p.strict.RoundTrip(r)
}
