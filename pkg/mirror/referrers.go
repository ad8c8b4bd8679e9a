package mirror

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxReferrersIndex bounds a referrers answer read into memory.
const maxReferrersIndex = 4 << 20

// referrers lists the manifests whose subject is d in s's repository. A
// registry that answers the referrers API with an OCI image index serves
// it (api is true). Any other answer — 404, 400 as Quay gives, 405, 501,
// 403, or a 200 that is not an index, such as the HTML sign-in page
// Artifact Registry once answered (soci-snapshotter#512) — means it has no
// referrers API, and the fallback tag sha256-<hex> is read instead.
func (c *Copier) referrers(ctx context.Context, s side, d v1.Hash) (list []v1.Descriptor, api bool, err error) {
	tr, err := c.puller.transport(ctx, s.repo.Registry)
	if err != nil {
		return nil, false, s.wrap("listing referrers of "+d.String(), err)
	}
	u := url.URL{
		Scheme: s.repo.Scheme(),
		Host:   s.repo.RegistryStr(),
		Path:   "/v2/" + s.repo.RepositoryStr() + "/referrers/" + d.String(),
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Accept", string(types.OCIImageIndex))
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, false, s.wrap("listing referrers of "+d.String(), err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxReferrersIndex))
		if err != nil {
			return nil, false, s.wrap("listing referrers of "+d.String(), err)
		}
		if im, ok := asReferrersIndex(body, resp.Header.Get("Content-Type")); ok {
			return im.Manifests, true, nil
		}
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusMethodNotAllowed, http.StatusNotAcceptable, http.StatusNotImplemented:
	default:
		return nil, false, s.wrap("listing referrers of "+d.String(), transport.CheckError(resp, http.StatusOK))
	}
	im, err := c.fallbackIndex(ctx, s, d)
	if err != nil {
		return nil, false, err
	}
	return im.Manifests, false, nil
}

// asReferrersIndex reads body, of contentType, as the referrers API's
// answer: an OCI image index of schema version 2, its media type said in
// the body or, where the body leaves it out, in the Content-Type.
func asReferrersIndex(body []byte, contentType string) (*v1.IndexManifest, bool) {
	var im v1.IndexManifest
	if err := json.Unmarshal(body, &im); err != nil || im.SchemaVersion != 2 {
		return nil, false
	}
	mt, _, _ := strings.Cut(contentType, ";")
	if im.MediaType != types.OCIImageIndex && (im.MediaType != "" || strings.TrimSpace(mt) != string(types.OCIImageIndex)) {
		return nil, false
	}
	return &im, true
}

// fallbackTag is the referrers tag schema's tag for d: sha256-<hex>.
func fallbackTag(repo name.Repository, d v1.Hash) name.Tag {
	return repo.Tag(strings.Replace(d.String(), ":", "-", 1))
}

// fallbackIndex reads the fallback tag's index; none is an empty index.
func (c *Copier) fallbackIndex(ctx context.Context, s side, d v1.Hash) (*v1.IndexManifest, error) {
	t := fallbackTag(s.repo, d)
	desc, err := c.puller.Get(ctx, t)
	if absentOrHidden(err) {
		return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, nil
	}
	if err != nil {
		return nil, s.wrap("reading "+t.String(), err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(desc.Manifest, &im); err != nil {
		return nil, fmt.Errorf("reading %s: not an image index: %w", t, err)
	}
	return &im, nil
}

// confirmReferrers reads back the destination's referrers of d after want
// were copied. A registry without a referrers API (see referrers) gets the
// missing ones added to its fallback tag, as go-containerregistry does
// only when the API answers 404 or 400. It returns a warning when a
// registry with the API does not list them.
func (c *Copier) confirmReferrers(ctx context.Context, dst side, d v1.Hash, want []v1.Descriptor) (string, error) {
	have, api, err := c.referrers(ctx, dst, d)
	if err != nil {
		return "", err
	}
	listed := map[v1.Hash]bool{}
	for _, h := range have {
		listed[h.Digest] = true
	}
	var missing []v1.Descriptor
	for _, w := range want {
		if !listed[w.Digest] {
			missing = append(missing, w)
		}
	}
	if len(missing) == 0 {
		return "", nil
	}
	if api {
		return fmt.Sprintf("the referrers API of %s does not list %d of the referrers of %s copied to it", dst.repo, len(missing), d), nil
	}
	im, err := c.fallbackIndex(ctx, dst, d)
	if err != nil {
		return "", err
	}
	im.SchemaVersion, im.MediaType = 2, types.OCIImageIndex
	im.Manifests = append(im.Manifests, missing...)
	raw, err := json.Marshal(im)
	if err != nil {
		return "", err
	}
	t := fallbackTag(dst.repo, d)
	idx := rawManifest{raw: raw, mt: types.OCIImageIndex}
	if err := c.pusher.Put(ctx, t, idx); err != nil {
		return "", dst.wrapPut(t, idx, err)
	}
	return "", nil
}
