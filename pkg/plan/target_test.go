package plan

import (
	"context"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
)

func TestCheckTarget(t *testing.T) {
	for _, ok := range []string{
		"registry.example.com/atlan", "registry.example.com/atlan/", "reg.example.com:5000/team/atlan",
		"localhost:5000/mirror", "localhost/mirror", "127.0.0.1:5000/s1", "[::1]:5000/mirror", "my-reg.example.com/a_b/c-d",
	} {
		if err := CheckTarget(ok); err != nil {
			t.Errorf("CheckTarget(%q) = %v, want nil", ok, err)
		}
	}
	for _, tc := range []struct{ target, why string }{
		{"file:///srv/mirror", "a registry prefix has no scheme"},
		{"s3://bucket/mirror", "a registry prefix has no scheme"},
		{"https://registry.example.com/atlan", "a registry prefix has no scheme"},
		{"Registry.example.com/atlan", "it must be lower case"},
		{"registry.example.com/Atlan", "it must be lower case"},
		{"registry.example.com/atlan:v1", "a registry prefix has no tag"},
		{"registry.example.com/atlan@sha256:" + strings.Repeat("a", 64), "a registry prefix has no digest"},
		{"registry.example.com", "it needs a path after the registry host"},
		{"registry.example.com:5000", "it needs a path after the registry host"},
		{"atlan/mirror", `"atlan" is not a registry host`},
		{"registry.example.com/a..b", "it is not a registry prefix"},
		{"registry.example.com//atlan", "it is not a registry prefix"},
		{"reg example.com/atlan", "it is not a registry prefix"},
	} {
		err := CheckTarget(tc.target)
		want := `--target "` + tc.target + `": ` + tc.why + `; want HOST[:PORT]/PATH in lower case, e.g. registry.example.com/atlan`
		if err == nil || err.Error() != want {
			t.Errorf("CheckTarget(%q) = %v, want %s", tc.target, err, want)
		}
	}
}

func TestInferTarget(t *testing.T) {
	for _, tc := range []struct {
		name, text, prefix, reason string
	}{
		{"one naming", `images:
  "atlanhq/a": "reg.example.com/atlan/a"
  "docker.io/atlanhq/b": "reg.example.com/atlan/b"
  "ghcr.io/atlanhq/sub/c:1.0": "reg.example.com/atlan/c:1.0"
`, "reg.example.com/atlan", ""},
		{"empty map", "images: {}\n", "", "the image map has no entries whose naming could serve as the target"},
		{"two prefixes", `images:
  "atlanhq/a": "reg.example.com/atlan/a"
  "atlanhq/b": "reg.example.com/other/b"
`, "", `the image map's entries do not all follow one <prefix>/<image name> naming ("atlanhq/b" -> "reg.example.com/other/b" does not)`},
		{"renamed", `images:
  "atlanhq/a": "reg.example.com/atlan/a"
  "atlanhq/teradata:3.1.4": "reg.example.com/atlan/td:3.1.4"
`, "", `the image map's entries do not all follow one <prefix>/<image name> naming ("atlanhq/teradata:3.1.4" -> "reg.example.com/atlan/td:3.1.4" does not)`},
		{"bare host is no target", `images:
  "atlanhq/a": "reg.example.com/a"
`, "", "the image map's entries do not all follow one <prefix>/<image name> naming"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := imagemap.Parse([]byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			in, ok := InferTarget(m)
			if in.Prefix != tc.prefix || ok != (tc.prefix != "") {
				t.Errorf("InferTarget() = %q, %v; want %q", in.Prefix, ok, tc.prefix)
			}
			if !ok && in.Reason() != tc.reason {
				t.Errorf("Reason() = %q, want %q", in.Reason(), tc.reason)
			}
		})
	}
}

// TestBuildInfersTarget: without a target, the map's one naming names the
// destinations, and the plan says where the target came from.
func TestBuildInfersTarget(t *testing.T) {
	m, _ := imagemap.Parse([]byte("images:\n  \"atlanhq/a\": \"reg.example.com/atlan/a\"\n  \"atlanhq/b\": \"reg.example.com/atlan/b\"\n"))
	p, err := Build(context.Background(), []inventory.Item{{Image: "atlanhq/a:1"}, {Image: "atlanhq/new-app:2"}}, m)
	if err != nil {
		t.Fatal(err)
	}
	if p.Target != "reg.example.com/atlan" || p.TargetFrom != "inferred from the image map's 2 entries" {
		t.Errorf("target = %q (%s)", p.Target, p.TargetFrom)
	}
	if it := p.Images[1]; it.State != Unmapped || it.Proposed != "reg.example.com/atlan/new-app:2" || it.Reason != "" {
		t.Errorf("unmapped = %+v", it)
	}
}

// TestBuildWithoutTarget: with no target and no naming to infer one from,
// unmapped images are listed with why no destination can be named, are
// not checked in the registries, and a sync of them is refused before
// anything is done.
func TestBuildWithoutTarget(t *testing.T) {
	m, _ := imagemap.Parse([]byte(testMap))
	reg := fakeRegistry{"atlanhq/ok-app:1.0": d1, "reg.example.com/atlan/ok-app:1.0": d1}
	p, err := Build(context.Background(), []inventory.Item{{Image: "atlanhq/ok-app:1.0"}, {Image: "atlanhq/new-app:3.0"}}, m, WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	if p.Target != "" || p.TargetFrom != "" {
		t.Errorf("target = %q (%s), want none", p.Target, p.TargetFrom)
	}
	it := p.Images[0]
	if it.Source != "atlanhq/new-app:3.0" || it.State != Unmapped || it.Resolved != it.Source || it.Proposed != "" || it.Entry != nil || it.Error != "" {
		t.Fatalf("unmapped without target = %+v", it)
	}
	want := `no destination can be named yet: the image map's entries do not all follow one <prefix>/<image name> naming ("atlanhq/tagged-app:1.0" -> "reg.example.com/team/tagged-app:1.0" does not); pass --target`
	if it.Reason != want {
		t.Errorf("reason = %q, want %q", it.Reason, want)
	}
	if p.Images[1].State != OK {
		t.Errorf("mapped image = %+v, want ok", p.Images[1])
	}
	if p.InSync() || p.Count(WorkToDo) != 1 {
		t.Errorf("plan in sync %v, work %d; want work to do", p.InSync(), p.Count(WorkToDo))
	}
	_, err = Apply{DryRun: true}.Run(context.Background(), p)
	if err == nil || err.Error() != `"atlanhq/new-app:3.0" has no map entry and no registry prefix is known to mirror it to: pass --target` {
		t.Errorf("Apply.Run without a destination = %v", err)
	}
}

// TestBuildSkipped: images found and left out are rows of their own,
// after the needed ones, count as no needed image, keep their entries in
// use, and have no effect on the exit code.
func TestBuildSkipped(t *testing.T) {
	m, _ := imagemap.Parse([]byte(pruneMap))
	p, err := Build(context.Background(), []inventory.Item{{Image: "atlanhq/a:1"}}, m, WithTarget("reg.example.com/atlan"),
		WithSkipped(Skip{Image: "bitnami/redis:7.2", Why: []string{"helm:ns/r:StatefulSet/redis"}, Reason: "outside --allowed-source (docker.io/atlanhq)"},
			Skip{Reason: "app: missing image", Why: []string{"latest-releases:entry 3"}}))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Images) != 3 || p.Needed() != 1 || p.Summary[Skipped] != 2 {
		t.Fatalf("images = %+v, needed %d, summary %v", p.Images, p.Needed(), p.Summary)
	}
	sk := p.Images[1]
	if sk.State != Skipped || sk.Source != "bitnami/redis:7.2" || sk.Resolved != "" || sk.Rule != "" || sk.Reason != "outside --allowed-source (docker.io/atlanhq)" ||
		strings.Join(sk.Why, ",") != "helm:ns/r:StatefulSet/redis" || sk.Destination() != "" {
		t.Errorf("skipped row = %+v", sk)
	}
	if p.Images[2].Why == nil {
		t.Errorf("skipped row without reasons has why nil, want []")
	}
	for _, s := range p.Stale {
		if s.Source == "bitnami/redis" {
			t.Errorf("the entry a skipped image resolves through is stale: %+v", p.Stale)
		}
	}
	if got := Skipped.Rule(); got.Exit != InSync || got.Work != NoWork || got.Severity != SeverityNote {
		t.Errorf("skipped rule = %+v", got)
	}
}
