package verify

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// Atlan's signing identity: images are signed keyless by this GitHub
// Actions workflow.
const (
	DefaultIdentity = "https://github.com/atlanhq/application-sdk/.github/workflows/build-and-publish-app.yaml@refs/heads/main"
	DefaultIssuer   = "https://token.actions.githubusercontent.com"
)

// Reason says why an image failed verification.
type Reason string

// The reasons an image is refused.
const (
	NoSignature   Reason = "no signature"
	WrongIdentity Reason = "wrong identity"
	WrongIssuer   Reason = "wrong issuer"
	BadSignature  Reason = "bad signature"
	UntrustedRoot Reason = "untrusted root"
)

// ErrUnverified is wrapped by every *Failure.
var ErrUnverified = errors.New("signature verification failed")

// Failure is an image that did not verify, and why.
type Failure struct {
	Image  string
	Reason Reason
	Detail string
}

func (f *Failure) Error() string {
	if f.Detail == "" {
		return fmt.Sprintf("verifying %q: %s", f.Image, f.Reason)
	}
	return fmt.Sprintf("verifying %q: %s: %s", f.Image, f.Reason, f.Detail)
}

func (f *Failure) Unwrap() error { return ErrUnverified }

// Result is a verified image and the signer that vouched for it.
type Result struct {
	Image    string `json:"image"`
	Identity string `json:"identity"`
	Issuer   string `json:"issuer,omitempty"`
	// Layout is "signature-tag" (classic cosign) or "referrer" (Sigstore bundle).
	Layout string `json:"layout"`
}

type options struct {
	identity, identityRE string
	issuer, issuerRE     string
	keyPath              string
	trustedRootPath      string
	trustedRoot          root.TrustedMaterial
	tuf                  *tufSource
	remote               []remote.Option
}

// Option configures a Verifier.
type Option func(*options) error

// WithIdentity sets the certificate identity that must have signed: an
// exact value or, when regexp is not empty, a regular expression. Default:
// Atlan's signing workflow (DefaultIdentity).
func WithIdentity(value, regexp string) Option {
	return func(o *options) error { o.identity, o.identityRE = value, regexp; return nil }
}

// WithIssuer sets the OIDC issuer of the signing certificate, exact or as a
// regular expression. Default: GitHub Actions (DefaultIssuer).
func WithIssuer(value, regexp string) Option {
	return func(o *options) error { o.issuer, o.issuerRE = value, regexp; return nil }
}

// WithKey verifies against a public key instead of a keyless identity: a
// PEM file (cosign.pub), or a KMS key URI (awskms://, gcpkms://,
// azurekms://, hashivault://, as cosign takes them) whose public key New
// reads once with the KMS's usual credentials. The transparency log is not
// consulted.
func WithKey(path string) Option {
	return func(o *options) error { o.keyPath = path; return nil }
}

// WithTrustedRootFile uses a Sigstore trusted_root.json for keyless
// verification, offline. Default: the public-good instance's trusted root,
// fetched and cached through TUF.
func WithTrustedRootFile(path string) Option {
	return func(o *options) error { o.trustedRootPath = path; return nil }
}

// WithTUF fetches the trusted root through the TUF repository at url
// (empty: the public-good one, tuf-repo-cdn.sigstore.dev), checked against
// the TUF root.json in rootFile (empty: the public-good root embedded in
// this binary), instead of the public-good trusted root cached on disk:
// for a private Sigstore.
func WithTUF(rootFile, url string) Option {
	return func(o *options) error {
		anchor := PublicGoodAnchor()
		if rootFile != "" {
			var err error
			if anchor, err = TUFAnchorFile(rootFile); err != nil {
				return err
			}
		}
		o.tuf = &tufSource{anchor: anchor, url: url}
		return nil
	}
}

type tufSource struct {
	anchor TUFAnchor
	url    string
}

// WithTrustedRootJSON uses the content of a Sigstore trusted_root.json,
// read from where, which names it in an error.
func WithTrustedRootJSON(data []byte, where string) Option {
	return func(o *options) error {
		tr, err := root.NewTrustedRootFromJSON(data)
		if err != nil {
			return fmt.Errorf("reading trusted root %s: %w", where, err)
		}
		o.trustedRoot = tr
		return nil
	}
}

// WithTrustedMaterial uses the given trusted material (tests, embedders).
func WithTrustedMaterial(m root.TrustedMaterial) Option {
	return func(o *options) error { o.trustedRoot = m; return nil }
}

// WithRemoteOptions sets how registries are reached (auth, transport).
func WithRemoteOptions(opts ...remote.Option) Option {
	return func(o *options) error { o.remote = append(o.remote, opts...); return nil }
}

// Verifier checks image signatures against one policy.
type Verifier struct {
	o        options
	key      signature.Verifier
	material root.TrustedMaterial
	identity *identityMatcher
	// puller keeps one authenticated transport per repository across
	// images, so that each image costs its signature reads and no new
	// handshake (ping, token) with the registry.
	puller *remote.Puller
}

// New builds a Verifier. Conflicting options (a key and a keyless identity
// given explicitly) are an error.
func New(ctx context.Context, opts ...Option) (*Verifier, error) {
	o := options{}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	v := &Verifier{o: o}
	var err error
	if v.puller, err = remote.NewPuller(o.remote...); err != nil {
		return nil, err
	}
	if o.keyPath != "" {
		if o.identity != "" || o.identityRE != "" || o.issuer != "" || o.issuerRE != "" {
			return nil, fmt.Errorf("%s and %s/%s exclude each other: a key signature has no identity", setting.Key, setting.CertIdentity, setting.CertOIDCIssuer)
		}
		if v.key, err = loadKey(ctx, o.keyPath); err != nil {
			return nil, err
		}
		return v, nil
	}
	if o.identity == "" && o.identityRE == "" {
		o.identity = DefaultIdentity
	}
	if o.issuer == "" && o.issuerRE == "" {
		o.issuer = DefaultIssuer
	}
	m, err := newIdentityMatcher(o.identity, o.identityRE, o.issuer, o.issuerRE)
	if err != nil {
		return nil, err
	}
	v.identity = m
	switch {
	case o.trustedRoot != nil:
		v.material = o.trustedRoot
	case o.trustedRootPath != "":
		tr, err := root.NewTrustedRootFromPath(o.trustedRootPath)
		if err != nil {
			return nil, fmt.Errorf("reading trusted root %q: %w", o.trustedRootPath, err)
		}
		v.material = tr
	case o.tuf != nil:
		md, err := FetchTUF(ctx, o.tuf.anchor, o.tuf.url)
		if err != nil {
			return nil, err
		}
		tr, err := root.NewTrustedRootFromJSON(md.TrustedRoot)
		if err != nil {
			return nil, fmt.Errorf("reading the trusted root fetched through TUF: %w", err)
		}
		v.material = tr
	default:
		tr, err := root.FetchTrustedRoot()
		if err != nil {
			return nil, fmt.Errorf("fetching the Sigstore public-good trusted root (pass %s FILE to verify offline): %w", setting.TrustedRoot, err)
		}
		v.material = tr
	}
	v.o = o
	return v, nil
}

// Policy describes what the verifier accepts, for messages and the lock file.
func (v *Verifier) Policy() string {
	if v.key != nil {
		return "key " + v.o.keyPath
	}
	return v.identity.String()
}

// Verify checks the signature of image, which must be a digest reference.
// It tries the classic signature tag first, then Sigstore bundle referrers,
// and returns the first signer that satisfies the policy. When none does,
// the error is a *Failure with the most telling reason.
func (v *Verifier) Verify(ctx context.Context, image name.Digest) (*Result, error) {
	candidates, err := v.fetch(ctx, image)
	if err != nil {
		return nil, err
	}
	if len(candidates) == 0 {
		return nil, &Failure{Image: image.String(), Reason: NoSignature,
			Detail: fmt.Sprintf("no %s tag and no Sigstore bundle referrer", sigTag(image))}
	}
	var best *Failure
	for _, c := range candidates {
		res, err := v.check(image, c)
		if err == nil {
			return res, nil
		}
		var f *Failure
		if !errors.As(err, &f) {
			return nil, err
		}
		if best == nil || rank(f.Reason) > rank(best.Reason) {
			best = f
		}
	}
	return nil, best
}

// rank orders reasons from least to most specific, so that an image with
// several signatures reports the one closest to passing.
func rank(r Reason) int {
	switch r {
	case NoSignature:
		return 0
	case BadSignature:
		return 1
	case UntrustedRoot:
		return 2
	case WrongIssuer:
		return 3
	case WrongIdentity:
		return 4
	}
	return 0
}

// identityMatcher checks a certificate's SAN and issuer.
type identityMatcher struct {
	identity, issuer     string
	identityRE, issuerRE *regexp.Regexp
}

func newIdentityMatcher(identity, identityRE, issuer, issuerRE string) (*identityMatcher, error) {
	m := &identityMatcher{identity: identity, issuer: issuer}
	var err error
	if identityRE != "" {
		if m.identityRE, err = regexp.Compile(identityRE); err != nil {
			return nil, fmt.Errorf("%s %q: %w", setting.CertIdentityRegexp, identityRE, err)
		}
	}
	if issuerRE != "" {
		if m.issuerRE, err = regexp.Compile(issuerRE); err != nil {
			return nil, fmt.Errorf("%s %q: %w", setting.CertOIDCIssuerRegexp, issuerRE, err)
		}
	}
	return m, nil
}

func (m *identityMatcher) identityOK(s string) bool {
	if m.identityRE != nil {
		return m.identityRE.MatchString(s)
	}
	return s == m.identity
}

func (m *identityMatcher) issuerOK(s string) bool {
	if m.issuerRE != nil {
		return m.issuerRE.MatchString(s)
	}
	return s == m.issuer
}

func (m *identityMatcher) String() string {
	id, is := m.identity, m.issuer
	if m.identityRE != nil {
		id = "~" + m.identityRE.String()
	}
	if m.issuerRE != nil {
		is = "~" + m.issuerRE.String()
	}
	return fmt.Sprintf("identity %s from issuer %s", id, is)
}
