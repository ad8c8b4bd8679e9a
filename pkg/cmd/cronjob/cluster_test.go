//go:build integration

package cronjob_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
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
	out := []string{"diff", "--offline", "-o", "json"}
	for i := 1; i < len(args); i++ {
		if args[i] == "--registry-auth-file" { // mounted from the Secret in the pod only
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

func TestCronJobInCluster(t *testing.T) {
	env := testsdr.Install(t)
	installSDR(t, env)
	ctx := context.Background()
	admin := []string{"--kubeconfig", env.Kubeconfig}

	// A release build: the default image is its copy in the SDR's target
	// registry.
	t.Cleanup(cronjob.SetBuildVersion("v1.2.3"))
	const wantImage = "registry.example.com/atlan/kubectl-sdr-mirror:v1.2.3"

	// A server-side dry run validates every manifest and creates nothing:
	// the time zone, the run deadline, the pull secret, the image in the
	// target registry and the Secret the objectstore names, read from the
	// SDR.
	out, errOut, code := run(t, nil, append(admin, "cronjob", "-n", namespace, "--apply", "--dry-run", "--time-zone", "Europe/Berlin",
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
	// What the API server accepted in the dry run is what it keeps: the
	// printed manifests, sent for real, read back.
	manifests, errOut, code := run(t, nil, append(admin, "cronjob", "-n", namespace, "--time-zone", "Europe/Berlin",
		"--registry-secret", "registry-creds", "--atlan-token-secret", "atlan-api", "--ca-bundle-configmap", "company-ca", "-o", "json")...)
	if code != 0 {
		t.Fatalf("cronjob -o json: exit %d: %s", code, errOut)
	}
	sent := decodeList(t, manifests)
	checkSent(t, sent.cronJob, sent.role, "Europe/Berlin", wantImage)

	// The API server would reject "61 * * * *"; cronjob refuses it first,
	// with one line, and sends nothing.
	_, errOut, code = run(t, nil, append(admin, "cronjob", "-n", namespace, "--apply", "--dry-run", "--schedule", "61 * * * *")...)
	if code != 1 || !strings.HasPrefix(errOut, `error: --schedule "61 * * * *": end of range (61) above maximum (59)`) || strings.Count(errOut, "\n") != 1 {
		t.Errorf("cronjob --schedule '61 * * * *' = exit %d, %q; want exit 1 and one line naming --schedule", code, errOut)
	}

	// Applied for real, twice: server-side apply is idempotent.
	for range 2 {
		if _, errOut, code := run(t, nil, append(admin, "cronjob", "-n", namespace, "--apply", "--time-zone", "Europe/Berlin",
			"--registry-secret", "registry-creds")...); code != 0 {
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
	role, err := env.Kube.RbacV1().Roles(namespace).Get(ctx, cronjob.DefaultName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkSent(t, cj, role, "Europe/Berlin", wantImage)

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
	spec := cronjob.Spec{Name: "unused", Namespace: namespace, HelmDriver: sdr.DriverSecret, ObjectstoreSecrets: []string{objectSecret}}
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

// sentObjects are the CronJob and Role of a printed List.
type sentObjects struct {
	cronJob *batchv1.CronJob
	role    *rbacv1.Role
}

func decodeList(t *testing.T, out string) sentObjects {
	t.Helper()
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("cronjob -o json: %v\n%s", err, out)
	}
	var got sentObjects
	for _, raw := range list.Items {
		var meta metav1.TypeMeta
		if err := json.Unmarshal(raw, &meta); err != nil {
			t.Fatal(err)
		}
		var err error
		switch meta.Kind {
		case "CronJob":
			got.cronJob = &batchv1.CronJob{}
			err = json.Unmarshal(raw, got.cronJob)
		case "Role":
			got.role = &rbacv1.Role{}
			err = json.Unmarshal(raw, got.role)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if got.cronJob == nil || got.role == nil {
		t.Fatalf("cronjob -o json printed no CronJob or no Role:\n%s", out)
	}
	return got
}

// checkSent checks what finding 8 and the first night depend on: the time
// zone, a deadline per run, the pull secret, the image in the target
// registry, and a Role that may get only the objectstore's Secret.
func checkSent(t *testing.T, cj *batchv1.CronJob, role *rbacv1.Role, zone, image string) {
	t.Helper()
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("CronJob concurrencyPolicy = %q, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
	if tz := cj.Spec.TimeZone; tz == nil || *tz != zone {
		t.Errorf("CronJob timeZone = %v, want %s", tz, zone)
	}
	job := cj.Spec.JobTemplate.Spec
	if d := job.ActiveDeadlineSeconds; d == nil || *d != 3600 {
		t.Errorf("Job activeDeadlineSeconds = %v, want 3600", d)
	}
	pod := job.Template.Spec
	if len(pod.ImagePullSecrets) != 1 || pod.ImagePullSecrets[0].Name != "registry-creds" {
		t.Errorf("pod imagePullSecrets = %+v, want registry-creds", pod.ImagePullSecrets)
	}
	if got := pod.Containers[0].Image; got != image {
		t.Errorf("image = %q, want %q", got, image)
	}
	gets := 0
	for _, r := range role.Rules {
		if !slices.Contains(r.Resources, "secrets") || !slices.Contains(r.Verbs, "get") {
			continue
		}
		gets++
		if !slices.Equal(r.ResourceNames, []string{objectSecret}) {
			t.Errorf("the Role may get Secrets %q, want only %q", r.ResourceNames, objectSecret)
		}
	}
	if gets != 1 {
		t.Errorf("the Role has %d rules to get Secrets, want 1: %+v", gets, role.Rules)
	}
}
