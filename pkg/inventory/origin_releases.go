package inventory

import (
	"context"
	"errors"
	"net/http"
)

// ReleasesOrigin is what the next hourly reconcile will want: the image of
// every release Atlan's latest-releases endpoint announces.
type ReleasesOrigin struct{}

// Name is "latest-releases".
func (ReleasesOrigin) Name() string { return "latest-releases" }

// DefaultWhen is when a tenant URL is given.
func (ReleasesOrigin) DefaultWhen() string { return "when --atlan-url is set" }

// Default reports whether a tenant URL is given.
func (ReleasesOrigin) Default(in Input) bool { return in.AtlanURL != "" }

// Needs fetches the endpoint; entries that cannot be mirrored are
// returned as skipped.
func (ReleasesOrigin) Needs(ctx context.Context, in Input) (Found, error) {
	if in.AtlanURL == "" {
		return Found{}, errors.New("--from latest-releases needs --atlan-url https://<tenant>.atlan.com (or ATLAN_URL)")
	}
	c, err := NewReleasesClient(in.AtlanURL, WithToken(in.Token), WithAllowedSources(in.AllowedSources),
		WithHTTPClient(&http.Client{Timeout: in.Timeout}))
	if err != nil {
		return Found{}, err
	}
	rs, skipped, err := c.Fetch(ctx)
	if err != nil {
		return Found{}, err
	}
	inv := New()
	inv.AddReleases(rs)
	return Found{Items: inv.Items(), Skipped: skipped}, nil
}
