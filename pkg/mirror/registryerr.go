package mirror

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// Refusal is what kind of refusal a registry answered with, as far as its
// status, error codes and message tell.
type Refusal string

// The refusals RegistryError tells apart. Each has its own remedy; the
// registry's own message is kept with all of them.
const (
	// RefusedUnauthorized: 401, credentials missing or wrong.
	RefusedUnauthorized Refusal = "unauthorized"
	// RefusedDenied: 403 or DENIED, the identity may not do this.
	RefusedDenied Refusal = "denied"
	// RefusedRepositoryMissing: NAME_UNKNOWN, the repository does not exist.
	RefusedRepositoryMissing Refusal = "repository-missing"
	// RefusedProjectMissing: Harbor's "project … not found".
	RefusedProjectMissing Refusal = "project-missing"
	// RefusedImmutableTag: TAG_INVALID or "immutable" (ECR's image tag
	// immutability).
	RefusedImmutableTag Refusal = "immutable-tag"
	// RefusedImmutabilityRule: 412, Harbor's tag immutability rules.
	RefusedImmutabilityRule Refusal = "immutability-rule"
	// RefusedMediaType: 415 or MANIFEST_INVALID for a manifest's media type
	// (zot without docker2s2 compatibility, Quay without OCI support).
	RefusedMediaType Refusal = "media-type"
	// RefusedUnsupported: UNSUPPORTED, the registry does not implement it.
	RefusedUnsupported Refusal = "unsupported"
	// RefusedTagRewrite: a registry that forbids rewriting any tag, such as
	// Nexus with redeploy disabled, refused the referrers fallback tag,
	// which is rewritten whenever a subject gains a referrer.
	RefusedTagRewrite Refusal = "tag-rewrite"
	// RefusedOther: an answer none of the above explains.
	RefusedOther Refusal = "other"
)

// RegistryError is a registry's refusal in its own words, with what fixes
// it. It is one line.
type RegistryError struct {
	// Role is "source" or "destination"; Host the registry.
	Role, Host string
	// Repository is the repository path on Host, when known.
	Repository string
	// What was being done: "writing HOST/REPO:TAG".
	What string
	// Status is the HTTP status; Codes the registry's error codes.
	Status int
	Codes  []string
	// Message is the registry's own message, on one line.
	Message string
	Refusal Refusal
	// Remedy says what fixes it; empty when nothing specific is known.
	Remedy string
	Err    error
	repo   string // the repository's full name, to find its pre-flight
}

func (e *RegistryError) Error() string {
	var b strings.Builder
	switch e.Refusal {
	case RefusedUnauthorized, RefusedDenied:
		verb := "authentication failed"
		if e.Refusal == RefusedDenied {
			verb = "access denied"
		}
		fmt.Fprintf(&b, "%s registry %q: %s (%s): %s", e.Role, e.Host, verb, e.What, e.Message)
	default:
		fmt.Fprintf(&b, "%s on %s registry %q: %s", e.What, e.Role, e.Host, e.Message)
	}
	if e.Remedy != "" {
		b.WriteString(": ")
		b.WriteString(e.Remedy)
	}
	return b.String()
}

func (e *RegistryError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrAuth) hold for a refusal of the credentials.
func (e *RegistryError) Is(target error) bool {
	return target == ErrAuth && (e.Refusal == RefusedUnauthorized || e.Refusal == RefusedDenied) //nolint:errorlint // comparing the sentinel itself
}

// asked is what a registry was asked when it refused: for a manifest
// written, its tag and media type.
type asked struct {
	tag       string
	mediaType types.MediaType
	// artifactType is an OCI artifact's type: its artifactType, or a
	// config media type that is not an image's.
	artifactType string
}

// artifactType reads an OCI artifact's type from its manifest: "" for an
// image or an index.
func artifactType(raw []byte) string {
	var m struct {
		ArtifactType string `json:"artifactType"`
		Config       *struct {
			MediaType types.MediaType `json:"mediaType"`
		} `json:"config"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	switch {
	case m.ArtifactType != "":
		return m.ArtifactType
	case m.Config != nil && m.Config.MediaType != types.OCIConfigJSON && m.Config.MediaType != types.DockerConfigJSON:
		return string(m.Config.MediaType)
	}
	return ""
}

// harborProject matches Harbor's answer for a project that does not exist
// (goharbor/harbor#20544, #6892): "project atlan not found".
var harborProject = regexp.MustCompile(`(?i)\bproject\s+"?([^\s"]+)"?\s+not\s+found`)

// ecrMissing matches ECR's NAME_UNKNOWN message for a repository that does
// not exist (aws/containers-roadmap#853): "The repository with name 'x'
// does not exist in the registry with id '123'".
var ecrMissing = regexp.MustCompile(`(?i)repository with name .* does not exist in the registry`)

// classify explains te, the answer of s's registry to what, for the
// request r. It returns nil when te is not a refusal worth explaining
// (a missing manifest, a server error): the caller wraps it as it is.
func (s side) classify(what string, r asked, te *transport.Error) *RegistryError {
	e := &RegistryError{
		Role: s.role, Host: s.host, What: what, Status: te.StatusCode,
		Message: registryMessage(te), Err: te,
	}
	if s.repo != (name.Repository{}) {
		e.Repository, e.repo = s.repo.RepositoryStr(), s.repo.String()
	}
	for _, d := range te.Errors {
		e.Codes = append(e.Codes, string(d.Code))
	}
	has := func(code transport.ErrorCode) bool {
		for _, d := range te.Errors {
			if d.Code == code {
				return true
			}
		}
		return false
	}
	msg := strings.ToLower(e.Message)
	switch {
	case harborProject.MatchString(e.Message):
		e.Refusal = RefusedProjectMissing
	case has(transport.NameUnknownErrorCode) || (s.role == "destination" && ecrMissing.MatchString(e.Message)):
		e.Refusal = RefusedRepositoryMissing
	case fallbackTagWrite(te) && (strings.Contains(msg, "does not allow updating") || te.StatusCode == http.StatusBadRequest):
		e.Refusal = RefusedTagRewrite
		if r.tag == "" {
			r.tag = path.Base(te.Request.URL.Path)
		}
	case te.StatusCode == http.StatusPreconditionFailed:
		e.Refusal = RefusedImmutabilityRule
	case has(transport.TagInvalidErrorCode) || strings.Contains(msg, "immutable"):
		e.Refusal = RefusedImmutableTag
	case te.StatusCode == http.StatusUnsupportedMediaType ||
		(has(transport.ManifestInvalidErrorCode) && r.mediaType != ""):
		e.Refusal = RefusedMediaType
	case has(transport.UnsupportedErrorCode):
		e.Refusal = RefusedUnsupported
	case te.StatusCode == http.StatusUnauthorized || has(transport.UnauthorizedErrorCode):
		e.Refusal = RefusedUnauthorized
	case te.StatusCode == http.StatusForbidden || has(transport.DeniedErrorCode):
		e.Refusal = RefusedDenied
	default:
		return nil
	}
	e.Remedy = s.remedy(e, r)
	return e
}

// remedy says what fixes e on the registry, as its documentation does.
func (s side) remedy(e *RegistryError, r asked) string {
	repo := e.Repository
	project, _, _ := strings.Cut(repo, "/")
	login := fmt.Sprintf("log in with 'docker login %s', or pass %s", s.host, setting.RegistryAuthFile)
	switch e.Refusal {
	case RefusedUnauthorized:
		return login
	case RefusedDenied:
		if s.role == "source" {
			return login
		}
		return fmt.Sprintf("%s; the identity needs push access to %q (on GitLab the path must sit under an existing project)", login, repo)
	case RefusedProjectMissing:
		if m := harborProject.FindStringSubmatch(e.Message); m != nil {
			project = m[1]
		}
		if s.role == "source" {
			return "check the image name"
		}
		return fmt.Sprintf("create the Harbor project %q and give the push identity (a robot account) push access to it, or pass %s naming an existing project", project, setting.Target)
	case RefusedRepositoryMissing:
		if s.role == "source" {
			return "check the image name"
		}
		return missingRepositoryRemedy(s.host, repo, e.Message)
	case RefusedTagRewrite:
		return fmt.Sprintf("the registry has no referrers API, so a subject's referrers are listed in the tag %q, which is rewritten when a referrer is added; allow that tag to be redeployed (Nexus: the repository's deployment policy \"Allow redeploy\")", r.tag)
	case RefusedImmutableTag:
		return fmt.Sprintf("the repository's tags are immutable: tag %q exists and cannot be rewritten, even with the same digest (cosign's .sig, .att and .sbom tags included); on ECR set the repository's image tag mutability to MUTABLE, or add an exclusion filter for the tag", r.tag)
	case RefusedImmutabilityRule:
		return fmt.Sprintf("a tag immutability rule of the Harbor project %q protects tag %q; exclude the tag from the rule (cosign's sha256-*.sig, .att and .sbom tags are rewritten when a signature is added), or remove the rule", project, r.tag)
	case RefusedMediaType:
		return mediaTypeRemedy(r)
	case RefusedUnsupported:
		if r.mediaType != "" {
			return mediaTypeRemedy(r)
		}
		return "the registry does not implement this request; check its version and OCI distribution support"
	}
	return ""
}

// missingRepositoryRemedy names how the registry at host gets repo.
func missingRepositoryRemedy(host, repo, message string) string {
	project, rest, _ := strings.Cut(repo, "/")
	switch {
	case isECR(host) || ecrMissing.MatchString(message):
		return fmt.Sprintf("create the ECR repository %q (pass %s, which needs the permission ecr:CreateRepository), or add a repository creation template with CREATE_ON_PUSH for the prefix %q", repo, setting.CreateRepositories, project)
	case isArtifactRegistry(host):
		// LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE
		location := strings.TrimSuffix(host, "-docker.pkg.dev")
		arRepo, _, _ := strings.Cut(rest, "/")
		return fmt.Sprintf("create the Artifact Registry repository %q, format docker, in project %q at location %q", arRepo, project, location)
	}
	return fmt.Sprintf("create the repository %q in the registry, or let the push identity create repositories", repo)
}

// mediaTypeRemedy explains a refused manifest: its media type, or the
// artifact type it carries. Media types are never converted: the digest
// would change and signatures would break.
func mediaTypeRemedy(r asked) string {
	const never = "media types are never converted (that changes the digest and breaks signatures)"
	switch {
	case strings.HasPrefix(string(r.mediaType), "application/vnd.docker."):
		return fmt.Sprintf("the registry refuses the Docker media type %q; %s: on zot add \"docker2s2\" to http.compat in its configuration", r.mediaType, never)
	case r.artifactType != "":
		return fmt.Sprintf("the registry refuses an OCI artifact of type %q (%s); %s: on Quay set FEATURE_GENERAL_OCI_SUPPORT and allow the artifact type in ALLOWED_OCI_ARTIFACT_TYPES", r.artifactType, r.mediaType, never)
	}
	return fmt.Sprintf("the registry refuses the media type %q; %s: enable OCI support in the registry (on Quay, FEATURE_GENERAL_OCI_SUPPORT)", r.mediaType, never)
}

func isECR(host string) bool {
	h, _, _ := strings.Cut(host, ":")
	return strings.Contains(h, ".dkr.ecr.") && (strings.HasSuffix(h, ".amazonaws.com") || strings.HasSuffix(h, ".amazonaws.com.cn"))
}

func isArtifactRegistry(host string) bool {
	h, _, _ := strings.Cut(host, ":")
	return strings.HasSuffix(h, "-docker.pkg.dev")
}

// fallbackTagPath is a manifest written under a referrers fallback tag.
var fallbackTagPath = regexp.MustCompile(`/manifests/sha256-[0-9a-f]{64}$`)

// fallbackTagWrite reports whether te answers the write of a referrers
// fallback tag (sha256-<hex>), which go-containerregistry makes when it
// pushes a referrer to a registry without the referrers API.
func fallbackTagWrite(te *transport.Error) bool {
	return te.Request != nil && te.Request.Method == http.MethodPut && te.Request.URL != nil &&
		fallbackTagPath.MatchString(te.Request.URL.Path)
}

// registryMessage is the registry's own words: its error codes and
// messages, or the status and the start of the body, on one line.
func registryMessage(te *transport.Error) string {
	var parts []string
	for _, d := range te.Errors {
		parts = append(parts, oneLine(d.String()))
	}
	if len(parts) > 0 {
		return strings.Join(parts, "; ")
	}
	msg := fmt.Sprintf("HTTP %d %s", te.StatusCode, http.StatusText(te.StatusCode))
	// The body, when there was one, follows the status in te's text.
	full := te.Error()
	if _, body, ok := strings.Cut(full, fmt.Sprintf("unexpected status code %d %s: ", te.StatusCode, http.StatusText(te.StatusCode))); ok && body != "" {
		msg += ": " + oneLine(body)
	}
	return msg
}

// oneLine folds whitespace and cuts a long text, so that one image's error
// stays one line even when a registry answers with a page of HTML.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const most = 300
	if r := []rune(s); len(r) > most {
		s = string(r[:most]) + "…"
	}
	return s
}

// asTransport finds the registry's answer in err.
func asTransport(err error) (*transport.Error, bool) {
	var te *transport.Error
	ok := errors.As(err, &te)
	return te, ok
}
