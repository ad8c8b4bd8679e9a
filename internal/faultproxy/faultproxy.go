// Package faultproxy puts a misbehaving network in front of a server for
// tests: 5xx answers, 429 with Retry-After, connections reset in the middle
// of a body, slow answers and truncated bodies, chosen at random from a
// seed. It listens on 127.0.0.1 only, injects at most a bounded number of
// faults, and stops with Close.
package faultproxy

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is one kind of misbehaviour.
type Fault string

// The faults.
const (
	Status503 Fault = "503"
	Status429 Fault = "429+Retry-After"
	ResetBody Fault = "reset mid-body"
	Slow      Fault = "slow"
	Truncated Fault = "truncated body"
	noFault   Fault = ""
)

// All lists every fault.
var All = []Fault{Status503, Status429, ResetBody, Slow, Truncated}

// Proxy is a running fault-injecting reverse proxy.
type Proxy struct {
	Addr string // host:port on 127.0.0.1

	srv      *http.Server
	rp       *httputil.ReverseProxy
	mu       sync.Mutex
	rng      *rand.Rand
	rate     float64
	faults   []Fault
	budget   int
	Injected atomic.Int64
	Requests atomic.Int64
	// uploads are the blob uploads the target completed (a PUT to
	// …/blobs/uploads/…?digest=D answered 201), as REPO@D.
	uploads []string
	counts  map[Fault]int
	slowFor time.Duration
}

// Start proxies to target ("127.0.0.1:port"), injecting one of faults into
// a request with probability rate, at most budget times in all.
func Start(target string, seed uint64, rate float64, budget int, faults ...Fault) (*Proxy, error) {
	u, err := url.Parse("http://" + target)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if len(faults) == 0 {
		faults = All
	}
	p := &Proxy{Addr: l.Addr().String(), rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), rate: rate,
		faults: faults, budget: budget, counts: map[Fault]int{}, slowFor: 150 * time.Millisecond}
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.ErrorLog = nil
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// SetRate changes the fault probability (0 turns faults off).
func (p *Proxy) SetRate(rate float64) {
	p.mu.Lock()
	p.rate = rate
	p.mu.Unlock()
}

// Counts reports how many faults of each kind were injected.
func (p *Proxy) Counts() map[Fault]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[Fault]int{}
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// Uploaded counts the blob uploads completed since the last TakeUploads.
func (p *Proxy) Uploaded() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.uploads)
}

// TakeUploads returns the blob uploads completed since the last call, each
// as REPO@DIGEST.
func (p *Proxy) TakeUploads() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.uploads
	p.uploads = nil
	return out
}

// Close stops the proxy.
func (p *Proxy) Close() { _ = p.srv.Close() }

func (p *Proxy) pick() Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.budget <= 0 || p.rng.Float64() >= p.rate {
		return noFault
	}
	p.budget--
	f := p.faults[p.rng.IntN(len(p.faults))]
	p.counts[f]++
	return f
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.Requests.Add(1)
	f := p.pick()
	if f != noFault {
		p.Injected.Add(1)
	}
	switch f {
	case Status503:
		http.Error(w, "injected: service unavailable", http.StatusServiceUnavailable)
		return
	case Status429:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "injected: too many requests", http.StatusTooManyRequests)
		return
	case Slow:
		time.Sleep(p.slowFor)
	case ResetBody, Truncated:
		p.rp.ServeHTTP(&cutWriter{ResponseWriter: w, reset: f == ResetBody}, r)
		return
	}
	if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") {
		sw := &statusWriter{ResponseWriter: w}
		p.rp.ServeHTTP(sw, r)
		if sw.status == http.StatusCreated {
			repo, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/blobs/uploads/")
			p.mu.Lock()
			p.uploads = append(p.uploads, repo+"@"+r.URL.Query().Get("digest"))
			p.mu.Unlock()
		}
		return
	}
	p.rp.ServeHTTP(w, r)
}

// statusWriter remembers the status of the response it passes on.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// cutWriter passes the headers and the first half of the body (at least
// one byte), then ends the response: by resetting the connection, or by
// stopping short of the declared Content-Length.
type cutWriter struct {
	http.ResponseWriter
	reset   bool
	limit   int
	written int
	cut     bool
}

func (c *cutWriter) WriteHeader(code int) {
	if n, err := strconv.Atoi(c.Header().Get("Content-Length")); err == nil {
		c.limit = max(1, n/2)
	} else {
		c.limit = 1
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if c.cut {
		return 0, io.ErrClosedPipe
	}
	if c.limit == 0 {
		c.WriteHeader(http.StatusOK)
	}
	room := c.limit - c.written
	if len(b) <= room {
		n, err := c.ResponseWriter.Write(b)
		c.written += n
		return n, err
	}
	n, _ := c.ResponseWriter.Write(b[:room])
	c.written += n
	c.cut = true
	if fl, ok := c.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
	if hj, ok := c.ResponseWriter.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok && c.reset {
				_ = tc.SetLinger(0) // RST instead of FIN
			}
			_ = conn.Close()
		}
	}
	return n, fmt.Errorf("faultproxy: response cut after %d bytes", c.written)
}
