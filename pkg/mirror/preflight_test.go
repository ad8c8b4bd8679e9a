package mirror_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

// TestDestinationPreflight looks at destination repositories before any
// byte is pulled: a registry that cannot take the image says so in Check
// (what diff shows) and in Copy, with the registry's message and the
// remedy, and no source blob is read. Registries that create repositories
// on push, or answer 403 for what is absent, are copied into.
func TestDestinationPreflight(t *testing.T) {
	tests := []struct {
		name   string
		quirks []quirk
		st     *quirkState
		// checkErr and checkWarn are what Check says; empty: nothing.
		checkErr, checkWarn []string
		// copyErr is Copy's one error line; empty: the copy succeeds.
		copyErr []string
	}{
		{
			// Distribution (and ACR, Docker Hub) answer NAME_UNKNOWN for a
			// repository not pushed yet, and create it on push.
			name: "Distribution creates on push",
		},
		{
			// goharbor/harbor#20544, #6892: a project must exist; Harbor
			// never creates one on push.
			name: "Harbor project missing", quirks: []quirk{harborProjectsMustExist},
			st:       &quirkState{projects: map[string]bool{}},
			checkErr: []string{"checking repository", "DENIED: project mirror not found", `create the Harbor project "mirror"`},
			copyErr:  []string{"DENIED: project mirror not found", `create the Harbor project "mirror"`},
		},
		{
			name: "Harbor project missing, answered 401", quirks: []quirk{harborMissingProject(http.StatusUnauthorized, "UNAUTHORIZED")},
			st:       &quirkState{projects: map[string]bool{}},
			checkErr: []string{"UNAUTHORIZED: project mirror not found", `create the Harbor project "mirror"`},
			copyErr:  []string{"UNAUTHORIZED: project mirror not found", `create the Harbor project "mirror"`},
		},
		{
			// aws/containers-roadmap#853: repositories must exist unless a
			// repository creation template creates them on push (AWS
			// what's-new 2025/12), which the registry API does not show.
			name: "ECR repository missing", quirks: []quirk{ecrRepositoriesMustExist},
			st: &quirkState{repos: map[string]bool{}},
			checkWarn: []string{"repository", "mirror/app-a does not exist", "The repository with name 'mirror/app-a' does not exist",
				`create the ECR repository "mirror/app-a"`, "CREATE_ON_PUSH"},
			copyErr: []string{"NAME_UNKNOWN: The repository with name 'mirror/app-a' does not exist", `create the ECR repository "mirror/app-a"`},
		},
		{
			// Any registry without credentials: the HEAD's 401 has no body;
			// the line carries the registry's words from the repository GET.
			name: "credentials missing", quirks: []quirk{authRequired},
			checkErr: []string{"authentication failed (checking", "UNAUTHORIZED: authentication required", "log in with"},
			copyErr:  []string{"authentication failed (checking", "UNAUTHORIZED: authentication required", "log in with"},
		},
		{
			// gitlab container-registry#968, #1205: a path outside an
			// existing project is denied; only the push can tell.
			name: "GitLab project missing", quirks: []quirk{gitlabProjectsMustExist},
			st:        &quirkState{projects: map[string]bool{}},
			checkWarn: []string{"reading repository", "was denied (DENIED: requested access to the resource is denied)", "on GitLab the path must sit under an existing project"},
			copyErr:   []string{"access denied", "DENIED: requested access to the resource is denied", "on GitLab the path must sit under an existing project"},
		},
		{
			name: "ECR repository exists", quirks: []quirk{ecrRepositoriesMustExist},
			st: &quirkState{repos: map[string]bool{"mirror/app-a": true}},
		},
		{
			// go-containerregistry#1691, cosign#2973: 403 for absent tags.
			name: "Artifactory 403 for absent", quirks: []quirk{artifactoryHidesAbsent},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.st == nil {
				tc.st = &quirkState{}
			}
			src, srcRec := inProcessRegistry(t, nil)
			dst, _ := inProcessRegistry(t, withQuirks(tc.st, tc.quirks...))
			seeds, pairs := mirrorSet(t, src, dst)
			pairs = pairs[:1]

			srcRec.reset()
			in := newCopier(t).Check(ctx(t), pairs)[0]
			switch {
			case len(tc.checkErr) > 0:
				if in.Err == nil {
					t.Fatalf("Check = %+v, want an error", in)
				}
				wantAll(t, "Check error", in.Err.Error(), tc.checkErr...)
			case in.Err != nil:
				t.Fatalf("Check: %v", in.Err)
			case in.Present():
				t.Errorf("Check = %+v, want absent", in)
			}
			if len(tc.checkWarn) == 0 && in.Warning != "" {
				t.Errorf("Check warning = %q, want none", in.Warning)
			}
			wantAll(t, "Check warning", in.Warning, tc.checkWarn...)

			rep, err := newCopier(t).Copy(ctx(t), pairs)
			if len(tc.copyErr) == 0 {
				if err != nil {
					t.Fatalf("Copy: %v", err)
				}
				if got := headDigest(t, pairs[0].Destination); got != seeds[0].index {
					t.Errorf("%s = %s, want %s", pairs[0].Destination, got, seeds[0].index)
				}
				if in := newCopier(t).Check(ctx(t), pairs)[0]; !in.Present() {
					t.Errorf("Check after copying = %+v, want present", in)
				}
				return
			}
			line := oneImageError(t, rep, err)
			wantAll(t, "Copy error", line, tc.copyErr...)
			if n := strings.Count(line, tc.copyErr[len(tc.copyErr)-1]); n != 1 {
				t.Errorf("Copy error %q names the remedy %d times, want once", line, n)
			}
			if n := sourceBlobGets(srcRec); n != 0 {
				t.Errorf("the source answered %d blob reads for an image the destination cannot take, want none", n)
			}
		})
	}
}

// TestPreflightOncePerRepository: the pre-flight is one tags/list per
// destination repository, however many of its images are checked.
func TestPreflightOncePerRepository(t *testing.T) {
	src, _ := inProcessRegistry(t, nil)
	dst, dstRec := inProcessRegistry(t, nil)
	_, pairs := mirrorSet(t, src, dst)
	dstRec.reset()
	c := newCopier(t)
	for _, in := range c.Check(ctx(t), pairs) {
		if in.Err != nil {
			t.Fatal(in.Err)
		}
	}
	if _, err := c.Copy(ctx(t), pairs); err != nil {
		t.Fatal(err)
	}
	lists := map[string]int{}
	for _, r := range dstRec.reset() {
		if strings.HasSuffix(r.Path, "/tags/list") {
			lists[r.Path]++
			if r.Query != "n=1" {
				t.Errorf("pre-flight asked %s?%s, want n=1", r.Path, r.Query)
			}
		}
	}
	want := map[string]int{"/v2/mirror/app-a/tags/list": 1, "/v2/mirror/app-b/tags/list": 1}
	if len(lists) != len(want) || lists["/v2/mirror/app-a/tags/list"] != 1 || lists["/v2/mirror/app-b/tags/list"] != 1 {
		t.Errorf("tags/list requests = %v, want %v", lists, want)
	}
}

// TestArtifactRegistryRepositoryMissing: Artifact Registry never creates a
// repository on push (Artifact Registry docs: the repository in
// LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE must be created first).
// Its host name is reached here through a dialer that sends it to the
// in-process registry.
func TestArtifactRegistryRepositoryMissing(t *testing.T) {
	const arHost = "europe-west1-docker.pkg.dev"
	src, srcRec := inProcessRegistry(t, nil)
	dst, _ := inProcessRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if repo, _, _ := repoOf(r.URL.Path); repo != "" {
				registryError(w, r, http.StatusNotFound, "NAME_UNKNOWN", `Repository "atlan" not found`)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	_, pairs := mirrorSet(t, src, dst)
	pairs = []mirror.Pair{{Source: pairs[0].Source, Destination: arHost + "/my-project/atlan/app-a:1.0"}}
	dialer := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if strings.HasPrefix(addr, arHost+":") {
			addr = dst
		}
		return dialer.DialContext(ctx, network, addr)
	}}
	c := func() *mirror.Copier { return newCopier(t, mirror.WithTransport(tr), mirror.WithInsecure(arHost)) }

	srcRec.reset()
	want := []string{`NAME_UNKNOWN: Repository "atlan" not found`,
		`create the Artifact Registry repository "atlan", format docker, in project "my-project" at location "europe-west1"`}
	in := c().Check(ctx(t), pairs)[0]
	if in.Err == nil {
		t.Fatalf("Check = %+v, want an error", in)
	}
	wantAll(t, "Check error", in.Err.Error(), want...)
	rep, err := c().Copy(ctx(t), pairs)
	wantAll(t, "Copy error", oneImageError(t, rep, err), want...)
	if n := sourceBlobGets(srcRec); n != 0 {
		t.Errorf("the source answered %d blob reads, want none", n)
	}
}
