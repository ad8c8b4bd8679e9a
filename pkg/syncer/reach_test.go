package syncer_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testnet"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/syncer"
)

// paths records the paths a registry was asked for.
type paths struct {
	next http.Handler
	mu   sync.Mutex
	seen []string
}

func (p *paths) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.seen = append(p.seen, r.URL.Path)
	p.mu.Unlock()
	p.next.ServeHTTP(w, r)
}

// TestPlanReachabilityFirst: with the target unreachable, Plan fails in
// one bounded step with one line naming the target's host, before any
// image is looked at: the source registry sees its /v2/ probe and nothing
// else.
func TestPlanReachabilityFirst(t *testing.T) {
	src := &paths{next: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(src)
	defer srv.Close()
	srcHost := strings.TrimPrefix(srv.URL, "http://")
	closed := testnet.ClosedPort(t)
	cfg := func(target string, offline bool, m *imagemap.ImageMap) syncer.Config {
		return syncer.Config{
			Origins: []inventory.Origin{inventory.FileOrigin{}},
			Input: inventory.Input{ImagesFile: "-",
				Stdin: strings.NewReader(srcHost + "/atlanhq/atlan-a:1\n" + srcHost + "/atlanhq/atlan-b:2\n" + srcHost + "/atlanhq/atlan-c:3\n")},
			AllowedSources: []string{srcHost + "/atlanhq"},
			ImageMap:       m,
			Target:         target,
			Concurrency:    2,
			Offline:        offline,
		}
	}

	start := time.Now()
	run, err := syncer.Plan(context.Background(), cfg(closed+"/atlan", false, imagemap.New()))
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Plan against an unreachable target took %s, want a bounded few seconds", d)
	}
	want := `destination registry "` + closed + `" is unreachable (connection refused)`
	if err == nil || run != nil || strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), want) {
		t.Fatalf("Plan against an unreachable target = %v, %v; want one line %q and no plan", run, err, want)
	}
	var ue *mirror.UnreachableError
	if !errors.As(err, &ue) || ue.Host != closed {
		t.Errorf("Plan error %T names %+v, want *mirror.UnreachableError for %s", err, ue, closed)
	}
	src.mu.Lock()
	for _, p := range src.seen {
		if p != "/v2/" {
			t.Errorf("source registry was asked for %s before the target was found unreachable", p)
		}
	}
	src.mu.Unlock()

	// A map entry sends the images elsewhere: the unused target is not
	// probed, the entry's destination is.
	m := imagemap.New()
	if _, err := m.Set(srcHost+"/atlanhq/atlan-a", srcHost+"/mirror/atlan-a"); err != nil {
		t.Fatal(err)
	}
	c := cfg(closed+"/atlan", false, m)
	c.Input.Stdin = strings.NewReader(srcHost + "/atlanhq/atlan-a:1\n")
	if _, err := syncer.Plan(context.Background(), c); err != nil {
		t.Errorf("Plan with every image mapped to a reachable registry = %v, want the unused target left alone", err)
	}

	// A target that is a bare host is probed on that host.
	if _, err := syncer.Plan(context.Background(), cfg(closed, false, imagemap.New())); err == nil || !strings.Contains(err.Error(), `registry "`+closed+`" is unreachable`) {
		t.Errorf("Plan with the bare host %s as target = %v, want it named unreachable", closed, err)
	}

	// Offline plans talk to no registry.
	if _, err := syncer.Plan(context.Background(), cfg(closed+"/atlan", true, imagemap.New())); err != nil {
		t.Errorf("offline Plan = %v, want no probe", err)
	}
}

// TestLoadMapUnreachableBucket: the map's bucket is probed before it is
// read, failing with one line naming the endpoint.
func TestLoadMapUnreachableBucket(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAPROBETEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "probe-secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	closed := testnet.ClosedPort(t)
	obj, err := store.OpenBucket(context.Background(), "s3://b?endpoint=http://"+closed+"&region=us-east-1&use_path_style=true", "sdr/image-map.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	start := time.Now()
	m, err := syncer.LoadMap(context.Background(), obj, nil)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("LoadMap from an unreachable bucket took %s, want a bounded few seconds", d)
	}
	var ue *store.UnreachableError
	if m != nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), "at "+closed+" (connection refused)") {
		t.Errorf("LoadMap from an unreachable bucket = %v, %v; want one line naming %s", m, err, closed)
	}
}
