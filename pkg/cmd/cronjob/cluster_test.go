//go:build integration

package cronjob_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testsdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/cronjob"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
)

func TestMain(m *testing.M) { os.Exit(testsdr.Main(m)) }

// The SDR this test installs: its objectstore component is an S3 bucket on
// versitygw whose keys are in a Secret, so sync must get that Secret.
const (
	namespace    = "atlan-cron"
	release      = "atlan-sdr-cron"
	objectSecret = "cron-objectstore"
	accessKey    = "AKIACRONTEST"
	secretKey    = "cron-secret-value"
	bucket       = "cron-sdr"
)

func installSDR(t *testing.T, env *testsdr.Env) {
	t.Helper()
	endpoint := testenv.StartVersityGW(t, accessKey, secretKey, bucket)
	env.Run(t, "", "create", "namespace", namespace)
	env.Run(t, "", "-n", namespace, "create", "secret", "generic", objectSecret,
		"--from-literal=access-key="+accessKey, "--from-literal=secret-key="+secretKey)
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(`
sdr:
  deploymentName: cron
  config:
    imageMapPath: sdr/image-map.yaml
    containerRegistryBase: registry.example.com/atlan
objectstore:
  type: bindings.aws.s3
  metadata:
  - name: bucket
    value: `+bucket+`
  - name: region
    value: us-east-1
  - name: endpoint
    value: `+endpoint+`
  - name: forcePathStyle
    value: "true"
  - name: accessKey
    secretKeyRef: {name: `+objectSecret+`, key: access-key}
  - name: secretKey
    secretKeyRef: {name: `+objectSecret+`, key: secret-key}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	chart := filepath.Join(testenv.RepoRoot(), "internal", "testsdr", "charts", "atlan-sdr")
	testenv.Command(t, "", env.HelmEnv, env.Helm, "install", release, chart, "-n", namespace, "-f", values, "--no-hooks")
}

// token returns a kubeconfig for ServiceAccount name from the TokenRequest
// API.
func token(t *testing.T, env *testsdr.Env, name string) string {
	t.Helper()
	tok, err := env.Kube.CoreV1().ServiceAccounts(namespace).CreateToken(t.Context(), name, &authv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return env.KubeconfigFor(t, tok.Status.Token, namespace)
}

// diffArgs runs the CronJob's own sync arguments as an offline diff: the
// same reads of the cluster and the bucket, no registry.
func diffArgs(t *testing.T, env *testsdr.Env, name string) []string {
	t.Helper()
	cj, err := env.Kube.BatchV1().CronJobs(namespace).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	args := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args
	if args[0] != "sync" {
		t.Fatalf("CronJob args = %q, want sync first", args)
	}
	return append([]string{"diff", "--offline", "-o", "json"}, args[1:]...)
}

func TestCronJobInCluster(t *testing.T) {
	env := testsdr.Install(t)
	installSDR(t, env)
	ctx := context.Background()
	admin := []string{"--kubeconfig", env.Kubeconfig}

	// A server-side dry run validates every manifest and creates nothing.
	out, errOut, code := run(t, nil, append(admin, "cronjob", "-n", namespace, "--apply", "--dry-run",
		"--registry-secret", "registry-creds", "--atlan-token-secret", "atlan-api", "--ca-bundle-configmap", "company-ca")...)
	if code != 0 {
		t.Fatalf("cronjob --apply --dry-run: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"serviceaccount/sdr-mirror", "role/sdr-mirror", "rolebinding/sdr-mirror", "cronjob/sdr-mirror"} {
		if !strings.Contains(out, want+" applied (server dry run)") {
			t.Errorf("cronjob --apply --dry-run output %q lacks %q", out, want)
		}
	}
	if _, err := env.Kube.BatchV1().CronJobs(namespace).Get(ctx, cronjob.DefaultName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after a dry run, getting the CronJob = %v, want not found", err)
	}

	// The API server rejects what a print would not catch.
	_, errOut, code = run(t, nil, append(admin, "cronjob", "-n", namespace, "--apply", "--dry-run", "--schedule", "61 * * * *")...)
	if code != 1 || !strings.Contains(errOut, `applying cronjob "sdr-mirror"`) || !strings.Contains(errOut, "schedule") {
		t.Errorf("cronjob --schedule '61 * * * *' = exit %d, %q; want the API server's schedule error", code, errOut)
	}

	// Applied for real, twice: server-side apply is idempotent.
	for range 2 {
		if _, errOut, code := run(t, nil, append(admin, "cronjob", "-n", namespace, "--apply")...); code != 0 {
			t.Fatalf("cronjob --apply: exit %d: %s", code, errOut)
		}
	}
	cj, err := env.Kube.BatchV1().CronJobs(namespace).Get(ctx, cronjob.DefaultName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cj.Spec.ConcurrencyPolicy != "Forbid" || cj.Spec.Schedule != cronjob.DefaultSchedule {
		t.Errorf("CronJob concurrencyPolicy, schedule = %q, %q; want Forbid, %q", cj.Spec.ConcurrencyPolicy, cj.Spec.Schedule, cronjob.DefaultSchedule)
	}

	// The CronJob's arguments with its ServiceAccount's token read the SDR,
	// its objectstore Secret and the bucket.
	args := diffArgs(t, env, cronjob.DefaultName)
	out, errOut, code = run(t, nil, append([]string{"--kubeconfig", token(t, env, cronjob.DefaultName)}, args...)...)
	if code != 0 {
		t.Fatalf("%s with the CronJob's ServiceAccount: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	if !strings.Contains(out, `"unmapped"`) || !strings.Contains(out, "atlanhq/atlan-sdr:1.4.0") {
		t.Errorf("diff output lacks the SDR's unmapped images:\n%s", out)
	}
	if strings.Contains(out+errOut, secretKey) {
		t.Error("diff printed the objectstore secret")
	}

	restricted(t, env)
}

// restricted drops each verb of the least Role in turn: sync then fails
// and names the permission it lacks.
func restricted(t *testing.T, env *testsdr.Env) {
	t.Helper()
	ctx := context.Background()
	tests := []struct {
		name     string
		resource string
		verb     string
		want     string
	}{
		{"no-list", "secrets", "list", `forbidden: the credentials lack permission "list" on "secrets" in namespace "atlan-cron"`},
		{"no-get", "secrets", "get", `forbidden: the credentials lack permission "get" on "secrets" in namespace "atlan-cron"`},
	}
	spec := cronjob.Spec{Name: "unused", Namespace: namespace, HelmDriver: sdr.DriverSecret}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rules []rbacv1.PolicyRule
			for _, r := range spec.Rules() {
				if slices.Contains(r.Resources, tc.resource) {
					r.Verbs = slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return v == tc.verb })
				}
				if len(r.Verbs) > 0 {
					rules = append(rules, r)
				}
			}
			name := "restricted-" + tc.name
			k := env.Kube
			if _, err := k.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := k.RbacV1().Roles(namespace).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
				RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: namespace}}}
			if _, err := k.RbacV1().RoleBindings(namespace).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			args := []string{"--kubeconfig", token(t, env, name), "diff", "--offline", "-n", namespace}
			_, errOut, code := run(t, nil, args...)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("diff without %s %s = exit %d, %q; want exit 1 and %q", tc.verb, tc.resource, code, errOut, tc.want)
			}
		})
	}
}
