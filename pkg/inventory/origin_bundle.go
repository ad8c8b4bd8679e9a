package inventory

import (
	"context"
	"fmt"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// BundleNeeds is the needed set a bundle carries across the gap: what the
// connected side found needed (latest-releases, images files), each with
// why.
type BundleNeeds struct {
	// Dir is where the bundle is, for messages.
	Dir   string
	Items []Item
	// Releases is the latest-releases response the connected side read,
	// if any: the latest-releases origin reads it instead of the endpoint.
	Releases []byte
}

// BundleOrigin is the needed set of a bundle, read in place of the
// latest-releases endpoint and the images files the inside cannot reach.
type BundleOrigin struct{}

// Name is "bundle".
func (BundleOrigin) Name() string { return "bundle" }

// DefaultWhen is when a bundle is imported.
func (BundleOrigin) DefaultWhen() string { return "when " + setting.FromBundle.String() + " is set" }

// Default reports whether a bundle is imported.
func (BundleOrigin) Default(in Input) bool { return in.Bundle != nil }

// Needs returns the bundle's needed set.
func (BundleOrigin) Needs(_ context.Context, in Input) (Found, error) {
	if in.Bundle == nil {
		return Found{}, fmt.Errorf("%s bundle needs %s DIR", setting.From, setting.FromBundle)
	}
	inv := New()
	for _, it := range in.Bundle.Items {
		for _, why := range it.Why {
			inv.Add(it.Image, why)
		}
		if len(it.Why) == 0 {
			inv.Add(it.Image, "bundle:"+in.Bundle.Dir)
		}
	}
	return Found{Items: inv.Items()}, nil
}
