package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Server serves a bundle's images as read-only registries on the loopback
// interface, one per source registry the bundle names, reading the
// bundle's files in place. Point the copy engine's registry mirrors at it
// (Mirrors) and the copy, the plan and the signature gate read the bundle
// instead of the source registries, with no other change.
type Server struct {
	mirrors map[string]string
	servers []*http.Server
}

// Serve starts the bundle's registries; Close stops them.
func (b *Bundle) Serve(ctx context.Context) (*Server, error) {
	hosts := map[string][]*repoContent{}
	for _, rc := range b.repos {
		h := rc.repo.RegistryStr()
		hosts[h] = append(hosts[h], rc)
	}
	s := &Server{mirrors: map[string]string{}}
	for host, repos := range hosts {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			_ = s.Close()
			return nil, err
		}
		h := &layoutRegistry{b: b, repos: map[string]*repoContent{}}
		for _, rc := range repos {
			h.repos[rc.repo.RepositoryStr()] = rc
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		s.servers = append(s.servers, srv)
		s.mirrors[host] = ln.Addr().String()
	}
	return s, nil
}

// Mirrors maps each source registry host to the address serving it.
func (s *Server) Mirrors() map[string]string { return s.mirrors }

// Close stops every registry.
func (s *Server) Close() error {
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.Close())
	}
	return errors.Join(errs...)
}

// layoutRegistry answers the reads of the distribution API the copy engine and
// the signature gate make: manifests, blobs, tags and referrers.
type layoutRegistry struct {
	b     *Bundle
	repos map[string]*repoContent
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string][]apiError{"errors": {{Code: code, Message: msg}}})
}

func (h *layoutRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "a bundle is read-only")
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/v2/")
	if p == "" || r.URL.Path == "/v2" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
		return
	}
	for _, sep := range []string{"/manifests/", "/blobs/", "/referrers/", "/tags/list"} {
		i := strings.LastIndex(p, sep)
		if i < 0 {
			continue
		}
		repo, arg := p[:i], p[i+len(sep):]
		rc, ok := h.repos[repo]
		if !ok {
			writeError(w, http.StatusNotFound, "NAME_UNKNOWN", "repository "+repo+" is not in the bundle")
			return
		}
		switch sep {
		case "/manifests/":
			h.manifest(w, r, rc, arg)
		case "/blobs/":
			h.blob(w, r, arg)
		case "/referrers/":
			h.referrers(w, r, rc, arg)
		default:
			h.tagList(w, rc)
		}
		return
	}
	writeError(w, http.StatusNotFound, "UNSUPPORTED", "not served from a bundle")
}

func (h *layoutRegistry) manifest(w http.ResponseWriter, r *http.Request, rc *repoContent, ref string) {
	var d v1.Hash
	var mt types.MediaType
	if desc, ok := rc.tags[ref]; ok {
		d, mt = desc.Digest, desc.MediaType
	} else if hash, err := v1.NewHash(ref); err == nil {
		if m, ok := h.b.mediaTypes[hash]; ok {
			d, mt = hash, m
		}
	}
	if in, ok := rc.inside[ref]; ok && d.Hex == "" {
		h.insideManifest(w, r, in)
		return
	}
	if d.Hex == "" {
		writeError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest "+ref+" is not in the bundle")
		return
	}
	w.Header().Set("Content-Type", string(mt))
	h.serveFile(w, r, d)
}

func (h *layoutRegistry) blob(w http.ResponseWriter, r *http.Request, ref string) {
	d, err := v1.NewHash(ref)
	if err != nil {
		writeError(w, http.StatusBadRequest, "DIGEST_INVALID", err.Error())
		return
	}
	if home, ok := h.b.homes[d]; ok {
		writeError(w, http.StatusNotFound, "BLOB_UNKNOWN", "blob "+ref+" is external: the bundle leaves it out because "+home.Name()+" inside holds it")
		return
	}
	if _, ok := h.b.sums[BlobsDir+"/"+d.Hex]; !ok || d.Algorithm != "sha256" {
		writeError(w, http.StatusNotFound, "BLOB_UNKNOWN", "blob "+ref+" is not in the bundle")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	h.serveFile(w, r, d)
}

func (h *layoutRegistry) serveFile(w http.ResponseWriter, r *http.Request, d v1.Hash) {
	f, err := h.b.openBlob(d)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	defer f.Close()
	w.Header().Set("Docker-Content-Digest", d.String())
	http.ServeContent(w, r, "", time.Time{}, f)
}

// insideManifest answers for an image the inside holds already: a HEAD
// gets its digest, so a plan finds it in sync, but its manifest was not
// carried.
func (h *layoutRegistry) insideManifest(w http.ResponseWriter, r *http.Request, in Inside) {
	if r.Method != http.MethodHead {
		writeError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest of "+in.Source+" is not in the bundle: the lock it was exported against says "+in.Destination+" holds it")
		return
	}
	w.Header().Set("Content-Type", string(in.MediaType))
	w.Header().Set("Docker-Content-Digest", in.Digest)
	w.Header().Set("Content-Length", strconv.FormatInt(in.Size, 10))
	w.WriteHeader(http.StatusOK)
}

func (h *layoutRegistry) tagList(w http.ResponseWriter, rc *repoContent) {
	tags := make([]string, 0, len(rc.tags))
	for t := range rc.tags {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"name": rc.repo.RepositoryStr(), "tags": tags})
}

func (h *layoutRegistry) referrers(w http.ResponseWriter, r *http.Request, rc *repoContent, subject string) {
	want := r.URL.Query().Get("artifactType")
	out := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
	for _, d := range rc.referrers[subject] {
		if want != "" && d.ArtifactType != want {
			continue
		}
		d.Annotations = nil
		out.Manifests = append(out.Manifests, d)
	}
	if want != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.Header().Set("Content-Type", string(types.OCIImageIndex))
	_ = json.NewEncoder(w).Encode(out)
}
