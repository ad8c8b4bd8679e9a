package inventory

import (
	"reflect"
	"testing"

	"helm.sh/helm/v3/pkg/release"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
)

const manifest = `---
# Source: app/templates/pod.yaml
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
  - name: a
    image: atlanhq/a:1
  ephemeralContainers:
  - name: shell
    image: busybox:1.36
---
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: d}
  spec:
    template:
      spec:
        initContainers:
        - {name: i, image: "  atlanhq/init:1  "}
        containers:
        - {name: c, image: atlanhq/a:1}
        - {name: empty, image: ""}
---
apiVersion: example.com/v1
kind: Workflow
metadata: {name: wf}
spec:
  templates:
  - name: t
    containers:
    - {name: c, image: "atlanhq/wf@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}
  image: not-in-a-container-list:1
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data:
  containers: "image: ignored:1"
`

func TestAddRelease(t *testing.T) {
	inv := New()
	rel := &release.Release{Name: "app", Namespace: "atlan", Manifest: manifest, Hooks: []*release.Hook{
		{Name: "migrate", Kind: "Job", Manifest: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: m, image: atlanhq/migrate:1}\n"},
	}}
	if err := inv.AddRelease(rel); err != nil {
		t.Fatal(err)
	}
	want := []Item{
		{Image: "atlanhq/a:1", Why: []string{"helm:atlan/app:Deployment/d", "helm:atlan/app:Pod/debug"}},
		{Image: "atlanhq/init:1", Why: []string{"helm:atlan/app:Deployment/d"}},
		{Image: "atlanhq/migrate:1", Why: []string{"helm:atlan/app:Job/migrate"}},
		{Image: "atlanhq/wf@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Why: []string{"helm:atlan/app:Workflow/wf"}},
		{Image: "busybox:1.36", Why: []string{"helm:atlan/app:Pod/debug"}},
	}
	if got := inv.Items(); !reflect.DeepEqual(got, want) {
		t.Errorf("Items() =\n%+v\nwant\n%+v", got, want)
	}
	// Adding the same release again changes nothing.
	if err := inv.AddRelease(rel); err != nil {
		t.Fatal(err)
	}
	if got := inv.Items(); !reflect.DeepEqual(got, want) {
		t.Errorf("Items() after a second AddRelease =\n%+v\nwant\n%+v", got, want)
	}
}

func TestAddManifestError(t *testing.T) {
	err := New().AddRelease(&release.Release{Name: "r", Namespace: "n", Manifest: "kind: [unclosed"})
	if err == nil {
		t.Fatal("AddRelease(bad YAML) = nil error")
	}
}

func TestSource(t *testing.T) {
	m, err := imagemap.Parse([]byte(`images:
  "atlanhq/app": "reg.example.com/atlan/app"
  "atlanhq/app:3.1.4": "reg.example.com/atlan/app:3.1.4-approved"
  "atlanhq/other": "reg.example.com/atlan/app"
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ image, want string }{
		{"reg.example.com/atlan/app:3.1.4-approved", "atlanhq/app:3.1.4"},
		{"reg.example.com/atlan/app:2.0", "atlanhq/app:2.0"},
		{"reg.example.com/atlan/app:2.0@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "atlanhq/app:2.0@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{"reg.example.com/atlan/app", ""},
		{"atlanhq/app:1", ""},
		{"reg.example.com/atlan/other:1", ""},
	} {
		if got := Source(m.Entries(), tc.image); got != tc.want {
			t.Errorf("Source(%q) = %q, want %q", tc.image, got, tc.want)
		}
	}
	inv := New()
	inv.Add("reg.example.com/atlan/app:2.0", "file")
	inv.Add("atlanhq/x:1", "file")
	inv.ReverseLookup(m)
	want := []Item{{Image: "atlanhq/x:1", Why: []string{"file"}}, {Image: "reg.example.com/atlan/app:2.0", Why: []string{"file"}, MappedFrom: "atlanhq/app:2.0"}}
	if got := inv.Items(); !reflect.DeepEqual(got, want) {
		t.Errorf("Items() after ReverseLookup = %+v, want %+v", got, want)
	}
}
