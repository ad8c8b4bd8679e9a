package cli

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

func TestRemedies(t *testing.T) {
	ctx := context.Background()
	_, noKey := store.OpenBucket(ctx, "file:///srv/bucket", "")
	_, noKeyComponent := store.OpenComponent(ctx, &store.Component{Name: "objectstore", Type: "bindings.localstorage"}, "", nil)
	_, twoMirrors := mirror.ParseMirrors([]string{"docker.io=m1:5000", "docker.io=m2:5000"})
	_, badChart := sdr.Find(ctx, nil, sdr.WithChartPattern("sdr("))
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"bucket without key", noKey, `bucket URL "file:///srv/bucket": no object key; pass --image-map-path`},
		{"component without key", noKeyComponent, `objectstore component "objectstore": no object key; pass --image-map-path`},
		{"two mirrors, wrapped", fmt.Errorf("copying: %w", twoMirrors),
			`copying: registry "index.docker.io" has two mirrors, "m1:5000" and "m2:5000": give one --registry-mirror per source host`},
		{"joined", errors.Join(noKey, twoMirrors),
			"bucket URL \"file:///srv/bucket\": no object key; pass --image-map-path\nregistry \"index.docker.io\" has two mirrors, \"m1:5000\" and \"m2:5000\": give one --registry-mirror per source host"},
		{"chart pattern", badChart, "SDR chart pattern \"sdr(\": error parsing regexp: missing closing ): `sdr(`; fix --sdr-chart"},
		{"no cause", errors.New("no remedy here"), "no remedy here"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := withRemedies(tc.err.Error(), tc.err); got != tc.want {
				t.Errorf("withRemedies(%q) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

func TestRemedyPrinted(t *testing.T) {
	f, _, errOut := newFactory(nil)
	code := Run(context.Background(), f, []string{"copy", "a:1", "b:1", "--registry-mirror", "docker.io=m1:5000", "--registry-mirror", "docker.io=m2:5000", "--color", "never"})
	want := "error: registry \"index.docker.io\" has two mirrors, \"m1:5000\" and \"m2:5000\": give one --registry-mirror per source host\n"
	if code != ExitError || errOut.String() != want {
		t.Errorf("Run(copy with two mirrors) = %d, stderr %q; want %d, %q", code, errOut, ExitError, want)
	}
}
