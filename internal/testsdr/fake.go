package testsdr

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
)

// FakeRelease is a Helm release record in a fake cluster.
type FakeRelease struct {
	Name, Namespace, Chart string
	// Values are the release's values; Labels go on its record.
	Values map[string]any
	Labels map[string]string
	// Images are the containers of its one Deployment, named after it.
	Images []string
}

// FakeSDR is the SDR release atlan-sdr-acme in namespace atlan, with
// target and image map path as its settings.
func FakeSDR(target, imageMapPath string) FakeRelease {
	return FakeRelease{Name: Release, Namespace: Namespace, Chart: "atlan-sdr",
		Values: map[string]any{"sdr": map[string]any{"deploymentName": DeploymentName,
			"config": map[string]any{"imageMapPath": imageMapPath, "containerRegistryBase": target}}},
		Images: []string{"atlanhq/atlan-sdr:1.4.0", "daprio/daprd:1.14.4"}}
}

// FakeCluster returns a factory KubeClients func over a client-go fake
// clientset holding the release records, as Helm 3 stores them: for
// command tests that need no kube-apiserver.
func FakeCluster(t testing.TB, releases ...FakeRelease) func() (kubernetes.Interface, dynamic.Interface, error) {
	t.Helper()
	var objects []runtime.Object
	for _, r := range releases {
		manifest := fmt.Sprintf("---\n# Source: %s/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\nspec:\n  template:\n    spec:\n      containers:\n", r.Chart, r.Name)
		for i, img := range r.Images {
			manifest += fmt.Sprintf("      - name: c%d\n        image: %s\n", i, img)
		}
		rel := &release.Release{Name: r.Name, Namespace: r.Namespace, Version: 1, Manifest: manifest,
			Info:   &release.Info{Status: release.StatusDeployed},
			Chart:  &chart.Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: r.Chart, Version: "1.0.0"}},
			Config: r.Values}
		data, err := json.Marshal(rel)
		if err != nil {
			t.Fatal(err)
		}
		labels := map[string]string{"owner": "helm", "name": r.Name, "version": "1", "status": "deployed"}
		for k, v := range r.Labels {
			labels[k] = v
		}
		objects = append(objects, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: r.Namespace, Name: "sh.helm.release.v1." + r.Name + ".v1", Labels: labels},
			Type:       "helm.sh/release.v1",
			Data:       map[string][]byte{"release": []byte(base64.StdEncoding.EncodeToString(data))},
		})
	}
	kube := fake.NewClientset(objects...)
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{sdr.HelmReleaseGVR: "HelmReleaseList"})
	return func() (kubernetes.Interface, dynamic.Interface, error) { return kube, dyn, nil }
}
