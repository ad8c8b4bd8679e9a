package verify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// TestVerifyReusesTransport checks that verifying many images of one
// repository handshakes with the registry once, not once per image and
// signature read: against a registry with auth, each handshake is a ping
// and a token request.
func TestVerifyReusesTransport(t *testing.T) {
	ctx := context.Background()
	var (
		mu    sync.Mutex
		pings int
		reads int
	)
	h := registry.New(registry.WithReferrersSupport(true), registry.Logger(discardLogger()))
	counting := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if counting {
			if r.URL.Path == "/v2/" {
				pings++
			} else {
				reads++
			}
		}
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s := newSigner(t, strings.TrimPrefix(srv.URL, "http://"))
	v, err := New(ctx, WithTrustedRootFile(s.trustedRoot()))
	if err != nil {
		t.Fatal(err)
	}
	const images = 5
	for range images {
		d := s.push("atlanhq/many")
		s.signClassic(d, testIdentity, testIssuer, simpleSigningPayload(d))
		mu.Lock()
		counting = true
		mu.Unlock()
		if _, err := v.Verify(ctx, d); err != nil {
			t.Fatalf("Verify(%s): %v", d, err)
		}
		mu.Lock()
		counting = false
		mu.Unlock()
	}
	if pings != 1 {
		t.Errorf("Verify of %d images in one repository pinged the registry %d times, want 1", images, pings)
	}
	// Per image: the signature manifest, its payload, the referrers.
	if reads != 3*images {
		t.Errorf("Verify of %d images made %d reads, want %d", images, reads, 3*images)
	}
}
