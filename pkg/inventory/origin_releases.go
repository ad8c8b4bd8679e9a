package inventory

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// ReleasesOrigin is what the next hourly reconcile will want: the image of
// every release Atlan's latest-releases endpoint announces.
type ReleasesOrigin struct{}

// Name is "latest-releases".
func (ReleasesOrigin) Name() string { return "latest-releases" }

// DefaultWhen is when a tenant URL is given.
func (ReleasesOrigin) DefaultWhen() string { return "when " + setting.AtlanURL.String() + " is set" }

// Default reports whether a tenant URL is given, and no bundle stands in
// for the endpoint.
func (ReleasesOrigin) Default(in Input) bool { return in.AtlanURL != "" && in.Bundle == nil }

// Needs fetches the endpoint; entries that cannot be mirrored are
// returned as skipped, and announced.
func (ReleasesOrigin) Needs(ctx context.Context, in Input) (Found, error) {
	if in.Bundle != nil && in.Bundle.Releases != nil {
		// Inside an air gap the bundle's snapshot is the endpoint.
		return releasesFound(in.Bundle.Releases, in.AllowedSources)
	}
	if in.AtlanURL == "" {
		return Found{}, fmt.Errorf("%s latest-releases needs %s https://<tenant>.atlan.com (or ATLAN_URL)", setting.From, setting.AtlanURL)
	}
	c, err := NewReleasesClient(in.AtlanURL, WithToken(in.Token), WithAllowedSources(in.AllowedSources),
		WithHTTPClient(&http.Client{Timeout: in.Timeout}))
	if err != nil {
		return Found{}, err
	}
	body, err := c.get(ctx)
	if err != nil {
		return Found{}, err
	}
	if in.OnSnapshot != nil {
		in.OnSnapshot(body, time.Now())
	}
	return releasesFound(body, c.allowed)
}

// releasesFound reads a latest-releases response; entries that cannot be
// mirrored are returned as skipped, and announced.
func releasesFound(body []byte, allowed []string) (Found, error) {
	if allowed == nil {
		allowed = DefaultAllowedSources
	}
	rs, skipped, err := ParseReleases(body, allowed)
	if err != nil {
		return Found{}, err
	}
	for i := range skipped {
		skipped[i].Why = fmt.Sprintf("%s:entry %d", ReleasesOrigin{}.Name(), skipped[i].Index)
		skipped[i].Announced = true
	}
	inv := New()
	inv.AddReleases(rs)
	return Found{Items: inv.Items(), Skipped: skipped}, nil
}
