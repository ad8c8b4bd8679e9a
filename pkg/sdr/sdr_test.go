package sdr

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

func TestFluxReleaseName(t *testing.T) {
	for _, tc := range []struct {
		name, target, releaseName, want string
	}{
		{"atlan-sdr", "", "", "atlan-sdr"},
		{"atlan-sdr", "atlan", "", "atlan-atlan-sdr"},
		{"atlan-sdr", "atlan", "my-sdr", "my-sdr"},
		// 53 characters: kept.
		{"a2345678901234567890123456789012345678901234567890123", "", "", "a2345678901234567890123456789012345678901234567890123"},
		// 54 characters: 40, "-", 12 hex of sha256 (computed with sha256sum).
		{"a23456789012345678901234567890123456789012345678901234", "", "", "a234567890123456789012345678901234567890-4c2fefb16770"},
		{"atlan-sdr-orchestrator-production-eu-west-analytics", "atlan-flux", "", "atlan-flux-atlan-sdr-orchestrator-produc-a9311c4df213"},
	} {
		if got := FluxReleaseName(tc.name, tc.target, tc.releaseName); got != tc.want {
			t.Errorf("FluxReleaseName(%q, %q, %q) = %q, want %q", tc.name, tc.target, tc.releaseName, got, tc.want)
		}
	}
}

func TestFluxStorageNamespace(t *testing.T) {
	for _, tc := range []struct {
		name         string
		spec, status map[string]any
		want         string
	}{
		{"default: the HelmRelease's namespace", map[string]any{}, nil, "flux-system"},
		{"spec", map[string]any{"storageNamespace": "store"}, nil, "store"},
		{"status wins", map[string]any{"storageNamespace": "store"}, map[string]any{"storageNamespace": "actual"}, "actual"},
	} {
		obj := map[string]any{"metadata": map[string]any{"name": "sdr", "namespace": "flux-system"}, "spec": tc.spec}
		if tc.status != nil {
			obj["status"] = tc.status
		}
		f := fluxReleaseFrom(&unstructured.Unstructured{Object: obj})
		if f.StorageNamespace != tc.want {
			t.Errorf("%s: StorageNamespace = %q, want %q", tc.name, f.StorageNamespace, tc.want)
		}
	}
	f := fluxReleaseFrom(&unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "sdr", "namespace": "flux-system"},
		"spec":     map[string]any{"chartRef": map[string]any{"kind": "OCIRepository", "name": "atlan-sdr"}},
	}})
	if f.Chart != "atlan-sdr" || f.TargetNamespace != "flux-system" {
		t.Errorf("chartRef: Chart = %q, TargetNamespace = %q, want atlan-sdr, flux-system", f.Chart, f.TargetNamespace)
	}
}

func TestDecideBlock(t *testing.T) {
	cur := &imagemap.Release{Name: "x", StorageNamespace: "y"}
	for _, tc := range []struct {
		mode                                 BlockMode
		name, namespace, storage, deployment string
		want                                 *imagemap.Release
	}{
		{BlockAuto, "atlan-sdr-acme", "atlan", "atlan", "acme", nil},
		{BlockAuto, "sdr", "atlan", "atlan", "acme", &imagemap.Release{Name: "sdr", StorageNamespace: "atlan"}},
		{BlockAuto, "atlan-sdr-acme", "atlan", "flux-system", "acme", &imagemap.Release{Name: "atlan-sdr-acme", StorageNamespace: "flux-system"}},
		{BlockAuto, "atlan-sdr-acme", "atlan", "atlan", "", &imagemap.Release{Name: "atlan-sdr-acme", StorageNamespace: "atlan"}},
		{BlockKeep, "sdr", "atlan", "flux-system", "acme", cur},
		{BlockRemove, "sdr", "atlan", "flux-system", "acme", nil},
	} {
		got := DecideBlock(tc.mode, tc.name, tc.namespace, tc.storage, tc.deployment, cur)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DecideBlock(%q, %q, %q, %q, %q) = %+v, want %+v", tc.mode, tc.name, tc.namespace, tc.storage, tc.deployment, got, tc.want)
		}
	}
	if _, err := ParseBlockMode("sometimes"); err == nil || err.Error() != `--release-block "sometimes": must be one of auto, keep, remove` {
		t.Errorf("ParseBlockMode(sometimes) = %v", err)
	}
}

const component = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: objectstore
spec:
  type: bindings.gcp.bucket
  metadata:
  - name: bucket
    value: sdr-bucket
  - name: private_key
    secretKeyRef:
      name: gcs-key
`

var wantGCS = &Component{Name: "objectstore", Type: "bindings.gcp.bucket", Metadata: []MetadataItem{
	{Name: "bucket", Value: "sdr-bucket"},
	{Name: "private_key", SecretKeyRef: &SecretKeyRef{Name: "gcs-key", Key: "gcs-key"}},
}}

func TestComponentInManifest(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte(component))
	for _, tc := range []struct {
		name, manifest, at string
	}{
		{"Component", "---\n# Source: x\n" + component, "Component/objectstore"},
		{"ConfigMap", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dapr}\ndata:\n  other.yaml: 'a: b'\n  components.yaml: |\n" + indent(component, "    "), "ConfigMap/dapr data.components.yaml"},
		{"Secret data", "apiVersion: v1\nkind: Secret\nmetadata: {name: dapr}\ndata:\n  objectstore.yaml: " + b64 + "\n", "Secret/dapr data.objectstore.yaml"},
		{"Secret stringData", "apiVersion: v1\nkind: Secret\nmetadata: {name: dapr}\nstringData:\n  c: |\n" + indent(component, "    "), "Secret/dapr stringData.c"},
		{"other component only", strings.ReplaceAll(component, "name: objectstore", "name: statestore"), ""},
	} {
		c, at := findComponentInManifest(tc.manifest)
		if at != tc.at {
			t.Errorf("%s: found at %q, want %q", tc.name, at, tc.at)
		}
		if tc.at != "" && !reflect.DeepEqual(c, wantGCS) {
			t.Errorf("%s: component = %+v, want %+v", tc.name, c, wantGCS)
		}
	}
}

func indent(s, p string) string {
	return p + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+p) + "\n"
}

func TestComponentInValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		at     string
	}{
		{"under objectstore", map[string]any{"sdr": map[string]any{"objectstore": map[string]any{"type": "bindings.gcp.bucket",
			"metadata": []any{map[string]any{"name": "bucket", "value": "sdr-bucket"}, map[string]any{"name": "private_key", "secretKeyRef": map[string]any{"name": "gcs-key"}}}}}}, "sdr.objectstore"},
		{"component list", map[string]any{"dapr": map[string]any{"components": []any{
			map[string]any{"name": "statestore", "type": "state.redis"},
			map[string]any{"name": "objectstore", "type": "bindings.gcp.bucket", "metadata": []any{map[string]any{"name": "bucket", "value": "sdr-bucket"}, map[string]any{"name": "private_key", "secretKeyRef": map[string]any{"name": "gcs-key"}}}},
		}}}, "dapr.components[1]"},
		{"YAML text", map[string]any{"components": map[string]any{"objectstore.yaml": component}}, "components.objectstore.yaml"},
	} {
		c, at := findComponentInValues(tc.values)
		if at != tc.at || !reflect.DeepEqual(c, wantGCS) {
			t.Errorf("%s: found %+v at %q, want %+v at %q", tc.name, c, at, wantGCS, tc.at)
		}
	}
}

type secrets map[string]string

func (s secrets) GetSecret(_ context.Context, name, key string) ([]byte, error) {
	v, ok := s[name+"/"+key]
	if !ok {
		return nil, errors.New("no such secret")
	}
	return []byte(v), nil
}

// TestComponentOpensThroughStore: a component found in the SDR opens its
// bucket through the store, which reads its secretKeyRef items.
func TestComponentOpensThroughStore(t *testing.T) {
	ctx := context.Background()
	obj, err := store.OpenComponent(ctx, wantGCS.Store(), "sdr/image-map.yaml", secrets{"gcs-key/gcs-key": "KEY"})
	if err != nil {
		t.Fatalf("OpenComponent() = %v", err)
	}
	obj.Close()
	_, err = store.OpenComponent(ctx, wantGCS.Store(), "sdr/image-map.yaml", nil)
	if want := `objectstore component "objectstore": metadata "private_key" comes from secret "gcs-key" key "gcs-key", and no cluster is available to read it; run against the cluster, or give the bucket with --bucket`; err == nil || err.Error() != want {
		t.Errorf("OpenComponent(no secrets) = %v, want %q", err, want)
	}
}

func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFromDockerConfig(t *testing.T) {
	p := write(t, "config.yaml", `deployment_name: acme
container_registry:
  base: registry.example.com/atlan
  image_map_path: sdr/image-map.yaml
  username: robot
  password: hunter2
objectstore:
  type: bindings.localstorage
  metadata:
  - name: rootPath
    value: /data
`)
	s, err := FromDockerConfig(p, Overrides{Target: "flag.example.com/x"})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{s.DeploymentName, s.ImageMapPath, s.Target, s.RegistryUsername, s.RegistryPassword, s.From[SettingTarget], s.From[SettingImageMapPath]}
	want := []string{"acme", "sdr/image-map.yaml", "flag.example.com/x", "robot", "hunter2", "flag --target", `config "` + p + `" at container_registry.image_map_path`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FromDockerConfig() = %q, want %q", got, want)
	}
	if s.ObjectStore == nil || s.ObjectStore.Type != "bindings.localstorage" {
		t.Errorf("ObjectStore = %+v, want bindings.localstorage", s.ObjectStore)
	}

	empty := write(t, "empty.yaml", "deployment_name: acme\n")
	s, err = FromDockerConfig(empty, Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ setting, want string }{
		{SettingImageMapPath, `image map key not found: looked in config "` + empty + `" (container_registry.image_map_path); pass --image-map-path`},
		{SettingObjectStore, `object store not found: looked in config "` + empty + `" (objectstore); pass --bucket`},
		{SettingTarget, `registry prefix not found: looked in config "` + empty + `" (container_registry.base); pass --target`},
	} {
		if err := s.Require(tc.setting); err == nil || err.Error() != tc.want || !errors.Is(err, ErrNotFound) {
			t.Errorf("Require(%q) = %v, want %q", tc.setting, err, tc.want)
		}
	}
	bad := write(t, "bad.yaml", "objectstore: {bucket: x}\n")
	if _, err := FromDockerConfig(bad, Overrides{}); err == nil || !strings.Contains(err.Error(), "objectstore is not a Dapr component") {
		t.Errorf("FromDockerConfig(bad objectstore) = %v", err)
	}
}

func TestFromValuesFile(t *testing.T) {
	p := write(t, "values.yaml", `deploymentName: acme
containerRegistryBase: registry.example.com/atlan
sdr:
  config:
    imageMapPath: sdr/map.yaml
imagePullSecrets:
- name: regcred
objectstore:
  type: bindings.aws.s3
  metadata:
  - {name: bucket, value: b}
`)
	s, err := FromValuesFile(p, Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{s.DeploymentName, s.ImageMapPath, s.Target, strings.Join(s.PullSecrets, ","), s.From[SettingDeploymentName]}
	want := []string{"acme", "sdr/map.yaml", "registry.example.com/atlan", "regcred", `values file "` + p + `" at deploymentName`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FromValuesFile() = %q, want %q", got, want)
	}
	if err := s.Require(SettingObjectStore, SettingImageMapPath, SettingTarget, SettingDeploymentName); err != nil {
		t.Errorf("Require() = %v", err)
	}
	if _, err := FromValuesFile(filepath.Join(t.TempDir(), "nope.yaml"), Overrides{}); err == nil || !strings.HasPrefix(err.Error(), "reading values file: open ") {
		t.Errorf("FromValuesFile(missing) = %v", err)
	}
}

func TestNormalizeDriver(t *testing.T) {
	for in, want := range map[string]string{"": "secret", "secret": "secret", "secrets": "secret", "configmap": "configmap", "configmaps": "configmap"} {
		if got, err := NormalizeDriver(in); got != want || err != nil {
			t.Errorf("NormalizeDriver(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := NormalizeDriver("memory"); err == nil {
		t.Error("NormalizeDriver(memory) = nil error")
	}
}
