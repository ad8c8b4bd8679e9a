package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// serve starts the in-process registry on 127.0.0.1 behind refuse, which
// answers a request itself or returns false; blobGets counts the blob
// reads it answered.
func serve(t *testing.T, refuse func(w http.ResponseWriter, r *http.Request) bool) (host string, blobGets *atomic.Int64) {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	blobGets = &atomic.Int64{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") {
			blobGets.Add(1)
		}
		if refuse != nil && refuse(w, r) {
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://"), blobGets
}

// emptyMapAndCopier is an empty image map in a file and a copier with
// short retries, as a sync into a quirky registry starts.
func emptyMapAndCopier(ctx context.Context, t *testing.T) (store.Object, *imagemap.ImageMap, *mirror.Copier) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "image-map.yaml")
	if err := os.WriteFile(path, []byte("images: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	obj := store.File(path)
	t.Cleanup(func() { _ = obj.Close() })
	m, err := store.LoadMap(ctx, obj)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mirror.New(mirror.WithKeychain(authn.NewMultiKeychain()), mirror.WithRetry(2, 10*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return obj, m, c
}

func refuseWith(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}

// TestDestinationCannotTake runs diff's plan and sync's apply against
// destinations that refuse a repository: the plan shows it before any
// copy, the sync pulls no source blob, and the map gains no entry.
func TestDestinationCannotTake(t *testing.T) {
	tests := []struct {
		name   string
		refuse func(w http.ResponseWriter, r *http.Request) bool
		// planState and planDetail are the row diff shows.
		planState  State
		planDetail []string
		syncError  []string
	}{
		{
			// goharbor/harbor#20544, #6892: a project must exist before a push.
			name: "Harbor project missing",
			refuse: func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasPrefix(r.URL.Path, "/v2/atlan/") {
					return false
				}
				refuseWith(w, http.StatusForbidden, "DENIED", "project atlan not found")
				return true
			},
			planState:  Error,
			planDetail: []string{"DENIED: project atlan not found", `create the Harbor project "atlan"`},
			syncError:  []string{"DENIED: project atlan not found", `create the Harbor project "atlan"`},
		},
		{
			// aws/containers-roadmap#853: an ECR repository must exist, unless
			// a repository creation template creates it on push.
			name: "ECR repository missing",
			refuse: func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasPrefix(r.URL.Path, "/v2/atlan/") {
					return false
				}
				refuseWith(w, http.StatusNotFound, "NAME_UNKNOWN", "The repository with name 'atlan/app' does not exist in the registry with id '123456789012'")
				return true
			},
			planState:  Unmapped,
			planDetail: []string{"repository", "does not exist", `create the ECR repository "atlan/app"`, "CREATE_ON_PUSH"},
			syncError:  []string{"NAME_UNKNOWN: The repository with name 'atlan/app' does not exist", `create the ECR repository "atlan/app"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			src, srcBlobs := serve(t, nil)
			dst, _ := serve(t, tc.refuse)
			img, err := random.Image(1024, 2)
			if err != nil {
				t.Fatal(err)
			}
			source := src + "/atlanhq/app:1.0"
			ref, _ := name.ParseReference(source)
			if err := remote.Write(ref, img); err != nil {
				t.Fatal(err)
			}
			srcBlobs.Store(0)

			const empty = "images: {}\n"
			obj, m, c := emptyMapAndCopier(ctx, t)
			p, err := Build(ctx, []inventory.Item{{Image: source, Why: []string{"file:images.txt"}}}, m,
				WithTarget(dst+"/atlan"), WithRegistry(c))
			if err != nil {
				t.Fatal(err)
			}
			it := p.Images[0]
			if it.State != tc.planState {
				t.Errorf("plan state = %s (%s%s), want %s", it.State, it.Error, it.Warning, tc.planState)
			}
			detail := it.Error + it.Warning
			for _, w := range tc.planDetail {
				if !strings.Contains(detail, w) {
					t.Errorf("plan detail = %q\nwant it to contain %q", detail, w)
				}
			}

			if _, err := (Apply{Copier: c, Map: obj}).Run(ctx, p); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			it = p.Images[0]
			if it.State != Error {
				t.Errorf("state after sync = %s, want error", it.State)
			}
			if strings.Contains(it.Error, "\n") {
				t.Errorf("sync error %q, want one line", it.Error)
			}
			for _, w := range tc.syncError {
				if !strings.Contains(it.Error, w) {
					t.Errorf("sync error = %q\nwant it to contain %q", it.Error, w)
				}
			}
			if n := srcBlobs.Load(); n != 0 {
				t.Errorf("the source answered %d blob reads, want none", n)
			}
			if got := readBack(t, obj); !bytes.Equal(got, []byte(empty)) {
				t.Errorf("the map is now\n%s\nwant it unchanged", got)
			}
		})
	}
}

// fakeCreator creates repositories in a registry that refuses a push into
// one that does not exist, as ECR does; deny names repositories it may not
// create.
type fakeCreator struct {
	mu      sync.Mutex
	exists  map[string]bool // HOST/PATH
	deny    map[string]bool
	asked   [][]string
	created []string
}

func (f *fakeCreator) Create(_ context.Context, repos []string) ([]string, map[string]error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, repos)
	var created []string
	failed := map[string]error{}
	for _, r := range repos {
		switch {
		case f.deny[r]:
			failed[r] = fmt.Errorf("creating ECR repository %q: AccessDeniedException: not authorized to perform: ecr:CreateRepository", r)
		case !f.exists[r]:
			f.exists[r] = true
			created = append(created, r)
		}
	}
	f.created = append(f.created, created...)
	return created, failed
}

func (f *fakeCreator) has(repo string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exists[repo]
}

// TestCreateRepositories: with a repository creator, sync creates the
// missing destination repositories (each once) before the copy, and the
// images land and are mapped; a repository that cannot be created is an
// error row with the creator's words, its image is not pulled and the map
// gains no entry for it.
func TestCreateRepositories(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	creator := &fakeCreator{exists: map[string]bool{}, deny: map[string]bool{}}
	var dst string
	// aws/containers-roadmap#853: ECR answers NAME_UNKNOWN for a
	// repository that does not exist.
	dst, _ = serve(t, func(w http.ResponseWriter, r *http.Request) bool {
		var repo string
		ok := false
		for _, sep := range []string{"/manifests/", "/blobs/", "/tags/"} {
			if repo, _, ok = strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), sep); ok {
				break
			}
		}
		if !ok || creator.has(dst+"/"+repo) {
			return false
		}
		refuseWith(w, http.StatusNotFound, "NAME_UNKNOWN", "The repository with name '"+repo+"' does not exist in the registry with id '123456789012'")
		return true
	})
	src, srcBlobs := serve(t, nil)
	var items []inventory.Item
	for _, app := range []string{"a", "b", "denied"} {
		img, err := random.Image(1024, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, tag := range []string{"1.0", "2.0"} {
			ref, _ := name.ParseReference(src + "/atlanhq/app-" + app + ":" + tag)
			if err := remote.Write(ref, img); err != nil {
				t.Fatal(err)
			}
			items = append(items, inventory.Item{Image: ref.String(), Why: []string{"file:images.txt"}})
		}
	}
	creator.deny[dst+"/atlan/app-denied"] = true
	obj, m, c := emptyMapAndCopier(ctx, t)
	p, err := Build(ctx, items, m, WithTarget(dst+"/atlan"), WithRegistry(c))
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range p.Images {
		if !strings.Contains(it.Warning, "create the ECR repository") {
			t.Errorf("plan row %s warns %q, want the pre-flight's missing repository", it.Source, it.Warning)
		}
	}
	srcBlobs.Store(0)
	out, err := (Apply{Copier: c, Map: obj, Repositories: creator}).Run(ctx, p)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(creator.asked) != 1 || len(creator.asked[0]) != 3 {
		t.Errorf("the creator was asked %q, want the three repositories once", creator.asked)
	}
	want := []string{dst + "/atlan/app-a", dst + "/atlan/app-b"}
	if !slices.Equal(out.CreatedRepositories, want) {
		t.Errorf("created %q, want %q", out.CreatedRepositories, want)
	}
	for _, it := range p.Images {
		denied := strings.Contains(it.Source, "app-denied")
		switch {
		case denied && (it.State != Error || !strings.Contains(it.Error, "AccessDeniedException") || strings.Contains(it.Error, "\n")):
			t.Errorf("%s: %s %q, want one error line with the creator's words", it.Source, it.State, it.Error)
		case !denied && (it.State != OK || it.TargetDigest != it.Digest || it.Warning != ""):
			t.Errorf("%s: %s, target digest %s, warning %q; want copied and mapped, without the pre-flight's warning", it.Source, it.State, it.TargetDigest, it.Warning)
		}
	}
	if len(out.Added) != 2 || out.Copied != 4 {
		t.Errorf("added %q, copied %d; want the two created repositories mapped and four images copied", out.Added, out.Copied)
	}
	if got := string(readBack(t, obj)); strings.Contains(got, "app-denied") {
		t.Errorf("the map holds the image whose repository could not be created:\n%s", got)
	}
	// Two images of two repositories pulled; nothing of app-denied's.
	if n := srcBlobs.Load(); n == 0 {
		t.Error("the source answered no blob reads, want the copied images'")
	}
}
