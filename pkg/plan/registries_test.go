package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

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
			path := filepath.Join(t.TempDir(), "image-map.yaml")
			if err := os.WriteFile(path, []byte(empty), 0o600); err != nil {
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
