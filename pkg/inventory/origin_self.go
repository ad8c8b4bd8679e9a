package inventory

import (
	"context"
	"fmt"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// The project's own container image: where releases publish it, and the
// identity its release workflow signs it with (cosign keyless, GitHub
// Actions OIDC). A gate checking this image uses these instead of Atlan's.
const (
	SelfRepository = "ghcr.io/sdr-mirror/kubectl-sdr-mirror"
	// SelfSource is the --allowed-source value that admits it.
	SelfSource         = "ghcr.io/sdr-mirror"
	SelfIdentityRegexp = `^https://github\.com/sdr-mirror/kubectl-sdr-mirror/\.github/workflows/release\.ya?ml@refs/tags/v`
	SelfIssuer         = "https://token.actions.githubusercontent.com"
)

// SelfOrigin is this tool's own image at this build's version: the image the
// in-cluster CronJob runs, which a blocked network must mirror like any
// other. It is read only when asked for with --from self.
type SelfOrigin struct{}

// Name is "self".
func (SelfOrigin) Name() string { return "self" }

// SelfImage is the published image of version, or an error when version is
// not a release (a development build has no published image).
func SelfImage(version string) (string, error) {
	ref := SelfRepository + ":" + version
	if _, err := imagemap.ParseReference(ref); err != nil || version == "" {
		return "", fmt.Errorf("this build's version %q is not a release, so no image of it is published at %s", version, SelfRepository)
	}
	return ref, nil
}

// Needs returns this tool's image at in.Version.
func (SelfOrigin) Needs(_ context.Context, in Input) (Found, error) {
	img, err := SelfImage(in.Version)
	if err != nil {
		return Found{}, fmt.Errorf("%s self: %w", setting.From, err)
	}
	inv := New()
	inv.Add(img, "self:the image the CronJob runs")
	return Found{Items: inv.Items()}, nil
}
