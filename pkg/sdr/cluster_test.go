//go:build integration

package sdr_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testsdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

func TestMain(m *testing.M) { os.Exit(testsdr.Main(m)) }

func clients(t *testing.T, kubeconfig string) (kubernetes.Interface, dynamic.Interface) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(cfg), dynamic.NewForConfigOrDie(cfg)
}

func TestFindPlainHelm(t *testing.T) {
	env := testsdr.Install(t)
	kube, dyn := clients(t, env.Kubeconfig)
	ctx := context.Background()

	for _, tc := range []struct {
		name string
		opts []sdr.Option
	}{
		{"by chart", nil},
		{"by release", []sdr.Option{sdr.WithRelease(testsdr.Release)}},
		{"by deployment name", []sdr.Option{sdr.WithOverrides(sdr.Overrides{DeploymentName: testsdr.DeploymentName})}},
		{"without Flux lookup", []sdr.Option{sdr.WithDynamicClient(nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]sdr.Option{sdr.WithNamespace(testsdr.Namespace), sdr.WithDynamicClient(dyn)}, tc.opts...)
			inst, err := sdr.Find(ctx, kube, opts...)
			if err != nil {
				t.Fatal(err)
			}
			got := inst.Release(sdr.BlockAuto, nil)
			want := sdr.ReleaseInfo{Name: testsdr.Release, Namespace: testsdr.Namespace, StorageNamespace: testsdr.Namespace, ManagedBy: "helm"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Release() = %+v, want %+v", got, want)
			}
			s := inst.Settings
			if s.ImageMapPath != testsdr.ImageMapPath || s.DeploymentName != testsdr.DeploymentName || s.Target != "" {
				t.Errorf("settings = map %q, deployment %q, target %q; want %q, %q, \"\"", s.ImageMapPath, s.DeploymentName, s.Target, testsdr.ImageMapPath, testsdr.DeploymentName)
			}
			if from, want := s.From[sdr.SettingImageMapPath], `values of Helm release "atlan/atlan-sdr-acme" at sdr.config.imageMapPath`; from != want {
				t.Errorf("From[image map key] = %q, want %q", from, want)
			}
			wantC := &sdr.Component{Name: "objectstore", Type: "bindings.aws.s3", Metadata: []sdr.MetadataItem{
				{Name: "bucket", Value: "acme-sdr-bucket"},
				{Name: "region", Value: "eu-west-1"},
				{Name: "accessKey", SecretKeyRef: &sdr.SecretKeyRef{Name: testsdr.ObjectSecret, Key: "access-key"}},
				{Name: "secretKey", SecretKeyRef: &sdr.SecretKeyRef{Name: testsdr.ObjectSecret, Key: "secret-key"}},
			}, Source: `values of Helm release "atlan/atlan-sdr-acme" at objectstore`}
			if !reflect.DeepEqual(s.ObjectStore, wantC) {
				t.Errorf("ObjectStore = %+v, want %+v", s.ObjectStore, wantC)
			}
			for k, want := range map[string]string{"access-key": "AKIATESTKEY", "secret-key": "test-secret-value"} {
				if v, err := inst.Secrets.GetSecret(ctx, testsdr.ObjectSecret, k); err != nil || string(v) != want {
					t.Errorf("GetSecret(%q, %q) = %q, %v; want %q", testsdr.ObjectSecret, k, v, err, want)
				}
			}
			obj, err := store.OpenComponent(ctx, s.ObjectStore.Store(), s.ImageMapPath, inst.Secrets)
			if err != nil {
				t.Fatalf("OpenComponent() = %v", err)
			}
			obj.Close()
			// helm get values --all: chart defaults merged under user values.
			if v, _ := inst.Values["daprImage"].(string); v != "daprio/daprd:1.14.4" {
				t.Errorf("Values[daprImage] = %q, want the chart default %q", v, "daprio/daprd:1.14.4")
			}
		})
	}
}

func TestFindOverrides(t *testing.T) {
	env := testsdr.Install(t)
	kube, _ := clients(t, env.Kubeconfig)
	inst, err := sdr.Find(context.Background(), kube, sdr.WithNamespace(testsdr.Namespace),
		sdr.WithOverrides(sdr.Overrides{ImageMapPath: "other/map.yaml", Target: "reg.example.com/x", Bucket: "mem://"}))
	if err != nil {
		t.Fatal(err)
	}
	s := inst.Settings
	got := []string{s.ImageMapPath, s.Target, s.Bucket, s.From[sdr.SettingImageMapPath], s.From[sdr.SettingTarget]}
	want := []string{"other/map.yaml", "reg.example.com/x", "mem://", "flag --image-map-path", "flag --target"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("settings = %q, want %q", got, want)
	}
	if err := s.Require(sdr.SettingImageMapPath, sdr.SettingTarget, sdr.SettingObjectStore, sdr.SettingDeploymentName); err != nil {
		t.Errorf("Require() = %v, want nil", err)
	}
}

func TestFindFlux(t *testing.T) {
	env := testsdr.Install(t)
	kube, dyn := clients(t, env.Kubeconfig)
	ctx := context.Background()
	inst, err := sdr.Find(ctx, kube, sdr.WithNamespace(testsdr.FluxNamespace), sdr.WithDynamicClient(dyn))
	if err != nil {
		t.Fatal(err)
	}
	wantFlux := &sdr.FluxRelease{Name: testsdr.FluxHelmRelease, Namespace: testsdr.FluxSystem, Chart: "atlan-sdr",
		ReleaseName: testsdr.FluxReleaseName, StorageNamespace: testsdr.FluxSystem, TargetNamespace: testsdr.FluxNamespace}
	if !reflect.DeepEqual(inst.Flux, wantFlux) {
		t.Errorf("Flux = %+v, want %+v", inst.Flux, wantFlux)
	}
	current := &imagemap.Release{Name: "old", StorageNamespace: "old-ns"}
	for _, tc := range []struct {
		mode sdr.BlockMode
		want *imagemap.Release
	}{
		{sdr.BlockAuto, &imagemap.Release{Name: testsdr.FluxReleaseName, StorageNamespace: testsdr.FluxSystem}},
		{sdr.BlockKeep, current},
		{sdr.BlockRemove, nil},
	} {
		got := inst.Release(tc.mode, current)
		want := sdr.ReleaseInfo{Name: testsdr.FluxReleaseName, Namespace: testsdr.FluxNamespace,
			StorageNamespace: testsdr.FluxSystem, ManagedBy: "flux", Block: tc.want}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Release(%q) = %+v (block %+v), want %+v (block %+v)", tc.mode, got, got.Block, want, want.Block)
		}
	}
	s := inst.Settings
	if s.ImageMapPath != "eu/image-map.yaml" || s.Target != "registry.eu.example.com/atlan" || s.DeploymentName != testsdr.FluxDeploymentName {
		t.Errorf("settings = %q, %q, %q", s.ImageMapPath, s.Target, s.DeploymentName)
	}
	wantC := &sdr.Component{Name: "objectstore", Type: "bindings.azure.blobstorage", Metadata: []sdr.MetadataItem{
		{Name: "accountName", Value: "acmeeu"}, {Name: "containerName", Value: "sdr"},
	}, Source: `manifest of Helm release "atlan-flux/` + testsdr.FluxReleaseName + `": Component/objectstore`}
	if !reflect.DeepEqual(s.ObjectStore, wantC) {
		t.Errorf("ObjectStore = %+v, want %+v", s.ObjectStore, wantC)
	}

	// Without the HelmRelease the records are not beside the workloads...
	_, err = sdr.Find(ctx, kube, sdr.WithNamespace(testsdr.FluxNamespace))
	if !errors.Is(err, sdr.ErrNotFound) || !strings.Contains(err.Error(), `in namespace "atlan-flux" (Helm driver secret) (no Helm releases there); pass --release`) {
		t.Errorf("Find(no Flux lookup) error = %v, want not found naming the namespace and --release", err)
	}
	// ...and --storage-namespace finds them.
	inst, err = sdr.Find(ctx, kube, sdr.WithNamespace(testsdr.FluxNamespace), sdr.WithStorageNamespace(testsdr.FluxSystem))
	if err != nil {
		t.Fatal(err)
	}
	if inst.Record.Name != testsdr.FluxReleaseName || inst.Namespace != testsdr.FluxNamespace || inst.Record.StorageNamespace != testsdr.FluxSystem {
		t.Errorf("Find(--storage-namespace) = %s stored in %s, want %s/%s stored in %s", inst.Record.Ref(), inst.Record.StorageNamespace,
			testsdr.FluxNamespace, testsdr.FluxReleaseName, testsdr.FluxSystem)
	}
}

func TestFindConfigMapDriver(t *testing.T) {
	env := testsdr.Install(t)
	kube, dyn := clients(t, env.Kubeconfig)
	ctx := context.Background()
	inst, err := sdr.Find(ctx, kube, sdr.WithNamespace(testsdr.ConfigMapNamespace), sdr.WithDriver("configmaps"), sdr.WithDynamicClient(dyn))
	if err != nil {
		t.Fatal(err)
	}
	if inst.Record.Name != testsdr.ConfigMapRelease {
		t.Errorf("release = %q, want %q", inst.Record.Name, testsdr.ConfigMapRelease)
	}
	wantC := &sdr.Component{Name: "objectstore", Type: "bindings.localstorage", Metadata: []sdr.MetadataItem{{Name: "rootPath", Value: "/var/lib/sdr"}},
		Source: `manifest of Helm release "atlan-cm/sdr-main": ConfigMap/sdr-main-dapr-components data.objectstore.yaml`}
	if !reflect.DeepEqual(inst.Settings.ObjectStore, wantC) {
		t.Errorf("ObjectStore = %+v, want %+v", inst.Settings.ObjectStore, wantC)
	}
	// Not named atlan-sdr-<name>: the deployment name comes from values
	// and the release: block is needed.
	got := inst.Release(sdr.BlockAuto, nil)
	if got.Block == nil || got.Block.Name != testsdr.ConfigMapRelease || inst.Settings.DeploymentName != "cm" {
		t.Errorf("Release(auto).Block = %+v with deployment %q, want {%s %s}", got.Block, inst.Settings.DeploymentName, testsdr.ConfigMapRelease, testsdr.ConfigMapNamespace)
	}
	err = inst.Settings.Require(sdr.SettingImageMapPath)
	want := `image map key not found: looked in values of Helm release "atlan-cm/sdr-main" (sdr.config.imageMapPath, imageMapPath); pass --image-map-path`
	if err == nil || err.Error() != want {
		t.Errorf("Require(image map key) = %v, want %q", err, want)
	}
	apps, err := inst.Apps(ctx, kube, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := refs(apps), []string{"atlan-cm/mysql", "atlan-cm/sdr-main"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Apps() = %q, want %q", got, want)
	}
	// The secret driver sees none of it.
	if _, err := sdr.Find(ctx, kube, sdr.WithNamespace(testsdr.ConfigMapNamespace)); !errors.Is(err, sdr.ErrNotFound) {
		t.Errorf("Find(secret driver) error = %v, want not found", err)
	}
}

func TestFindHelm4Release(t *testing.T) {
	env := testsdr.Install(t)
	kube, _ := clients(t, env.Kubeconfig)
	inst, err := sdr.Find(context.Background(), kube, sdr.WithNamespace(testsdr.Helm4Namespace))
	if err != nil {
		t.Fatal(err)
	}
	s := inst.Settings
	if inst.Record.Name != testsdr.Helm4Release || s.ImageMapPath != "four/image-map.yaml" || s.DeploymentName != "four" || len(inst.Record.Hooks) != 1 {
		t.Errorf("Find() = release %q (%d hooks), map %q, deployment %q; want %q (1 hook), %q, %q",
			inst.Record.Name, len(inst.Record.Hooks), s.ImageMapPath, s.DeploymentName, testsdr.Helm4Release, "four/image-map.yaml", "four")
	}
}

func refs(recs []*sdr.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Ref()
	}
	return out
}

func TestFindErrors(t *testing.T) {
	env := testsdr.Install(t)
	kube, dyn := clients(t, env.Kubeconfig)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts []sdr.Option
		is   error
		want string
	}{
		{"ambiguous", []sdr.Option{sdr.WithNamespace(testsdr.TwoNamespace)}, sdr.ErrAmbiguous,
			`finding the SDR: more than one SDR release in namespace "atlan-two" (Helm driver secret): atlan-two/atlan-sdr-one (chart atlan-sdr, stored in atlan-two), atlan-two/atlan-sdr-two (chart atlan-sdr, stored in atlan-two); pass --release to choose`},
		{"no such release", []sdr.Option{sdr.WithNamespace(testsdr.Namespace), sdr.WithRelease("atlan-sdr-nope")}, sdr.ErrNotFound,
			`finding the SDR: Helm release "atlan-sdr-nope" (from --release) not found in namespace "atlan" (Helm driver secret); check --release, -n, --storage-namespace and HELM_DRIVER`},
		{"no such deployment", []sdr.Option{sdr.WithNamespace(testsdr.Namespace), sdr.WithOverrides(sdr.Overrides{DeploymentName: "nope"})}, sdr.ErrNotFound,
			`finding the SDR: Helm release "atlan-sdr-nope" (from --deployment-name) not found in namespace "atlan" (Helm driver secret); check --release, -n, --storage-namespace and HELM_DRIVER`},
		{"no SDR chart", []sdr.Option{sdr.WithNamespace(testsdr.Namespace), sdr.WithChartPattern("^orchestrator$")}, sdr.ErrNotFound,
			`finding the SDR: no Helm release whose chart matches "^orchestrator$" in namespace "atlan" (Helm driver secret): atlan/atlan-sdr-acme (chart atlan-sdr, stored in atlan), atlan/postgres (chart atlan-postgres-app, stored in atlan), atlan/teradata (chart atlan-teradata-app, stored in atlan); pass --release (or --sdr-chart, -n, -A, --storage-namespace)`},
		{"bad driver", []sdr.Option{sdr.WithDriver("sql")}, nil,
			`helm storage driver "sql" is not supported: use secret or configmap (HELM_DRIVER, --helm-driver)`},
		{"all namespaces", []sdr.Option{sdr.WithAllNamespaces(true), sdr.WithDynamicClient(dyn)}, sdr.ErrAmbiguous, ""},
		{"one name in two namespaces", []sdr.Option{sdr.WithAllNamespaces(true), sdr.WithRelease("atlan-sdr-two")}, sdr.ErrAmbiguous,
			`finding the SDR: more than one SDR release: Helm release "atlan-sdr-two" (from --release) in any namespace (Helm driver secret): atlan-copy/atlan-sdr-two (chart atlan-sdr, stored in atlan-copy), atlan-two/atlan-sdr-two (chart atlan-sdr, stored in atlan-two); pass -n or --storage-namespace to choose`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sdr.Find(ctx, kube, tc.opts...)
			if err == nil {
				t.Fatal("Find() = nil error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Find() error = %v, want %v", err, tc.is)
			}
			if tc.want != "" && err.Error() != tc.want {
				t.Errorf("Find() error =\n%s\nwant\n%s", err, tc.want)
			}
		})
	}
}

func TestApps(t *testing.T) {
	env := testsdr.Install(t)
	kube, _ := clients(t, env.Kubeconfig)
	ctx := context.Background()
	inst, err := sdr.Find(ctx, kube, sdr.WithNamespace(testsdr.Namespace))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		selector string
		want     []string
	}{
		{"", []string{"atlan/atlan-sdr-acme", "atlan/postgres", "atlan/teradata"}},
		{"team=data", []string{"atlan/teradata"}},
		{"team!=data", []string{"atlan/atlan-sdr-acme", "atlan/postgres"}},
	} {
		var sel labels.Selector
		if tc.selector != "" {
			var err error
			if sel, err = labels.Parse(tc.selector); err != nil {
				t.Fatal(err)
			}
		}
		apps, err := inst.Apps(ctx, kube, false, sel)
		if err != nil {
			t.Fatal(err)
		}
		if got := refs(apps); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Apps(%q) = %q, want %q", tc.selector, got, tc.want)
		}
	}
	// -A: every release the secret driver holds, ordered by storage
	// namespace, then name.
	apps, err := inst.Apps(ctx, kube, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"atlan/atlan-sdr-acme", "atlan/postgres", "atlan/teradata", "atlan-copy/atlan-sdr-two", "atlan-helm4/atlan-sdr-four",
		"atlan-two/atlan-sdr-one", "atlan-two/atlan-sdr-two", "atlan-flux/" + testsdr.FluxReleaseName}
	if got := refs(apps); !reflect.DeepEqual(got, want) {
		t.Errorf("Apps(all namespaces) = %q, want %q", got, want)
	}
}

// serviceAccount creates a ServiceAccount in namespace allowed verbs on
// Secrets there only, and returns a kubeconfig with its token from the
// TokenRequest API.
func serviceAccount(t *testing.T, env *testsdr.Env, name, namespace string, verbs ...string) string {
	t.Helper()
	ctx := context.Background()
	k := env.Kube
	if _, err := k.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: verbs}}}
	if _, err := k.RbacV1().Roles(namespace).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: namespace}}}
	if _, err := k.RbacV1().RoleBindings(namespace).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, err := k.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return env.KubeconfigFor(t, tok.Status.Token, namespace)
}

func TestRestrictedServiceAccount(t *testing.T) {
	env := testsdr.Install(t)
	ctx := context.Background()

	// get and list on Secrets in the SDR's namespace is enough.
	kube, dyn := clients(t, serviceAccount(t, env, "sdr-reader", testsdr.Namespace, "get", "list"))
	inst, err := sdr.Find(ctx, kube, sdr.WithNamespace(testsdr.Namespace), sdr.WithDynamicClient(dyn))
	if err != nil {
		t.Fatal(err)
	}
	if inst.Record.Name != testsdr.Release {
		t.Errorf("release = %q, want %q", inst.Record.Name, testsdr.Release)
	}
	if got := strings.Join(inst.Notes, "; "); !strings.Contains(got, "may not list helmreleases") {
		t.Errorf("Notes = %q, want a note that HelmReleases could not be listed", got)
	}
	if obj, err := store.OpenComponent(ctx, inst.Settings.ObjectStore.Store(), inst.Settings.ImageMapPath, inst.Secrets); err != nil {
		t.Errorf("OpenComponent() = %v", err)
	} else {
		obj.Close()
	}
	apps, err := inst.Apps(ctx, kube, false, nil)
	if err != nil || len(apps) != 3 {
		t.Errorf("Apps() = %d releases, %v; want 3", len(apps), err)
	}

	// Another namespace is forbidden, and the error names the permission.
	_, err = sdr.Find(ctx, kube, sdr.WithNamespace(testsdr.TwoNamespace))
	want := `listing Helm release records in namespace "atlan-two": forbidden: the credentials lack permission "list" on "secrets" in namespace "atlan-two"; grant it with a Role and RoleBinding (or ClusterRole for all namespaces)`
	if !errors.Is(err, sdr.ErrForbidden) || err.Error() != want {
		t.Errorf("Find(other namespace) error =\n%v\nwant\n%s", err, want)
	}

	// list without get: the release is found, the secretKeyRef is not read.
	kube, _ = clients(t, serviceAccount(t, env, "sdr-lister", testsdr.Namespace, "list"))
	inst, err = sdr.Find(ctx, kube, sdr.WithNamespace(testsdr.Namespace))
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.OpenComponent(ctx, inst.Settings.ObjectStore.Store(), inst.Settings.ImageMapPath, inst.Secrets)
	want = `objectstore component "objectstore": metadata "accessKey": reading secret "sdr-objectstore" in namespace "atlan": forbidden: the credentials lack permission "get" on "secrets" in namespace "atlan"; grant it with a Role and RoleBinding (or ClusterRole for all namespaces)`
	if !errors.Is(err, sdr.ErrForbidden) || err.Error() != want {
		t.Errorf("OpenComponent() error =\n%v\nwant\n%s", err, want)
	}
	if strings.Contains(err.Error(), "AKIATESTKEY") {
		t.Error("the error shows the secret value")
	}
}
