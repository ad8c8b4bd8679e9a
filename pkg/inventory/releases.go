package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// LatestReleasesPath is the endpoint, under the tenant URL, that announces
// the newest release of every app the tenant may install.
const LatestReleasesPath = "/api/service/marketplace/latest-releases"

// DefaultAllowedSources are the registries Atlan publishes images to.
var DefaultAllowedSources = []string{"docker.io/atlanhq", "ghcr.io/atlanhq"}

// Release is one entry of the latest-releases response.
type Release struct {
	AppID     string `json:"app_id"`
	AppName   string `json:"app_name"`
	Version   string `json:"version"`
	VersionID string `json:"version_id"`
	Image     string `json:"image"`
}

// Why is the reason recorded for the release's image.
func (r Release) Why() string {
	return fmt.Sprintf("latest-releases:%s@%s", r.AppName, r.Version)
}

// Skipped is an entry an origin found and left out: a latest-releases
// entry that cannot be mirrored, or an images file line that repeats an
// earlier one.
type Skipped struct {
	// Index is the entry's position in the latest-releases list.
	Index int    `json:"index"`
	App   string `json:"app,omitempty"`
	Image string `json:"image,omitempty"`
	// Why is where the entry was found, as an image's reasons read:
	// latest-releases:entry 3, file:images.txt:7.
	Why    string `json:"why,omitempty"`
	Reason string `json:"reason"`
	// Announced says Atlan announces the entry for the next reconcile: a
	// run that leaves it out must not look healthy.
	Announced bool `json:"-"`
}

// ReleasesClient fetches the latest-releases endpoint.
type ReleasesClient struct {
	base     *url.URL
	token    string
	http     *http.Client
	retries  int
	maxBytes int64
	allowed  []string
	backoff  func(attempt int) time.Duration
}

// ReleasesOption configures a ReleasesClient.
type ReleasesOption func(*ReleasesClient) error

// WithToken sets the API token sent as a bearer token. It is never
// included in errors or logs.
func WithToken(token string) ReleasesOption {
	return func(c *ReleasesClient) error { c.token = token; return nil }
}

// WithHTTPClient replaces the HTTP client (default: 30 s timeout).
func WithHTTPClient(h *http.Client) ReleasesOption {
	return func(c *ReleasesClient) error { c.http = h; return nil }
}

// WithRetries sets how many times a failed request is retried on a network
// error, 408, 429 or 5xx (default 3).
func WithRetries(n int) ReleasesOption {
	return func(c *ReleasesClient) error {
		if n < 0 {
			return errors.New("retries must not be negative")
		}
		c.retries = n
		return nil
	}
}

// WithMaxBytes limits the response size (default 8 MiB).
func WithMaxBytes(n int64) ReleasesOption {
	return func(c *ReleasesClient) error {
		if n <= 0 {
			return errors.New("response size limit must be positive")
		}
		c.maxBytes = n
		return nil
	}
}

// WithAllowedSources sets the registry prefixes images may come from
// (default DefaultAllowedSources). Docker Hub spellings are normalised.
func WithAllowedSources(prefixes []string) ReleasesOption {
	return func(c *ReleasesClient) error {
		for _, p := range prefixes {
			if _, err := imagemap.ParseReference(strings.TrimSuffix(p, "/") + "/x"); err != nil || p == "" {
				return fmt.Errorf("%s %q: want a registry and path prefix such as docker.io/atlanhq", setting.AllowedSource, p)
			}
		}
		c.allowed = prefixes
		return nil
	}
}

// withBackoff replaces the retry delay (tests).
func withBackoff(f func(int) time.Duration) ReleasesOption {
	return func(c *ReleasesClient) error { c.backoff = f; return nil }
}

// NewReleasesClient returns a client for the tenant at atlanURL
// (https://<tenant>.atlan.com). Plain http is accepted only for loopback.
func NewReleasesClient(atlanURL string, opts ...ReleasesOption) (*ReleasesClient, error) {
	u, err := url.Parse(atlanURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%s %q: want the tenant URL, such as https://<tenant>.atlan.com", setting.AtlanURL, atlanURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s %q: give only scheme and host (the token comes from ATLAN_API_TOKEN)", setting.AtlanURL, u.Redacted())
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%s %q: use https; plain http is accepted only for a loopback address", setting.AtlanURL, atlanURL)
	}
	c := &ReleasesClient{
		base:     u,
		http:     &http.Client{Timeout: 30 * time.Second},
		retries:  3,
		maxBytes: 8 << 20,
		allowed:  DefaultAllowedSources,
		backoff: func(attempt int) time.Duration {
			d := time.Duration(250<<attempt) * time.Millisecond
			return d + rand.N(d/2+1) //nolint:gosec // jitter, not a secret
		},
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URL is the endpoint queried.
func (c *ReleasesClient) URL() string {
	return strings.TrimSuffix(c.base.String(), "/") + LatestReleasesPath
}

// Fetch returns the releases whose image may be mirrored, and those that
// were skipped with the reason: malformed entries, references that do not
// parse, images outside the allowed sources. A response that is not the
// expected document at all is an error.
func (c *ReleasesClient) Fetch(ctx context.Context) ([]Release, []Skipped, error) {
	body, err := c.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	return ParseReleases(body, c.allowed)
}

// ParseReleases validates a latest-releases document.
func ParseReleases(body []byte, allowed []string) ([]Release, []Skipped, error) {
	var doc struct {
		Releases []json.RawMessage `json:"releases"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, fmt.Errorf("latest-releases response is not the expected JSON document: %w", err)
	}
	if doc.Releases == nil {
		return nil, nil, errors.New(`latest-releases response has no "releases" list`)
	}
	var (
		out     []Release
		skipped []Skipped
	)
	for i, raw := range doc.Releases {
		var r Release
		if err := json.Unmarshal(raw, &r); err != nil {
			skipped = append(skipped, Skipped{Index: i, Reason: "not a release object: " + reasonOf(err)})
			continue
		}
		skip := func(reason string) {
			skipped = append(skipped, Skipped{Index: i, App: printable(r.AppName), Image: printable(r.Image), Reason: reason})
		}
		var missing []string
		for _, f := range []struct{ name, v string }{{"app_id", r.AppID}, {"app_name", r.AppName}, {"version", r.Version}, {"image", r.Image}} {
			if strings.TrimSpace(f.v) == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			skip("missing " + strings.Join(missing, ", "))
			continue
		}
		ref, err := imagemap.ParseReference(r.Image)
		if err != nil {
			skip(reasonOf(err))
			continue
		}
		if !Allowed(ref, allowed) {
			skip(fmt.Sprintf("registry not allowed (allowed: %s; see %s)", strings.Join(allowed, ", "), setting.AllowedSource))
			continue
		}
		out = append(out, r)
	}
	return out, skipped, nil
}

// Allowed reports whether ref lives under one of the allowed prefixes,
// comparing Docker Hub spellings (atlanhq/x, docker.io/atlanhq/x,
// index.docker.io/atlanhq/x) as one.
func Allowed(ref imagemap.Reference, allowed []string) bool {
	repo := imagemap.Reference{Repository: ref.Repository}.Canonical()
	for _, a := range allowed {
		p, err := imagemap.ParseReference(strings.TrimSuffix(a, "/") + "/x")
		if err != nil {
			continue
		}
		prefix := strings.TrimSuffix(imagemap.Reference{Repository: p.Repository}.Canonical(), "x")
		if strings.HasPrefix(repo, prefix) {
			return true
		}
	}
	return false
}

func (c *ReleasesClient) get(ctx context.Context) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		body, wait, err := c.once(ctx)
		if err == nil {
			return body, nil
		}
		if wait < 0 || attempt >= c.retries {
			return nil, err
		}
		if wait == 0 {
			wait = c.backoff(attempt)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("fetching %s: %w", c.URL(), ctx.Err())
		case <-time.After(wait):
		}
	}
}

// Retry outcomes of one request: do not retry, or retry after the backoff.
const (
	noRetry      time.Duration = -1
	retryBackoff time.Duration = 0
)

// once makes one request. On failure it says whether and when to retry:
// noRetry, retryBackoff, or the server's Retry-After (capped at a minute).
func (c *ReleasesClient) once(ctx context.Context) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL(), nil)
	if err != nil {
		return nil, noRetry, fmt.Errorf("fetching %s: %w", c.URL(), err)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, retryUnlessDone(ctx), fmt.Errorf("fetching %s: %s", c.URL(), c.scrub(err.Error()))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, noRetry, fmt.Errorf("fetching %s: %s; check ATLAN_API_TOKEN", c.URL(), resp.Status)
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, min(RetryAfter(resp.Header.Get("Retry-After")), time.Minute), fmt.Errorf("fetching %s: %s", c.URL(), resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, noRetry, fmt.Errorf("fetching %s: %s", c.URL(), resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "json") {
		return nil, noRetry, fmt.Errorf("fetching %s: response is %q, not JSON; check %s", c.URL(), ct, setting.AtlanURL)
	}
	if resp.ContentLength > c.maxBytes {
		return nil, noRetry, fmt.Errorf("fetching %s: response of %d bytes is over the %d-byte limit", c.URL(), resp.ContentLength, c.maxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBytes+1))
	if err != nil {
		return nil, retryUnlessDone(ctx), fmt.Errorf("reading %s: %s", c.URL(), c.scrub(err.Error()))
	}
	if int64(len(body)) > c.maxBytes {
		return nil, noRetry, fmt.Errorf("fetching %s: response is over the %d-byte limit", c.URL(), c.maxBytes)
	}
	return body, noRetry, nil
}

func retryUnlessDone(ctx context.Context) time.Duration {
	if ctx.Err() != nil {
		return noRetry
	}
	return retryBackoff
}

// scrub removes the token from a message, should a transport ever echo it.
func (c *ReleasesClient) scrub(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "REDACTED")
}

// RetryAfter parses a Retry-After header in seconds; 0 when absent.
func RetryAfter(h string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

func reasonOf(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("field %q is a %s, want a %s", te.Field, te.Value, te.Type)
	case errors.As(err, &se):
		return "malformed JSON"
	}
	return printable(err.Error())
}

// printable keeps hostile input from reaching a terminal: control
// characters are escaped and the text is cut to a sane length.
func printable(s string) string {
	const limit = 200
	q := strconv.QuoteToASCII(s)
	q = q[1 : len(q)-1]
	if len(q) > limit {
		q = q[:limit] + "…"
	}
	return q
}

// AddReleases records each release's image as needed by the next reconcile.
func (inv *Inventory) AddReleases(rs []Release) {
	for _, r := range rs {
		inv.Add(r.Image, r.Why())
	}
}
