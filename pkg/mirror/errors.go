package mirror

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/capool"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// side names the registry an error came from, so the operator knows whose
// credentials or availability to check.
type side struct {
	role string // "source" or "destination"
	host string
	repo name.Repository
}

func (s side) wrap(what string, err error) error {
	return s.wrapRequest(what, asked{}, err)
}

// wrapPut wraps the error of writing manifest m to ref: a refusal of the
// tag, the media type or the artifact type says so.
func (s side) wrapPut(ref name.Reference, m rawManifest, err error) error {
	if err == nil {
		return nil
	}
	r := asked{mediaType: m.mt, artifactType: artifactType(m.raw)}
	if t, ok := ref.(name.Tag); ok {
		r.tag = t.TagStr()
	}
	return s.wrapRequest("writing "+ref.String(), r, err)
}

// wrapRequest keeps a registry's refusal in its own words and adds what
// fixes it (RegistryError); other errors say where they happened.
func (s side) wrapRequest(what string, r asked, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if te, ok := asTransport(err); ok {
		if e := s.classify(what, r, te); e != nil {
			return e
		}
	}
	return fmt.Errorf("%s on %s registry %q: %w%s", what, s.role, s.host, err, capool.Hint(err, RegistryCARemedy()))
}

// RegistryCARemedy is what trusts a registry's private CA.
func RegistryCARemedy() string {
	return fmt.Sprintf("%s (or the host with %s)", setting.RegistryCAFile, setting.InsecureRegistry)
}

// ErrAuth marks errors where a registry refused the credentials (or their
// absence).
var ErrAuth = errors.New("registry refused the credentials")

// ErrDrift marks a destination tag that holds a different image than the
// source, left alone without WithOverwrite.
var ErrDrift = errors.New("destination holds a different image")

// ConflictError is a source registry given two different mirrors;
// one must be chosen.
type ConflictError struct {
	Registry      string
	First, Second string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("registry %q has two mirrors, %q and %q", e.Registry, e.First, e.Second)
}

func unauthorized(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusUnauthorized
}

// absentOrHidden is a destination read answered 404, or 403: Artifactory
// answers 403 for a tag that does not exist (virtual repositories, limited
// permissions; go-containerregistry#1691, cosign#2973). Either way the
// image is not known to be there; the push confirms whether it may be
// written, and a refusal then says why.
func absentOrHidden(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && (te.StatusCode == http.StatusNotFound || te.StatusCode == http.StatusForbidden)
}
