package mirror

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// repoCheck is one destination repository's pre-flight, made once per
// Copier however many of its images are checked or copied.
type repoCheck struct {
	done    chan struct{} // closed when the answer is in
	err     error
	warning string
	// answer is the refusal tags/list got, kept for its message: a HEAD
	// refused later carries none.
	answer *RegistryError
}

// preflight asks, before any byte is pulled, whether the destination
// repository can take an image that is not there: GET
// /v2/<repo>/tags/list?n=1 tells a missing repository (NAME_UNKNOWN) from
// a missing tag, which a manifest HEAD cannot. It refuses only on an
// explicit answer that the push would fail too: a repository missing on
// Artifact Registry, which never creates one on push, or Harbor's missing
// project. ECR creates a missing repository only through a repository
// creation template, which this answer does not show: that is a warning,
// and the copy's first blob upload, made before any source blob is read,
// confirms; so does a denied read (GitLab, outside an existing project).
// Distribution, ACR, Docker Hub and the like answer NAME_UNKNOWN too but
// create the repository on push; any other answer is left to the copy.
func (c *Copier) preflight(ctx context.Context, dst side) (warning string, err error) {
	key := dst.repo.String()
	c.reposMu.Lock()
	rc, ok := c.repos[key]
	if !ok {
		rc = &repoCheck{done: make(chan struct{})}
		c.repos[key] = rc
	}
	c.reposMu.Unlock()
	if !ok {
		rc.warning, rc.err = c.askRepository(ctx, dst, rc)
		if ctx.Err() != nil {
			// Not an answer: a later call asks again.
			c.reposMu.Lock()
			delete(c.repos, key)
			c.reposMu.Unlock()
		}
		close(rc.done)
	}
	select {
	case <-rc.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return rc.warning, rc.err
}

// explain gives a destination refusal that came without a message (the
// answer to a HEAD) the message the same registry gave the pre-flight for
// the same repository with the same status.
func (c *Copier) explain(err error) {
	var re *RegistryError
	if !errors.As(err, &re) || re.Role != "destination" || len(re.Codes) > 0 {
		return
	}
	c.reposMu.Lock()
	rc := c.repos[re.repo]
	c.reposMu.Unlock()
	if rc == nil {
		return
	}
	<-rc.done // the pre-flight, bounded by its context, has answered
	if a := rc.answer; a != nil && a.Status == re.Status {
		re.Message, re.Codes = a.Message, a.Codes
	}
}

func (c *Copier) askRepository(ctx context.Context, dst side, rc *repoCheck) (string, error) {
	tr, err := c.puller.transport(ctx, dst.repo.Registry)
	if err != nil {
		return "", nil //nolint:nilerr // the copy meets the same failure and reports it
	}
	u := url.URL{
		Scheme:   dst.repo.Scheme(),
		Host:     dst.repo.RegistryStr(),
		Path:     "/v2/" + dst.repo.RepositoryStr() + "/tags/list",
		RawQuery: "n=1",
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return "", ctx.Err()
	}
	defer resp.Body.Close()
	err = transport.CheckError(resp, http.StatusOK)
	var te *transport.Error
	if err == nil || !errors.As(err, &te) {
		return "", nil
	}
	e := dst.classify("checking repository "+dst.repo.String(), asked{}, te)
	rc.answer = e
	switch {
	case e == nil:
		return "", nil
	case e.Refusal == RefusedProjectMissing:
		return "", e
	case e.Refusal == RefusedDenied:
		// GitLab denies a path outside an existing project; Artifactory
		// may deny a read it would let a push through.
		return fmt.Sprintf("reading repository %s was denied (%s); the copy's push will confirm whether it may be written: %s",
			dst.repo, e.Message, e.Remedy), nil
	case e.Refusal != RefusedRepositoryMissing:
		return "", nil
	case isArtifactRegistry(dst.host):
		return "", e
	case isECR(dst.host) || ecrMissing.MatchString(e.Message):
		return fmt.Sprintf("repository %s does not exist (%s): unless a repository creation template creates it on push, the copy will fail: %s",
			dst.repo, e.Message, e.Remedy), nil
	}
	return "", nil
}
