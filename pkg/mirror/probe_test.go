package mirror

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testnet"

	"github.com/google/go-containerregistry/pkg/registry"
)

func host(srv *httptest.Server) string {
	return strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://")
}

// TestProbe: one probe per registry host, all at once, each failing with
// one error naming the host, its role and what to check; any HTTP answer,
// 401 included, is reachable.
func TestProbe(t *testing.T) {
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	challenge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer challenge.Close()
	tlsSrv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	closed, closed2, quiet := testnet.ClosedPort(t), testnet.ClosedPort(t), testnet.Silent(t)

	tests := []struct {
		name         string
		opts         []Option
		sources      []string
		destinations []string
		want         []string // one substring list per error line, in order
	}{
		{name: "all reachable", sources: []string{host(reg) + "/atlanhq/a:1"}, destinations: []string{host(challenge) + "/atlan/a:1"}},
		{name: "closed destination", sources: []string{host(reg) + "/atlanhq/a:1", host(reg) + "/atlanhq/b:1"},
			destinations: []string{closed + "/atlan/a:1", closed + "/atlan/b:1", closed + "/atlan"},
			want:         []string{`destination registry "` + closed + `" is unreachable (connection refused): check the host and port, and a firewall or proxy on the way (HTTPS_PROXY, and NO_PROXY`}},
		{name: "closed source", sources: []string{closed + "/atlanhq/a:1"}, destinations: []string{host(reg) + "/atlan/a:1"},
			want: []string{`source registry "` + closed + `" is unreachable (connection refused): check the host and port, and a firewall or proxy on the way (HTTPS_PROXY, and NO_PROXY for hosts reached directly); where this network reaches ` + closed + ` only through a mirror, pass --registry-mirror ` + closed + `=MIRRORHOST`}},
		{name: "same host both sides", sources: []string{closed + "/atlanhq/a:1"}, destinations: []string{closed + "/atlan/a:1"},
			want: []string{`source and destination registry "` + closed + `" is unreachable`}},
		{name: "closed mirror", opts: []Option{WithMirrors(map[string]string{"docker.io": closed})},
			sources: []string{"docker.io/atlanhq/a:1", "atlanhq/b:2"}, destinations: []string{host(reg) + "/atlan/a:1"},
			want: []string{`registry mirror "` + closed + `" (for index.docker.io) is unreachable (connection refused)`}},
		{name: "two hosts, one line each in host order", sources: []string{closed2 + "/atlanhq/a:1"}, destinations: []string{closed + "/atlan/a:1"},
			want: sortedPair(closed, closed2)},
		{name: "silent", opts: []Option{WithProbeTimeout(300 * time.Millisecond)}, destinations: []string{quiet + "/atlan/a:1"},
			want: []string{`destination registry "` + quiet + `" is unreachable (no answer within 300ms): check a firewall or proxy`}},
		{name: "unknown CA", destinations: []string{host(tlsSrv) + "/atlan/a:1"},
			want: []string{`destination registry "` + host(tlsSrv) + `" is unreachable (TLS certificate signed by an unknown authority): pass the CA's PEM file with --registry-ca-file, or --insecure-registry ` + host(tlsSrv)}},
		{name: "unknown CA trusted", opts: []Option{WithCAFile(ca)}, destinations: []string{host(tlsSrv) + "/atlan/a:1"}},
		{name: "unknown CA insecure", opts: []Option{WithInsecure(host(tlsSrv))}, destinations: []string{host(tlsSrv) + "/atlan/a:1"}},
		{name: "no such host", destinations: []string{"registry.invalid/atlan/a:1"},
			want: []string{`destination registry "registry.invalid" is unreachable`}},
		{name: "unparsable references are left to the work", sources: []string{"UPPER/Case:1"}, destinations: []string{"a b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = c.Probe(context.Background(), tc.sources, tc.destinations)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Probe took %s, want a bounded few seconds", d)
			}
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Probe = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Probe = nil, want %q", tc.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("Probe gave %d lines, want %d:\n%s", len(lines), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("Probe line %d = %q, want it to contain %q", i+1, lines[i], w)
				}
			}
			var ue *UnreachableError
			if !errors.As(err, &ue) {
				t.Errorf("Probe error %T is no *UnreachableError", err)
			}
		})
	}
}

func sortedPair(a, b string) []string {
	if b < a {
		a, b = b, a
	}
	return []string{`registry "` + a + `" is unreachable (connection refused)`, `registry "` + b + `" is unreachable (connection refused)`}
}

// TestProbeCancelled returns the context's error, not a line per host.
func TestProbeCancelled(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Probe(ctx, nil, []string{testnet.Silent(t) + "/atlan/a:1"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Probe with a cancelled context = %v, want context.Canceled", err)
	}
}

// countingTransport fails every request with err and counts them.
type countingTransport struct {
	err   error
	calls int
}

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.calls++
	return nil, c.err
}

// TestRetryUnchanging: a refused connection is tried once more, an
// unresolvable name or an untrusted certificate once; a reset connection
// the whole policy.
func TestRetryUnchanging(t *testing.T) {
	policy := retryPolicy{attempts: 6, initial: time.Millisecond, max: 2 * time.Millisecond}
	opErr := func(errno error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
	}
	tests := []struct {
		name        string
		err         error
		calls       int
		restartable bool
	}{
		{"connection refused", opErr(syscall.ECONNREFUSED), 2, false},
		{"no such host", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "registry.invalid", IsNotFound: true}}, 1, false},
		{"unknown CA", &tls509{x509.UnknownAuthorityError{}}, 1, false},
		{"connection reset", opErr(syscall.ECONNRESET), 6, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, 6, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inner := &countingTransport{err: tc.err}
			rt := &retryTransport{inner: inner, policy: policy}
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://registry.example/v2/", nil)
			if _, err := rt.RoundTrip(req); err == nil { //nolint:bodyclose // there is no response
				t.Fatal("RoundTrip = nil error")
			}
			if inner.calls != tc.calls {
				t.Errorf("RoundTrip sent %d requests, want %d", inner.calls, tc.calls)
			}
			if got := restartable(tc.err); got != tc.restartable {
				t.Errorf("restartable(%v) = %v, want %v", tc.err, got, tc.restartable)
			}
		})
	}
}

// tls509 is a certificate error as crypto/tls wraps it.
type tls509 struct{ err error }

func (e *tls509) Error() string { return "tls: failed to verify certificate: " + e.err.Error() }
func (e *tls509) Unwrap() error { return e.err }
