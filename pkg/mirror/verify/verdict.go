package verify

import (
	"context"
	"errors"

	"github.com/google/go-containerregistry/pkg/name"
)

// Verdict is what a check of one image's signature found, as a report
// row carries it: verified, by whom and in which layout, or refused and
// why.
type Verdict struct {
	Verified bool   `json:"verified"`
	Identity string `json:"identity,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	Layout   string `json:"layout,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// Check verifies image as Verify does and says what it found. A refusal
// is a verdict; the error is for a check that could not be made (the
// registry unreachable, the trusted root unreadable).
func (v *Verifier) Check(ctx context.Context, image name.Digest) (Verdict, error) {
	res, err := v.Verify(ctx, image)
	var f *Failure
	switch {
	case errors.As(err, &f):
		return Verdict{Reason: string(f.Reason), Detail: f.Detail}, nil
	case err != nil:
		return Verdict{}, err
	}
	return Verdict{Verified: true, Identity: res.Identity, Issuer: res.Issuer, Layout: res.Layout}, nil
}
