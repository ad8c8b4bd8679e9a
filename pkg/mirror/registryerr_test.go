package mirror

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// answer is a registry's error answer to req.
func answer(method string, status int, body string) *transport.Error {
	u, _ := url.Parse("https://reg.example/v2/atlan/app/manifests/1.0")
	resp := &http.Response{
		StatusCode: status,
		Body:       nopBody{strings.NewReader(body)},
		Request:    &http.Request{Method: method, URL: u},
	}
	err := transport.CheckError(resp, http.StatusOK)
	var te *transport.Error
	if !errors.As(err, &te) {
		panic(err)
	}
	return te
}

type nopBody struct{ *strings.Reader }

func (nopBody) Close() error { return nil }

func TestClassify(t *testing.T) {
	errBody := func(code, msg string) string {
		return `{"errors":[{"code":"` + code + `","message":"` + msg + `"}]}`
	}
	tests := []struct {
		name    string
		host    string
		role    string
		method  string
		status  int
		body    string
		asked   asked
		refusal Refusal
		want    []string
		auth    bool
	}{
		{name: "401 keeps the registry's words", status: 401, body: errBody("UNAUTHORIZED", "authentication required"),
			refusal: RefusedUnauthorized, auth: true,
			want: []string{`destination registry "HOST": authentication failed (writing X): UNAUTHORIZED: authentication required: log in with 'docker login HOST'`}},
		{name: "Harbor project not found in a 401", status: 401, body: errBody("UNAUTHORIZED", "project atlan not found"),
			refusal: RefusedProjectMissing, want: []string{"UNAUTHORIZED: project atlan not found", `create the Harbor project "atlan"`}},
		{name: "Harbor project not found in a 404", status: 404, body: errBody("NOT_FOUND", "project atlan not found: project atlan not found"),
			refusal: RefusedProjectMissing, want: []string{`create the Harbor project "atlan"`}},
		{name: "GitLab denied", status: 403, body: errBody("DENIED", "requested access to the resource is denied"),
			refusal: RefusedDenied, auth: true,
			want: []string{`access denied (writing X): DENIED: requested access to the resource is denied`, "on GitLab the path must sit under an existing project"}},
		{name: "Artifact Registry repository missing", host: "europe-west1-docker.pkg.dev", status: 404,
			body: errBody("NAME_UNKNOWN", "Repository \\\"atlan\\\" not found"), refusal: RefusedRepositoryMissing,
			want: []string{`create the Artifact Registry repository "app", format docker, in project "atlan" at location "europe-west1"`}},
		{name: "ECR by host", host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", status: 404, body: errBody("NAME_UNKNOWN", "repository missing"),
			refusal: RefusedRepositoryMissing, want: []string{`create the ECR repository "atlan/app"`}},
		{name: "Distribution repository missing", status: 404, body: errBody("NAME_UNKNOWN", "repository name not known to registry"),
			refusal: RefusedRepositoryMissing, want: []string{`NAME_UNKNOWN: repository name not known to registry: create the repository "atlan/app" in the registry`}},
		{name: "source repository missing", role: "source", status: 404, body: errBody("NAME_UNKNOWN", "repository name not known to registry"),
			refusal: RefusedRepositoryMissing, want: []string{`writing X on source registry "HOST": NAME_UNKNOWN: repository name not known to registry: check the image name`}},
		{name: "415 without a body", status: 415, asked: asked{mediaType: types.DockerManifestSchema2},
			refusal: RefusedMediaType, want: []string{"HTTP 415 Unsupported Media Type: the registry refuses the Docker media type", "never converted"}},
		{name: "UNSUPPORTED manifest", status: 405, body: errBody("UNSUPPORTED", "The operation is unsupported."), asked: asked{mediaType: types.OCIManifestSchema1},
			refusal: RefusedUnsupported, want: []string{"UNSUPPORTED: The operation is unsupported.", `refuses the media type "application/vnd.oci.image.manifest.v1+json"`}},
		{name: "UNSUPPORTED request", status: 405, body: errBody("UNSUPPORTED", "The operation is unsupported."),
			refusal: RefusedUnsupported, want: []string{"does not implement this request"}},
		{name: "HTML page on one line", status: 403, body: "<html>\n<body>\n  Sign in\n</body>\n</html>",
			refusal: RefusedDenied, auth: true, want: []string{"HTTP 403 Forbidden: <html> <body> Sign in </body> </html>"}},
		{name: "a HEAD has no body", method: http.MethodHead, status: 403, refusal: RefusedDenied, auth: true,
			want: []string{"(writing X): HTTP 403 Forbidden: log in"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.host == "" {
				tc.host = "HOST"
			}
			if tc.role == "" {
				tc.role = "destination"
			}
			if tc.method == "" {
				tc.method = http.MethodPut
			}
			repo, err := name.NewRepository(tc.host + "/atlan/app")
			if tc.host == "HOST" {
				repo, err = name.NewRepository("reg.example/atlan/app")
			}
			if err != nil {
				t.Fatal(err)
			}
			s := side{role: tc.role, host: tc.host, repo: repo}
			got := s.classify("writing X", tc.asked, answer(tc.method, tc.status, tc.body))
			if got == nil {
				t.Fatalf("classify(%d %s) = nil, want %s", tc.status, tc.body, tc.refusal)
			}
			if got.Refusal != tc.refusal {
				t.Errorf("classify(%d %s).Refusal = %s, want %s", tc.status, tc.body, got.Refusal, tc.refusal)
			}
			line := got.Error()
			if strings.Contains(line, "\n") {
				t.Errorf("classify(%d) = %q, want one line", tc.status, line)
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("classify(%d) = %q\nwant it to contain %q", tc.status, line, w)
				}
			}
			if errors.Is(got, ErrAuth) != tc.auth {
				t.Errorf("errors.Is(%q, ErrAuth) = %v, want %v", line, !tc.auth, tc.auth)
			}
		})
	}
}

// TestClassifyLeavesOthers: a missing manifest and a server error are no
// refusal to explain.
func TestClassifyLeavesOthers(t *testing.T) {
	s := side{role: "destination", host: "reg.example"}
	for _, status := range []int{404, 500, 502} {
		if got := s.classify("checking X", asked{}, answer(http.MethodHead, status, "")); got != nil {
			t.Errorf("classify(HEAD %d) = %q, want nil", status, got)
		}
	}
}
