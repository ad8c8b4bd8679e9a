package inventory

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const goodReleases = `{"releases":[
 {"app_id":"a1","app_name":"teradata","version":"3.1.4","version_id":"v1","image":"atlanhq/atlan-teradata-app:3.1.4"},
 {"app_id":"a2","app_name":"postgres","version":"2.0.1","version_id":"v2","image":"ghcr.io/atlanhq/atlan-postgres-app:2.0.1"},
 {"app_id":"a3","app_name":"sdr","version":"1.0.0","version_id":"v3","image":"docker.io/atlanhq/atlan-sdr:1.0.0"}
]}`

func TestParseReleases(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		images  []string
		skipped []string // reason substrings
		err     string
	}{
		{"good", goodReleases, []string{"atlanhq/atlan-teradata-app:3.1.4", "ghcr.io/atlanhq/atlan-postgres-app:2.0.1", "docker.io/atlanhq/atlan-sdr:1.0.0"}, nil, ""},
		{"not JSON", `<html>`, nil, nil, "not the expected JSON document"},
		{"no releases key", `{"data":[]}`, nil, nil, `no "releases" list`},
		{"releases not a list", `{"releases":{}}`, nil, nil, "not the expected JSON document"},
		{"empty list", `{"releases":[]}`, nil, nil, ""},
		{"missing fields", `{"releases":[{"app_id":"a","image":"atlanhq/x:1"}]}`, nil, []string{"missing app_name, version"}, ""},
		{"wrong type", `{"releases":[{"app_id":1,"app_name":"x","version":"1","image":"atlanhq/x:1"}]}`, nil, []string{`field "app_id" is a number`}, ""},
		{"not an object", `{"releases":["atlanhq/x:1"]}`, nil, []string{"is a string"}, ""},
		{"bad reference", `{"releases":[{"app_id":"a","app_name":"x","version":"1","image":"atlanhq/X:1"}]}`, nil, []string{"invalid image reference"}, ""},
		{"path traversal", `{"releases":[{"app_id":"a","app_name":"x","version":"1","image":"atlanhq/../etc/passwd:1"}]}`, nil, []string{"invalid image reference"}, ""},
		{"control characters", `{"releases":[{"app_id":"a","app_name":"x\u001b[31m","version":"1","image":"atlanhq/x:1\u0007"}]}`, nil, []string{"control"}, ""},
		{"other registry", `{"releases":[{"app_id":"a","app_name":"x","version":"1","image":"evil.example.com/atlanhq/x:1"}]}`, nil, []string{"registry not allowed"}, ""},
		{"other docker hub org", `{"releases":[{"app_id":"a","app_name":"x","version":"1","image":"atlanhqevil/x:1"}]}`, nil, []string{"registry not allowed"}, ""},
		{"mixed", `{"releases":[{"app_id":"a","app_name":"x","version":"1","image":"atlanhq/x:1"},{"app_id":"b"}]}`, []string{"atlanhq/x:1"}, []string{"missing"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, skipped, err := ParseReleases([]byte(tc.body), DefaultAllowedSources)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseReleases() error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseReleases() error: %v", err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.Image)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.images) {
				t.Errorf("images = %v, want %v", got, tc.images)
			}
			if len(skipped) != len(tc.skipped) {
				t.Fatalf("skipped = %+v, want %d", skipped, len(tc.skipped))
			}
			for i, want := range tc.skipped {
				if !strings.Contains(skipped[i].Reason, want) {
					t.Errorf("skipped[%d].Reason = %q, want %q", i, skipped[i].Reason, want)
				}
				for _, s := range []string{skipped[i].App, skipped[i].Image, skipped[i].Reason} {
					if strings.ContainsAny(s, "\x1b\x07") {
						t.Errorf("skipped[%d] carries a control character: %q", i, s)
					}
				}
			}
		})
	}
}

func TestReleasesClient(t *testing.T) {
	const token = "atlan-secret-token-7f3c"
	var calls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc(LatestReleasesPath, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, goodReleases)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()

	c, err := NewReleasesClient(srv.URL, WithToken(token))
	if err != nil {
		t.Fatal(err)
	}
	rs, skipped, err := c.Fetch(ctx)
	if err != nil || len(rs) != 3 || len(skipped) != 0 {
		t.Fatalf("Fetch() = %d releases, %v skipped, %v", len(rs), skipped, err)
	}
	if rs[0].Why() != "latest-releases:teradata@3.1.4" {
		t.Errorf("Why() = %q", rs[0].Why())
	}

	bad, _ := NewReleasesClient(srv.URL, WithToken("wrong-token-value"))
	_, _, err = bad.Fetch(ctx)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "ATLAN_API_TOKEN") {
		t.Errorf("Fetch(wrong token) = %v, want a 401 naming ATLAN_API_TOKEN", err)
	}
	if strings.Contains(err.Error(), "wrong-token-value") {
		t.Errorf("error leaks the token: %v", err)
	}
}

func TestReleasesClientRetries(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, goodReleases)
		}
	}))
	defer srv.Close()
	c, err := NewReleasesClient(srv.URL, withBackoff(func(int) time.Duration { return time.Millisecond }))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rs, _, err := c.Fetch(context.Background())
	if err != nil || len(rs) != 3 {
		t.Fatalf("Fetch() after 429 and 503 = %d, %v", len(rs), err)
	}
	if calls.Load() != 3 {
		t.Errorf("requests = %d, want 3", calls.Load())
	}
	if time.Since(start) < time.Second {
		t.Errorf("Retry-After: 1 was not honoured (took %v)", time.Since(start))
	}

	c2, _ := NewReleasesClient(srv.URL, WithRetries(2), withBackoff(func(int) time.Duration { return time.Millisecond }))
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	})
	calls.Store(0)
	if _, _, err := c2.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("Fetch(always 502) = %v, want the 502", err)
	}
	if calls.Load() != 3 {
		t.Errorf("requests with 2 retries = %d, want 3", calls.Load())
	}
}

func TestReleasesClientLimits(t *testing.T) {
	huge := `{"releases":[` + strings.Repeat(`{"app_id":"a","app_name":"x","version":"1","image":"atlanhq/x:1"},`, 2000) + `{}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, huge)
	}))
	defer srv.Close()
	c, _ := NewReleasesClient(srv.URL, WithMaxBytes(1024))
	if _, _, err := c.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("Fetch(huge) = %v, want a size-limit error", err)
	}

	slow := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	c, _ = NewReleasesClient(slow.URL, WithRetries(0), WithHTTPClient(&http.Client{Timeout: 200 * time.Millisecond}))
	if _, _, err := c.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("Fetch(slow) = %v, want a timeout", err)
	}

	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>login</html>")
	}))
	defer html.Close()
	c, _ = NewReleasesClient(html.URL)
	if _, _, err := c.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "not JSON; check --atlan-url") {
		t.Errorf("Fetch(html) = %v", err)
	}
}

func TestNewReleasesClientRejects(t *testing.T) {
	for _, u := range []string{"", "atlan.com", "ftp://x.atlan.com", "http://tenant.atlan.com", "https://user:pw@tenant.atlan.com", "https://tenant.atlan.com?token=x"} {
		if _, err := NewReleasesClient(u); err == nil {
			t.Errorf("NewReleasesClient(%q) succeeded, want an error", u)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("NewReleasesClient(%q) error leaks the password: %v", u, err)
		}
	}
	if _, err := NewReleasesClient("https://tenant.atlan.com", WithAllowedSources([]string{"Not Valid"})); err == nil {
		t.Error("WithAllowedSources(invalid) accepted")
	}
}

func TestReadImagesFile(t *testing.T) {
	in := "# images to mirror\natlanhq/a:1\n\n  atlanhq/b:2   # pinned\nghcr.io/atlanhq/c@sha256:" + strings.Repeat("a", 64) + "\n"
	got, err := ReadImagesFile(strings.NewReader(in), "images.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].Image != "atlanhq/b:2" || got[1].Line != 4 || got[1].Why("images.txt") != "file:images.txt:4" {
		t.Errorf("ReadImagesFile() = %+v", got)
	}
	_, err = ReadImagesFile(strings.NewReader("atlanhq/a:1\nNot/Valid\n"), "images.txt")
	if err == nil || !strings.Contains(err.Error(), `images file "images.txt": line 2: invalid image reference "Not/Valid"`) {
		t.Errorf("ReadImagesFile(bad line) = %v", err)
	}
	// An over-long line is named by file and line, not by the scanner.
	_, err = ReadImagesFile(strings.NewReader("atlanhq/a:1\n# fine\n"+strings.Repeat("a", 10000)+"\natlanhq/b:1\n"), "images.txt")
	if err == nil || err.Error() != `images file "images.txt": line 3: longer than 4096 bytes; write one image reference per line` {
		t.Errorf("ReadImagesFile(long line) = %v", err)
	}
}
