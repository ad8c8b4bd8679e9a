// Package testsdr installs SDR-like Helm releases into a test cluster with
// the real helm CLI: an SDR orchestrator chart and two connector-app charts
// with workloads of every kind, hooks and a custom resource with
// containers, in the layouts the tool must handle (records beside the
// workloads, records in another namespace under a Flux HelmRelease, the
// configmap driver, two SDRs in one namespace). Want* describe what the
// tool should find.
package testsdr

import (
	"context"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
)

//go:embed all:charts crds.yaml
var files embed.FS

// Namespaces and releases of the installed layouts.
const (
	// Plain Helm: records beside the workloads, secret driver, objectstore
	// component in values with secretKeyRef, two connector apps.
	Namespace      = "atlan"
	Release        = "atlan-sdr-acme"
	DeploymentName = "acme"
	ImageMapPath   = "sdr/image-map.yaml"
	ObjectSecret   = "sdr-objectstore"

	// Flux: a HelmRelease in flux-system with a long name installs the SDR
	// into atlan-flux; its records are kept in flux-system. The component
	// is rendered as a Dapr Component object.
	FluxNamespace      = "atlan-flux"
	FluxSystem         = "flux-system"
	FluxHelmRelease    = "atlan-sdr-orchestrator-production-eu-west-analytics"
	FluxDeploymentName = "acme-eu"

	// configmap driver: release not named atlan-sdr-*, found by its chart;
	// the component is YAML inside a ConfigMap; no image map key.
	ConfigMapNamespace = "atlan-cm"
	ConfigMapRelease   = "sdr-main"

	// Two SDR releases in one namespace, and one of their names again in
	// another.
	TwoNamespace  = "atlan-two"
	CopyNamespace = "atlan-copy"

	// An SDR installed by Helm 4.
	Helm4Namespace = "atlan-helm4"
	Helm4Release   = "atlan-sdr-four"
)

// FluxReleaseName is the Helm release name helm-controller gives the Flux
// layout: "atlan-flux-" + FluxHelmRelease is 62 characters, so it is
// shortened to 40 characters, "-", and 12 hex digits of its SHA-256.
const FluxReleaseName = "atlan-flux-atlan-sdr-orchestrator-produc-a9311c4df213"

// Env is the installed cluster.
type Env struct {
	*testenv.Cluster
	Helm  string
	Helm4 string
	// HelmEnv is the environment helm ran with (its homes in a temp dir).
	HelmEnv []string
	Kube    kubernetes.Interface
	// home is Install's temporary directory; the charts are under
	// home/files/charts.
	home string
}

var once struct {
	sync.Mutex
	env   *Env
	home  string
	tried bool
}

// Main runs the package's tests, then removes what Install made and stops
// the cluster. Call it from TestMain: os.Exit(testsdr.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	once.Lock()
	if once.home != "" {
		_ = os.RemoveAll(once.home)
	}
	once.Unlock()
	testenv.StopKube()
	return code
}

// Install starts the package's cluster (testenv.Kube) and installs every
// layout once; later calls return the same Env.
func Install(t testing.TB) *Env {
	t.Helper()
	c := testenv.Kube(t)
	helm := testenv.Path(t, "SDR_MIRROR_HELM3")
	helm4 := testenv.Path(t, "SDR_MIRROR_HELM4")
	once.Lock()
	defer once.Unlock()
	if once.env != nil {
		return once.env
	}
	if once.tried {
		t.Fatal("installing the test SDR releases failed in an earlier test")
	}
	once.tried = true
	home, err := os.MkdirTemp("", "sdr-mirror-helm")
	if err != nil {
		t.Fatal(err)
	}
	once.home = home
	dir := filepath.Join(home, "files")
	if err := os.CopyFS(dir, files); err != nil {
		t.Fatal(err)
	}
	e := &Env{Cluster: c, Helm: helm, Helm4: helm4, home: home, HelmEnv: []string{
		"KUBECONFIG=" + c.Kubeconfig,
		"HELM_CACHE_HOME=" + filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME=" + filepath.Join(home, "config"),
		"HELM_DATA_HOME=" + filepath.Join(home, "data"),
	}}
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if e.Kube, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	c.Run(t, "", "apply", "-f", filepath.Join(dir, "crds.yaml"))
	c.Run(t, "", "wait", "--for", "condition=established", "--timeout", "60s",
		"crd/helmreleases.helm.toolkit.fluxcd.io", "crd/components.dapr.io", "crd/connectorruns.workflows.atlan.example")
	for _, ns := range []string{Namespace, FluxNamespace, FluxSystem, ConfigMapNamespace, TwoNamespace, CopyNamespace, Helm4Namespace} {
		c.Run(t, "", "create", "namespace", ns)
	}
	c.Run(t, "", "-n", Namespace, "create", "secret", "generic", ObjectSecret,
		"--from-literal=access-key=AKIATESTKEY", "--from-literal=secret-key=test-secret-value")

	charts := filepath.Join(dir, "charts")
	connector := func(name string) string {
		// Each connector is its own chart, as Atlan publishes them.
		d := filepath.Join(home, name)
		if err := os.CopyFS(d, os.DirFS(filepath.Join(charts, "connector"))); err != nil {
			t.Fatal(err)
		}
		chart := fmt.Sprintf("apiVersion: v2\nname: %s\nversion: 1.0.0\n", name)
		if err := os.WriteFile(filepath.Join(d, "Chart.yaml"), []byte(chart), 0o600); err != nil {
			t.Fatal(err)
		}
		return d
	}
	teradata, postgres := connector("atlan-teradata-app"), connector("atlan-postgres-app")
	sdrChart := filepath.Join(charts, "atlan-sdr")
	values := func(name, text string) string {
		p := filepath.Join(home, name+".yaml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Plain Helm.
	e.helm(t, nil, "install", Release, sdrChart, "-n", Namespace, "-f", values("acme", `
sdr:
  deploymentName: acme
  config:
    imageMapPath: sdr/image-map.yaml
objectstore:
  type: bindings.aws.s3
  metadata:
  - name: bucket
    value: acme-sdr-bucket
  - name: region
    value: eu-west-1
  - name: accessKey
    secretKeyRef: {name: sdr-objectstore, key: access-key}
  - name: secretKey
    secretKeyRef: {name: sdr-objectstore, key: secret-key}
`))
	e.helm(t, nil, "install", "teradata", teradata, "-n", Namespace, "--labels", "team=data",
		"--set", "app=teradata", "--set", "version=3.1.4")
	e.helm(t, nil, "install", "postgres", postgres, "-n", Namespace,
		"--set", "app=postgres", "--set", "version=2.0.1",
		"--set", "mainImage=registry.mycompany.com/atlan/atlan-postgres-app:2.0.1")

	// Flux: installed under the name helm-controller would use, records
	// then moved to the HelmRelease's namespace, where helm-controller
	// keeps them.
	e.helm(t, nil, "install", FluxReleaseName, sdrChart, "-n", FluxNamespace, "-f", values("flux", `
sdr:
  deploymentName: acme-eu
  config:
    imageMapPath: eu/image-map.yaml
    containerRegistryBase: registry.eu.example.com/atlan
storage:
  render: component
  type: bindings.azure.blobstorage
  metadata:
  - name: accountName
    value: acmeeu
  - name: containerName
    value: sdr
`))
	e.moveRecord(t, FluxReleaseName, FluxNamespace, FluxSystem)
	c.Run(t, `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: `+FluxHelmRelease+`
  namespace: flux-system
spec:
  interval: 10m
  targetNamespace: atlan-flux
  chart:
    spec:
      chart: atlan-sdr
      version: 1.4.0
      sourceRef: {kind: HelmRepository, name: atlan}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: teradata
  namespace: flux-system
spec:
  interval: 10m
  targetNamespace: atlan-flux
  chart:
    spec:
      chart: atlan-teradata-app
      sourceRef: {kind: HelmRepository, name: atlan}
`, "apply", "-f", "-")

	// configmap driver.
	e.helm(t, []string{"HELM_DRIVER=configmap"}, "install", ConfigMapRelease, sdrChart, "-n", ConfigMapNamespace, "-f", values("cm", `
sdr:
  deploymentName: cm
storage:
  render: configmap
  type: bindings.localstorage
  metadata:
  - name: rootPath
    value: /var/lib/sdr
`))
	e.helm(t, []string{"HELM_DRIVER=configmap"}, "install", "mysql", teradata, "-n", ConfigMapNamespace,
		"--set", "app=mysql", "--set", "version=8.0.0")

	// Two SDRs.
	e.helm(t, nil, "install", "atlan-sdr-one", sdrChart, "-n", TwoNamespace)
	e.helm(t, nil, "install", "atlan-sdr-two", sdrChart, "-n", TwoNamespace)
	e.helm(t, nil, "install", "atlan-sdr-two", sdrChart, "-n", CopyNamespace)

	// Helm 4 writes the same record format.
	testenv.Command(t, "", e.HelmEnv, e.Helm4, "install", Helm4Release, sdrChart, "-n", Helm4Namespace, "--no-hooks",
		"--set", "sdr.config.imageMapPath=four/image-map.yaml")

	once.env = e
	return e
}

// InstallSDR installs the SDR orchestrator chart into namespace (which
// must exist) as release with Helm 3, with values (YAML) over the chart's
// defaults, for a test that needs an SDR of its own.
func (e *Env) InstallSDR(t testing.TB, namespace, release, values string) {
	t.Helper()
	f, err := os.CreateTemp(e.home, release+"-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString(values)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	e.helm(t, nil, "install", release, filepath.Join(e.home, "files", "charts", "atlan-sdr"), "-n", namespace, "-f", f.Name())
}

func (e *Env) helm(t testing.TB, env []string, args ...string) {
	t.Helper()
	testenv.Command(t, "", append(append([]string{}, e.HelmEnv...), env...), e.Helm, append(args, "--no-hooks")...)
}

// moveRecord moves revision 1 of a release's record Secret to another
// namespace, keeping it byte for byte.
func (e *Env) moveRecord(t testing.TB, name, from, to string) {
	t.Helper()
	ctx := context.Background()
	key := "sh.helm.release.v1." + name + ".v1"
	s, err := e.Kube.CoreV1().Secrets(from).Get(ctx, key, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	moved := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: to, Labels: s.Labels},
		Type:       s.Type,
		Data:       s.Data,
	}
	if _, err := e.Kube.CoreV1().Secrets(to).Create(ctx, moved, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.Kube.CoreV1().Secrets(from).Delete(ctx, key, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}
