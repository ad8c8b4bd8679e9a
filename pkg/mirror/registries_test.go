package mirror_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

// oneImageError is the one error line of a one-image copy, or fails.
func oneImageError(t *testing.T, rep *mirror.Report, err error) string {
	t.Helper()
	if err == nil {
		t.Fatal("Copy: got no error")
	}
	if len(rep.Images) != 1 || rep.Images[0].Status != mirror.StatusFailed {
		t.Fatalf("Copy: report %+v, want one failed image", rep.Images)
	}
	line := rep.Images[0].Error
	t.Logf("error line: %s", line)
	if strings.Contains(line, "\n") || line != err.Error() {
		t.Errorf("Copy: error %q, want exactly one line, the image's %q", err, line)
	}
	return line
}

func wantAll(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q\nwant it to contain %q", what, got, w)
		}
	}
}

// TestRegistryRefusesWrite copies into registries that refuse what
// Distribution accepts: each refusal is one line with the registry's own
// message and what fixes it on that registry.
func TestRegistryRefusesWrite(t *testing.T) {
	tests := []struct {
		name   string
		quirks []quirk
		st     *quirkState
		// rewrite copies once, then over the same tag (drift, overwritten).
		rewrite bool
		// docker seeds a Docker v2s2 image instead of the OCI index.
		docker  bool
		want    []string
		refusal mirror.Refusal
	}{
		{
			// aws/containers-roadmap#853: repositories must exist.
			name: "ECR repository missing", quirks: []quirk{ecrRepositoriesMustExist},
			want: []string{
				"NAME_UNKNOWN: The repository with name 'mirror/app-a' does not exist in the registry with id '123456789012'",
				`create the ECR repository "mirror/app-a" (pass --create-repositories, which needs the permission ecr:CreateRepository)`,
				"repository creation template with CREATE_ON_PUSH",
			},
			refusal: mirror.RefusedRepositoryMissing,
		},
		{
			// goharbor/harbor#20544, #6892: the project must exist.
			name: "Harbor project missing", quirks: []quirk{harborProjectsMustExist},
			want: []string{
				"DENIED: project mirror not found",
				`create the Harbor project "mirror"`,
			},
			refusal: mirror.RefusedProjectMissing,
		},
		{
			// kaniko#204, buildkit#3776: IMMUTABLE tags are never rewritten.
			name: "ECR immutable tag", quirks: []quirk{ecrImmutableTags}, rewrite: true,
			want: []string{
				"TAG_INVALID: The image tag '1.0' already exists in the 'mirror/app-a' repository and cannot be overwritten because the tag is immutable.",
				`tag "1.0" exists and cannot be rewritten`,
				"image tag mutability to MUTABLE",
			},
			refusal: mirror.RefusedImmutableTag,
		},
		{
			// goharbor/harbor#17928: immutability rules answer 412.
			name: "Harbor immutability rule", quirks: []quirk{harborImmutabilityRule}, rewrite: true,
			want: []string{
				"PRECONDITION: Failed to process request due to '1.0' configured as immutable.",
				`a tag immutability rule of the Harbor project "mirror" protects tag "1.0"`,
			},
			refusal: mirror.RefusedImmutabilityRule,
		},
		{
			// project-zot/zot#4290: Docker v2s2 only with http.compat docker2s2.
			name: "zot without docker2s2", quirks: []quirk{zotNoDocker}, docker: true,
			want: []string{
				"MANIFEST_INVALID: manifest invalid",
				`the registry refuses the Docker media type "application/vnd.docker.distribution.manifest.v2+json"`,
				"media types are never converted",
				`add "docker2s2" to http.compat`,
			},
			refusal: mirror.RefusedMediaType,
		},
		{
			// deckhouse#10672, oc-mirror#253: OCI artifacts need feature flags.
			name: "Quay without OCI artifacts", quirks: []quirk{quayNoArtifacts},
			want: []string{
				"MANIFEST_INVALID: manifest invalid",
				`the registry refuses an OCI artifact of type "application/vnd.example.sbom+json"`,
				"media types are never converted",
				"FEATURE_GENERAL_OCI_SUPPORT",
				"ALLOWED_OCI_ARTIFACT_TYPES",
			},
			refusal: mirror.RefusedMediaType,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.st == nil {
				tc.st = &quirkState{}
			}
			src, _ := inProcessRegistry(t, nil)
			dst, _ := inProcessRegistry(t, withQuirks(tc.st, tc.quirks...))
			_, pairs := mirrorSet(t, src, dst)
			pair := pairs[0]
			if tc.docker {
				img, err := random.Image(1024, 2)
				if err != nil {
					t.Fatal(err)
				}
				ref, _ := name.ParseReference(src + "/atlanhq/docker:1.0")
				if err := remote.Write(ref, img); err != nil {
					t.Fatal(err)
				}
				pair.Source = ref.String()
			}
			if tc.rewrite {
				if _, err := newCopier(t).Copy(ctx(t), []mirror.Pair{pair}); err != nil {
					t.Fatalf("first Copy: %v", err)
				}
				pair.Source = pairs[1].Source
			}
			rep, err := newCopier(t, mirror.WithOverwrite(tc.rewrite)).Copy(ctx(t), []mirror.Pair{pair})
			line := oneImageError(t, rep, err)
			wantAll(t, "Copy error", line, tc.want...)
			var re *mirror.RegistryError
			if !errors.As(err, &re) || re.Refusal != tc.refusal {
				t.Errorf("Copy error %v: refusal %v, want %q", err, re, tc.refusal)
			}
		})
	}
}

// TestNexusRefusesFallbackRewrite: a subject with two referrers needs its
// fallback tag written twice, which Nexus without redeploy refuses
// (zarf#2352, buildx#1660): one line names the tag and the setting.
func TestNexusRefusesFallbackRewrite(t *testing.T) {
	src, _ := inProcessRegistry(t, nil)
	dst, _ := inProcessRegistry(t, withQuirks(&quirkState{}, nexusNoRedeploy))
	seeds, pairs := mirrorSet(t, src, dst)
	addReferrer(t, pairs[0].Source, seeds[0].index)
	rep, err := newCopier(t).Copy(ctx(t), pairs[:1])
	line := oneImageError(t, rep, err)
	tag := strings.Replace(seeds[0].index.String(), ":", "-", 1)
	wantAll(t, "Copy error", line,
		"UNKNOWN: Repository does not allow updating assets: docker-hosted",
		`listed in the tag "`+tag+`"`, `"Allow redeploy"`)
	var re *mirror.RegistryError
	if !errors.As(err, &re) || re.Refusal != mirror.RefusedTagRewrite {
		t.Errorf("Copy error %v: refusal %v, want %q", err, re, mirror.RefusedTagRewrite)
	}
}
