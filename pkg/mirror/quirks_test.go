package mirror_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// quirk is one documented behaviour of an enterprise registry that CNCF
// Distribution does not have (see REGISTRIES.md), reproduced in front of
// the in-process registry. serve answers the request itself and reports
// true, or leaves it to the registry.
type quirk func(q *quirkState, w http.ResponseWriter, r *http.Request) bool

// quirkState is what a quirk layer knows: the repositories that exist
// (nil: all), the tags written through it, and the registry behind it.
type quirkState struct {
	mu       sync.Mutex
	repos    map[string]bool // repositories that exist, for the registries that refuse the rest
	projects map[string]bool // Harbor projects that exist
	next     http.Handler
}

// withQuirks wraps the in-process registry in the quirks, in order.
func withQuirks(st *quirkState, quirks ...quirk) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		st.next = next
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, q := range quirks {
				if q(st, w, r) {
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// repoOf is the repository of a /v2/<repo>/(manifests|blobs|tags|referrers)/
// path, and what follows it.
func repoOf(path string) (repo, kind, rest string) {
	p := strings.TrimPrefix(path, "/v2/")
	for _, k := range []string{"/manifests/", "/blobs/", "/tags/", "/referrers/"} {
		if i := strings.LastIndex(p, k); i > 0 {
			return p[:i], strings.Trim(k, "/"), p[i+len(k):]
		}
	}
	return "", "", ""
}

// registryError answers with the distribution-spec error body.
func registryError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": message}}})
}

// ecrRepositoriesMustExist: ECR answers 404 NAME_UNKNOWN to every request
// for a repository that was not created (aws/containers-roadmap#853,
// regclient#869, plexsystems/sinker#55); a manifest HEAD cannot tell that
// from a missing tag, tags/list can.
func ecrRepositoriesMustExist(q *quirkState, w http.ResponseWriter, r *http.Request) bool {
	repo, _, _ := repoOf(r.URL.Path)
	q.mu.Lock()
	exists := repo == "" || q.repos[repo]
	q.mu.Unlock()
	if exists {
		return false
	}
	registryError(w, r, http.StatusNotFound, "NAME_UNKNOWN",
		fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '123456789012'", repo))
	return true
}

// harborProjectsMustExist: Harbor answers a repository under a project
// that does not exist with 403 "project … not found" (goharbor/harbor#20544,
// #6892).
func harborProjectsMustExist(q *quirkState, w http.ResponseWriter, r *http.Request) bool {
	return harborMissingProject(http.StatusForbidden, "DENIED")(q, w, r)
}

// harborMissingProject answers as Harbor does for a project that does not
// exist, with status and code: 401 UNAUTHORIZED or 403 DENIED, depending on
// the version and the credentials (goharbor/harbor#20544, #6892).
func harborMissingProject(status int, code string) quirk {
	return func(q *quirkState, w http.ResponseWriter, r *http.Request) bool {
		repo, _, _ := repoOf(r.URL.Path)
		project, _, _ := strings.Cut(repo, "/")
		q.mu.Lock()
		exists := repo == "" || q.projects[project]
		q.mu.Unlock()
		if exists {
			return false
		}
		registryError(w, r, status, code, fmt.Sprintf("project %s not found", project))
		return true
	}
}

// tagExists asks the registry behind the quirks whether repo has tag.
func (q *quirkState) tagExists(r *http.Request, repo, tag string) bool {
	head, _ := http.NewRequestWithContext(r.Context(), http.MethodHead, "/v2/"+repo+"/manifests/"+tag, nil)
	rec := &headRecorder{header: http.Header{}}
	q.next.ServeHTTP(rec, head)
	return rec.code == http.StatusOK
}

type headRecorder struct {
	header http.Header
	code   int
}

func (h *headRecorder) Header() http.Header         { return h.header }
func (h *headRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headRecorder) WriteHeader(code int)        { h.code = code }

// isTagPut is a manifest PUT to a tag (not a digest).
func isTagPut(r *http.Request) (repo, tag string, ok bool) {
	repo, kind, rest := repoOf(r.URL.Path)
	if r.Method != http.MethodPut || kind != "manifests" || strings.HasPrefix(rest, "sha256:") {
		return "", "", false
	}
	return repo, rest, true
}

// ecrImmutableTags: with IMMUTABLE tags ECR refuses to write a tag that
// exists, even with the same digest (kaniko#204, buildkit#3776,
// cosign#313).
func ecrImmutableTags(q *quirkState, w http.ResponseWriter, r *http.Request) bool {
	repo, tag, ok := isTagPut(r)
	if !ok || !q.tagExists(r, repo, tag) {
		return false
	}
	registryError(w, r, http.StatusBadRequest, "TAG_INVALID",
		fmt.Sprintf("The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the tag is immutable.", tag, repo))
	return true
}

// harborImmutabilityRule: a Harbor tag immutability rule answers 412 to a
// rewrite of a tag it protects (goharbor/harbor#17928).
func harborImmutabilityRule(q *quirkState, w http.ResponseWriter, r *http.Request) bool {
	repo, tag, ok := isTagPut(r)
	if !ok || !q.tagExists(r, repo, tag) {
		return false
	}
	registryError(w, r, http.StatusPreconditionFailed, "PRECONDITION",
		fmt.Sprintf("Failed to process request due to '%s' configured as immutable.", tag))
	return true
}

// zotNoDocker: zot refuses Docker v2s2 manifests unless http.compat lists
// "docker2s2" (project-zot/zot#4290, #2234).
func zotNoDocker(_ *quirkState, w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/manifests/") ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/vnd.docker.") {
		return false
	}
	registryError(w, r, http.StatusUnsupportedMediaType, "MANIFEST_INVALID", "manifest invalid")
	return true
}

// quayNoArtifacts: Quay without its OCI artifact feature flags refuses
// manifests whose config is not an image config, such as cosign's and
// other OCI artifacts (deckhouse#10672, oc-mirror#253).
func quayNoArtifacts(_ *quirkState, w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/manifests/") {
		return false
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var m struct {
		Config struct {
			MediaType types.MediaType `json:"mediaType"`
		} `json:"config"`
	}
	if json.Unmarshal(body, &m) != nil || m.Config.MediaType == "" ||
		m.Config.MediaType == types.OCIConfigJSON || m.Config.MediaType == types.DockerConfigJSON {
		return false
	}
	registryError(w, r, http.StatusBadRequest, "MANIFEST_INVALID", "manifest invalid")
	return true
}

// sourceBlobGets counts the blob reads a registry answered.
func sourceBlobGets(rec *recorder) int {
	n := 0
	for _, r := range rec.reset() {
		if r.Method == http.MethodGet && strings.Contains(r.Path, "/blobs/sha256:") {
			n++
		}
	}
	return n
}

// artifactoryHidesAbsent: Artifactory answers 403, not 404, for a tag that
// does not exist (virtual repositories, limited permissions;
// go-containerregistry#1691, cosign#2973).
func artifactoryHidesAbsent(q *quirkState, w http.ResponseWriter, r *http.Request) bool {
	repo, kind, ref := repoOf(r.URL.Path)
	if kind != "manifests" || (r.Method != http.MethodHead && r.Method != http.MethodGet) || q.tagExists(r, repo, ref) {
		return false
	}
	registryError(w, r, http.StatusForbidden, "DENIED", "Permission denied")
	return true
}

// reply is an answer a quirk gives.
type reply struct {
	status      int
	contentType string
	body        string
}

// referrersAnswer answers the referrers API as a registry without it does,
// with *cur while it is set.
func referrersAnswer(cur *atomic.Pointer[reply]) quirk {
	return func(_ *quirkState, w http.ResponseWriter, r *http.Request) bool {
		a := cur.Load()
		if _, kind, _ := repoOf(r.URL.Path); kind != "referrers" || a == nil {
			return false
		}
		w.Header().Set("Content-Type", a.contentType)
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
		return true
	}
}

// signInPage is what Artifact Registry once answered /referrers/ with
// (soci-snapshotter#512).
const signInPage = "<!DOCTYPE html>\n<html><head><title>Sign in - Google Accounts</title></head><body>Sign in</body></html>\n"

// strongReferences refuses a cosign tag or a manifest with a subject
// whose subject is not in the repository, as registries that keep strong
// references do (distribution-spec#459, #505).
func strongReferences(q *quirkState, w http.ResponseWriter, r *http.Request) bool {
	repo, kind, ref := repoOf(r.URL.Path)
	if r.Method != http.MethodPut || kind != "manifests" {
		return false
	}
	subject := ""
	for _, suffix := range []string{".sig", ".att", ".sbom"} {
		if strings.HasPrefix(ref, "sha256-") && strings.HasSuffix(ref, suffix) {
			subject = "sha256:" + strings.TrimSuffix(strings.TrimPrefix(ref, "sha256-"), suffix)
		}
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var m struct {
		Subject *struct {
			Digest string `json:"digest"`
		} `json:"subject"`
	}
	if json.Unmarshal(body, &m) == nil && m.Subject != nil {
		subject = m.Subject.Digest
	}
	if subject == "" || q.tagExists(r, repo, subject) {
		return false
	}
	registryError(w, r, http.StatusBadRequest, "MANIFEST_INVALID", "subject "+subject+" does not exist")
	return true
}

// nexusNoRedeploy: Nexus serves no referrers API and, with redeploy
// disabled, refuses to rewrite any tag, the referrers fallback tag
// included once a subject gains a second referrer (zarf#2352, buildx#1660).
func nexusNoRedeploy(q *quirkState, w http.ResponseWriter, r *http.Request) bool {
	repo, kind, _ := repoOf(r.URL.Path)
	if kind == "referrers" {
		registryError(w, r, http.StatusNotFound, "NOT_FOUND", "Not Found")
		return true
	}
	_, tag, ok := isTagPut(r)
	if !ok || !q.tagExists(r, repo, tag) {
		return false
	}
	registryError(w, r, http.StatusBadRequest, "UNKNOWN", "Repository does not allow updating assets: docker-hosted")
	return true
}

// gitlabProjectsMustExist: GitLab's registry denies a path that does not
// sit under an existing project (gitlab container-registry#968, #1205).
func gitlabProjectsMustExist(q *quirkState, w http.ResponseWriter, r *http.Request) bool {
	repo, _, _ := repoOf(r.URL.Path)
	project, _, _ := strings.Cut(repo, "/")
	q.mu.Lock()
	exists := repo == "" || q.projects[project]
	q.mu.Unlock()
	if exists {
		return false
	}
	registryError(w, r, http.StatusForbidden, "DENIED", "requested access to the resource is denied")
	return true
}

// authRequired answers every repository request 401, as a registry does
// to a client without credentials.
func authRequired(_ *quirkState, w http.ResponseWriter, r *http.Request) bool {
	if repo, _, _ := repoOf(r.URL.Path); repo == "" {
		return false
	}
	registryError(w, r, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
	return true
}
