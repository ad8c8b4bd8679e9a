package imagemap

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// ErrInvalidReference is returned for image references that cannot be pulled.
var ErrInvalidReference = errors.New("invalid image reference")

// Reference is an image reference split the way the SDR splits it: the tag
// separator is the last ':' after the last '/', and a digest follows '@'.
// Repository keeps the registry host (and port) exactly as written; nothing
// is normalised.
type Reference struct {
	Repository string // e.g. "myreg:5000/team/app" or "atlanhq/app"
	Tag        string // "" when absent
	Digest     string // "sha256:<hex>" or "" when absent
}

// ParseReference splits and validates s. The returned Reference keeps the
// spelling of s: String() returns s unchanged for any valid input.
func ParseReference(s string) (Reference, error) {
	if s == "" {
		return Reference{}, fmt.Errorf("%w: empty reference", ErrInvalidReference)
	}
	if strings.TrimSpace(s) != s {
		return Reference{}, fmt.Errorf("%w %q: leading or trailing whitespace", ErrInvalidReference, s)
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return Reference{}, fmt.Errorf("%w %q: contains a space, control or non-ASCII character", ErrInvalidReference, s)
		}
	}
	var ref Reference
	rest := s
	if i := strings.IndexByte(s, '@'); i >= 0 {
		rest, ref.Digest = s[:i], s[i+1:]
		if ref.Digest == "" {
			return Reference{}, fmt.Errorf("%w %q: empty digest after '@'", ErrInvalidReference, s)
		}
	}
	ref.Repository = rest
	if c := strings.LastIndexByte(rest, ':'); c > strings.LastIndexByte(rest, '/') {
		ref.Repository, ref.Tag = rest[:c], rest[c+1:]
		if ref.Tag == "" {
			return Reference{}, fmt.Errorf("%w %q: empty tag after ':'", ErrInvalidReference, s)
		}
	}
	if ref.Repository == "" {
		return Reference{}, fmt.Errorf("%w %q: no repository", ErrInvalidReference, s)
	}
	if err := ref.check(); err != nil {
		return Reference{}, fmt.Errorf("%w %q: %s", ErrInvalidReference, s, reason(err))
	}
	return ref, nil
}

// The distribution reference grammar, stricter than go-containerregistry's
// weak validation (which accepts empty path components and tags starting
// with '-').
var (
	pathComponentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$`)
	domainRE        = regexp.MustCompile(`^(?:localhost|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]{1,5})?$`)
	tagRE           = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
)

// check validates the parts with the distribution grammar, then with
// go-containerregistry's parser, without letting either rewrite them.
func (r Reference) check() error {
	parts := strings.Split(r.Repository, "/")
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost") {
		if !domainRE.MatchString(parts[0]) {
			return fmt.Errorf("registry %q is not a valid host[:port]", parts[0])
		}
		parts = parts[1:]
	}
	for _, p := range parts {
		if !pathComponentRE.MatchString(p) {
			if p == "" {
				return errors.New("empty path component")
			}
			return fmt.Errorf("path component %q must be lowercase letters, digits and separators (. _ __ -)", p)
		}
	}
	if r.Tag != "" && !tagRE.MatchString(r.Tag) {
		return fmt.Errorf("tag %q must start with a letter, digit or _ and hold at most 128 of [A-Za-z0-9_.-]", r.Tag)
	}
	if _, err := name.NewRepository(r.Repository); err != nil {
		return err
	}
	if r.Tag != "" {
		if _, err := name.NewTag(r.Repository + ":" + r.Tag); err != nil {
			return err
		}
	}
	if r.Digest != "" {
		if _, err := name.NewDigest(r.Repository + "@" + r.Digest); err != nil {
			return err
		}
	}
	return nil
}

// reason strips go-containerregistry's long grammar hints down to the cause.
func reason(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "; "); i > 0 {
		msg = msg[:i]
	}
	return strings.TrimSuffix(msg, ".")
}

// String reassembles the reference exactly as parsed.
func (r Reference) String() string {
	return r.Repository + r.Suffix()
}

// Suffix is the part a bare-repo map entry appends: ":tag", "@digest" or
// ":tag@digest".
func (r Reference) Suffix() string {
	var b strings.Builder
	if r.Tag != "" {
		b.WriteString(":" + r.Tag)
	}
	if r.Digest != "" {
		b.WriteString("@" + r.Digest)
	}
	return b.String()
}

// IsBare reports whether the reference names a repository only, the form of
// a repo -> repo map entry.
func (r Reference) IsBare() bool { return r.Tag == "" && r.Digest == "" }

// LastElement is the last path component of the repository: the image name
// a prefix rewrite keeps.
func (r Reference) LastElement() string {
	return r.Repository[strings.LastIndexByte(r.Repository, '/')+1:]
}

// Canonical is the fully qualified form Docker would pull
// ("index.docker.io/library/x:latest" style). The SDR never uses it to match
// keys; it only tells when two spellings name the same image.
func (r Reference) Canonical() string {
	repo, err := name.NewRepository(r.Repository)
	if err != nil {
		return r.String()
	}
	s := repo.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// isRegistryHost reports whether the reference is a registry host alone
// ("registry.example.com", "localhost:5000"), with no repository path: it
// parses as a one-element Docker Hub name, or as one with a port for a tag.
func (r Reference) isRegistryHost() bool {
	if strings.Contains(r.Repository, "/") || r.Digest != "" {
		return false
	}
	host := strings.Contains(r.Repository, ".") || r.Repository == "localhost"
	return host && (r.Tag == "" || isPort(r.Tag))
}

func isPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// hostExample is the value a user most likely meant when writing the
// registry host r as the mirror of src: the host, the image name, and for
// a source with a tag or digest, that too.
func (r Reference) hostExample(src Reference, srcOK bool) string {
	name := "IMAGE"
	if srcOK {
		name = src.LastElement() + src.Suffix()
	}
	return r.Repository + r.portSuffix() + "/" + name
}

func (r Reference) portSuffix() string {
	if r.Tag != "" {
		return ":" + r.Tag
	}
	return ""
}
