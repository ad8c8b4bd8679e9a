package cronjob

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testsdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
)

// parse runs the command line, in namespace ns, up to the options Run
// would get.
func parse(f *factory.Factory, ns string, args ...string) (*Options, error) {
	*f.ConfigFlags.Namespace = ns
	var got *Options
	cmd := NewCmdCronJob(f, func(o *Options) error { got = o; return nil })
	cmd.SetArgs(append([]string{}, args...))
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return got, cmd.Execute()
}

// releaseVersion makes this test binary a release build.
func releaseVersion(t *testing.T, v string) {
	t.Helper()
	saved := buildVersion
	buildVersion = func() string { return v }
	t.Cleanup(func() { buildVersion = saved })
}

// fakeSDR is the SDR in namespace atlan with an S3 objectstore whose keys
// are in the Secret sdr-objectstore (twice) and whose region is inline.
func fakeSDR(target string) testsdr.FakeRelease {
	r := testsdr.FakeSDR(target, "sdr/image-map.yaml")
	ref := func(key string) map[string]any {
		return map[string]any{"name": key, "secretKeyRef": map[string]any{"name": "sdr-objectstore", "key": key}}
	}
	r.Values["objectstore"] = map[string]any{"type": "bindings.aws.s3", "metadata": []any{
		map[string]any{"name": "bucket", "value": "sdr"}, map[string]any{"name": "region", "value": "us-east-1"},
		ref("accessKey"), ref("secretKey"),
	}}
	return r
}

// noCluster are the flags that spare the command reading the SDR.
var noCluster = []string{"--objectstore-secret=", "--image", "img:v1"}

func TestNewCmdCronJob(t *testing.T) {
	releaseVersion(t, "v1.2.3")
	base := Spec{Name: DefaultName, Namespace: "atlan", HelmDriver: "secret", Schedule: DefaultSchedule, TimeZone: DefaultTimeZone,
		ActiveDeadlineSeconds: 3600, CAKey: defaultCAKey, TokenKey: defaultTokenKey}
	with := func(change func(*Spec)) Spec { s := base; change(&s); return s }
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		cluster bool
		want    Spec
	}{
		{name: "defaults read from the SDR", cluster: true, want: with(func(s *Spec) {
			s.Image = "registry.example.com/atlan/kubectl-sdr-mirror:v1.2.3"
			s.ObjectstoreSecrets = []string{"sdr-objectstore"}
			s.Args = []string{"--namespace", "atlan"}
		})},
		{name: "target after dash wins over the SDR's", cluster: true, args: []string{"--", "--target", "mirror.example.com/team/"},
			want: with(func(s *Spec) {
				s.Image = "mirror.example.com/team/kubectl-sdr-mirror:v1.2.3"
				s.ObjectstoreSecrets = []string{"sdr-objectstore"}
				s.Args = []string{"--namespace", "atlan", "--target", "mirror.example.com/team/"}
			})},
		{name: "no cluster needed", args: []string{"--objectstore-secret", "b,a", "--objectstore-secret", "a", "--", "--target", "mirror.example.com/team", "--keep-path"},
			want: with(func(s *Spec) {
				s.Image = "mirror.example.com/team/sdr-mirror/kubectl-sdr-mirror:v1.2.3"
				s.ObjectstoreSecrets = []string{"a", "b"}
				s.Args = []string{"--namespace", "atlan", "--target", "mirror.example.com/team", "--keep-path"}
			})},
		{name: "every flag", args: []string{"--name", "mirror", "--schedule", "@daily", "--time-zone", "Europe/Berlin", "--active-deadline", "30m",
			"--image", "img:v1", "--registry-secret", "creds", "--objectstore-secret=",
			"--ca-bundle-configmap", "company-ca", "--ca-bundle-key", "root.pem", "--atlan-token-secret", "api", "--atlan-token-key", "TOKEN",
			"--atlan-url", "https://acme.atlan.com", "--release", "atlan-sdr-eu", "--storage-namespace", "flux-system", "--flux", "--", "--prune", "-v"},
			env: map[string]string{"HELM_DRIVER": "configmap"},
			want: Spec{Name: "mirror", Namespace: "atlan", StorageNamespace: "flux-system", HelmDriver: "configmap", Flux: true, Schedule: "@daily",
				TimeZone: "Europe/Berlin", ActiveDeadlineSeconds: 1800,
				Image: "img:v1", RegistrySecret: "creds", CAConfigMap: "company-ca", CAKey: "root.pem", TokenSecret: "api", TokenKey: "TOKEN",
				Args: []string{"--namespace", "atlan", "--release", "atlan-sdr-eu", "--storage-namespace", "flux-system",
					"--helm-driver", "configmap", "--atlan-url", "https://acme.atlan.com", "--prune", "-v"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := factory.NewTest(tc.env)
			if tc.cluster {
				f.KubeClients = testsdr.FakeCluster(t, fakeSDR("registry.example.com/atlan"))
			}
			o, err := parse(f, "atlan", tc.args...)
			if err != nil {
				t.Fatalf("cronjob %q: %v", tc.args, err)
			}
			if got := o.Spec(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("cronjob %q: spec\n%+v\nwant\n%+v", tc.args, got, tc.want)
			}
		})
	}
}

// TestRefused: each refusal is one line naming the flag, and nothing runs.
func TestRefused(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		version string
		cluster *testsdr.FakeRelease
		err     string
	}{
		{name: "unknown sync flag", args: []string{"--", "--prune", "--bogus"}, err: "sync flags after --: unknown flag: --bogus"},
		{name: "sync refuses --prune-max", args: []string{"--", "--prune", "--prune-max", "ten"},
			err: `sync flags after --: --prune-max "ten": must be a count of entries (3) or a share of the map's entries (10%)`},
		{name: "sync refuses --from", args: []string{"--", "--from", "nowhere"}, err: `sync flags after --: --from "nowhere": must be one of helm, latest-releases, file, bundle, self`},
		{name: "argument after dash", args: []string{"--", "extra"}, err: `sync flags after --: unknown command "extra" for "sdr-mirror sync"`},
		{name: "help after dash", args: []string{"--", "--help"}, err: "sync flags after --: they ask sync for help, not for a run"},
		{name: "bad output after dash", args: []string{"--", "-o", "xml"}, err: `sync flag --output "xml" after --: must be one of table, json, yaml`},
		{name: "http atlan url", args: []string{"--atlan-url", "http://acme.atlan.com"},
			err: `--atlan-url "http://acme.atlan.com": must be https://<tenant>.atlan.com; the CronJob sends the Atlan API token there on every run`},
		{name: "http atlan url after dash", args: []string{"--", "--atlan-url=http://acme.atlan.com"}, err: `--atlan-url "http://acme.atlan.com": must be https://`},
		{name: "atlan url without host", args: []string{"--atlan-url", "https://"}, err: `--atlan-url "https://": must be https://`},
		{name: "minute 61", args: []string{"--schedule", "61 * * * *"},
			err: `--schedule "61 * * * *": end of range (61) above maximum (59): 61: want five cron fields`},
		{name: "six fields", args: []string{"--schedule", "0 0 * * * *"}, err: `--schedule "0 0 * * * *": expected exactly 5 fields, found 6`},
		{name: "word", args: []string{"--schedule", "hourly"}, err: `--schedule "hourly": expected exactly 5 fields, found 1`},
		{name: "unknown macro", args: []string{"--schedule", "@fortnightly"}, err: `--schedule "@fortnightly": `}, // then the parser's own words
		{name: "zone in schedule", args: []string{"--schedule", "CRON_TZ=UTC 0 * * * *"}, err: `--schedule "CRON_TZ=UTC 0 * * * *": give the time zone with --time-zone`},
		{name: "unknown zone", args: []string{"--time-zone", "Mars/Olympus"}, err: `--time-zone "Mars/Olympus": not a time zone in the IANA database`},
		{name: "local zone", args: []string{"--time-zone", "Local"}, err: `--time-zone "Local": give an IANA time zone name`},
		{name: "no deadline", args: []string{"--active-deadline", "0s"}, err: "--active-deadline 0s: must be a whole number of seconds, at least 1s, such as 1h0m0s"},
		{name: "fractional deadline", args: []string{"--active-deadline", "1.5s"}, err: "--active-deadline 1.5s: must be a whole number of seconds"},
		{name: "bad schedule", args: []string{"--schedule", "hourly"}, err: `--schedule "hourly": expected exactly 5 fields`},
		{name: "bad name", args: []string{"--name", "Sdr_Mirror"}, err: `--name "Sdr_Mirror": a lowercase RFC 1123 subdomain`},
		{name: "dry run alone", args: []string{"--dry-run"}, err: "--dry-run asks the API server to validate what --apply sends: pass --apply too"},
		{name: "empty token key", args: []string{"--atlan-token-secret", "api", "--atlan-token-key", ""},
			err: "--atlan-token-key must not be empty with --atlan-token-secret"},
		{name: "bad token key", args: []string{"--atlan-token-secret", "api", "--atlan-token-key", "a/b"}, err: `--atlan-token-key "a/b": not a valid key`},
		{name: "bad token secret", args: []string{"--atlan-token-secret", "API"}, err: `--atlan-token-secret "API": not a valid object name`},
		{name: "bad objectstore secret", args: []string{"--objectstore-secret", "S3_Keys"}, err: `--objectstore-secret "S3_Keys": not a valid object name`},
		{name: "auth file after dash", args: []string{"--", "--registry-auth-file", "auth.json"},
			err: `sync flag "--registry-auth-file" after --: the CronJob's container has no such file; use --ca-bundle-configmap or --registry-secret`},
		{name: "images file after dash", args: []string{"--", "--images-file=images.txt"}, err: `sync flag "--images-file=images.txt" after --: the CronJob's container has no such file`},
		{name: "TUF root after dash", args: []string{"--", "--tuf-root", "root.json"}, err: `sync flag "--tuf-root" after --: the CronJob's container has no such file`},
		{name: "bundle export after dash", args: []string{"--", "--to-bundle", "/media/b.tar"}, err: `sync flag "--to-bundle" after --: a bundle is written or read by hand on either side of an air gap, not by the CronJob`},
		{name: "bundle import after dash", args: []string{"--", "--from-bundle=/media/b"}, err: `sync flag "--from-bundle=/media/b" after --: a bundle is written or read by hand`},
		{name: "namespace after dash", args: []string{"--", "--namespace=x"}, err: `sync flag "--namespace=x" after --: the CronJob syncs the SDR of its own namespace`},
		{name: "short namespace after dash", args: []string{"--", "-n", "x"}, err: `sync flag "-n" after --: the CronJob syncs the SDR of its own namespace`},
		{name: "argument before dash", args: []string{"sync"}, err: `unexpected argument "sync": sync's flags go after --`},
		{name: "bad driver", args: []string{"--helm-driver", "sql"}, err: `helm storage driver "sql" is not supported`},
		{name: "development build", version: "(devel)", args: []string{"--objectstore-secret=", "--", "--target", "mirror.example.com/team"},
			err: `--image: this build's version "(devel)" is not a release, so no image of it is published at ghcr.io/sdr-mirror/kubectl-sdr-mirror; pass --image`},
		{name: "no target", cluster: ptr(fakeSDR("")), err: "--image: no target registry is known to hold this tool's image (the SDR has no containerRegistryBase); pass --image, or --target after --"},
		{name: "no cluster", args: []string{"--image", "img:v1"},
			err: "reading the SDR for what the manifests need: no cluster in this test: set the factory's KubeClients; or give it: --objectstore-secret (--objectstore-secret= for none), and --image or --target after --"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.version
			if v == "" {
				v = "v1.2.3"
			}
			releaseVersion(t, v)
			f, out, errOut := factory.NewTest(nil)
			if tc.cluster != nil {
				f.KubeClients = testsdr.FakeCluster(t, *tc.cluster)
			}
			args := tc.args
			if tc.cluster == nil && !slices.Contains(args, "--image") && !strings.HasPrefix(tc.name, "development") {
				args = append(append([]string{}, noCluster...), args...)
			}
			o, err := parse(f, "atlan", args...)
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Fatalf("cronjob %q: error %v, want one starting %q", args, err, tc.err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("cronjob %q: error on several lines: %q", args, err)
			}
			if o != nil || out.Len() > 0 || errOut.Len() > 0 {
				t.Errorf("cronjob %q: ran or printed (%q, %q) though refused", args, out, errOut)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestNamespace: -n, else the current context's namespace, else a refusal;
// never client-go's "default".
func TestNamespace(t *testing.T) {
	kubeconfig := func(ns string) string {
		path := filepath.Join(t.TempDir(), "config")
		cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: c
contexts:
- name: c
  context: {cluster: k, user: u, namespace: %q}
- name: other
  context: {cluster: k, user: u, namespace: other-ns}
clusters:
- name: k
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: t}
`, ns)
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name, flagNS, contextNS string
		extra                   []string
		want, err               string
	}{
		{name: "flag", flagNS: "atlan", contextNS: "ctx-ns", want: "atlan"},
		{name: "current context", contextNS: "ctx-ns", want: "ctx-ns"},
		{name: "--context", contextNS: "ctx-ns", extra: []string{"--context", "other"}, want: "other-ns"},
		{name: "none", err: errNoNamespace.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := factory.NewTest(nil)
			*f.ConfigFlags.KubeConfig = kubeconfig(tc.contextNS)
			if len(tc.extra) > 0 {
				*f.ConfigFlags.Context = tc.extra[1]
			}
			o, err := parse(f, tc.flagNS, noCluster...)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("cronjob: error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := o.Spec().Namespace; got != tc.want {
				t.Errorf("namespace = %q, want %q", got, tc.want)
			}
			if got := o.Spec().Args[:2]; !slices.Equal(got, []string{"--namespace", tc.want}) {
				t.Errorf("sync args = %q, want --namespace %s first", got, tc.want)
			}
		})
	}
}

// TestRules: the Role may get only the Secrets the objectstore names, and
// none without them.
func TestRules(t *testing.T) {
	get := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{"a", "b"}}
	tests := []struct {
		name string
		spec Spec
		want []rbacv1.PolicyRule
	}{
		{"secret driver", Spec{HelmDriver: sdr.DriverSecret, ObjectstoreSecrets: []string{"a", "b"}}, []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}}, get}},
		{"configmap driver, nothing named", Spec{HelmDriver: sdr.DriverConfigMap}, []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list"}}}},
		{"configmap driver", Spec{HelmDriver: sdr.DriverConfigMap, ObjectstoreSecrets: []string{"a", "b"}}, []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list"}}, get}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.spec.Rules(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Rules() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// withCluster gives f a fake cluster whose server-side apply succeeds,
// or fails with err, and records each apply.
func withCluster(f *factory.Factory, err error) *[]string {
	var applied []string
	dyn := dynfake.NewSimpleDynamicClient(runtime.NewScheme())
	dyn.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchActionImpl)
		applied = append(applied, fmt.Sprintf("%s %s/%s %s manager=%s force=%v dryRun=%v", p.GetResource().Resource, p.GetNamespace(), p.GetName(),
			p.GetPatchType(), p.PatchOptions.FieldManager, *p.PatchOptions.Force, p.PatchOptions.DryRun))
		if err != nil {
			return true, nil, err
		}
		u := &unstructured.Unstructured{}
		return true, u, u.UnmarshalJSON(p.GetPatch())
	})
	kube := fake.NewClientset()
	f.KubeClients = func() (kubernetes.Interface, dynamic.Interface, error) { return kube, dyn, nil }
	return &applied
}

func TestRunApply(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "rbac.authorization.k8s.io", Resource: "roles"}, "sdr-mirror", errors.New("no"))
	tests := []struct {
		name string
		args []string
		err  error
	}{
		{name: "apply", args: []string{"--apply", "--image", "img:v1", "--objectstore-secret", "s3-keys"}},
		{name: "apply-dry-run", args: []string{"--apply", "--dry-run", "--image", "img:v1", "--objectstore-secret", "s3-keys"}},
		{name: "apply-forbidden", args: []string{"--apply", "--image", "img:v1", "--objectstore-secret", "s3-keys"}, err: forbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, out, errOut := factory.NewTest(nil)
			applied := withCluster(f, tc.err)
			o, err := parse(f, "atlan", tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			err = o.Run(t.Context())
			if err != nil && tc.err == nil {
				t.Fatal(err)
			}
			got := out.String()
			if err != nil {
				got += "error: " + err.Error() + "\n"
			}
			got += "\n" + strings.Join(*applied, "\n") + "\n"
			goldenFile(t, tc.name, got)
			if errOut.Len() > 0 {
				t.Errorf("cronjob %q: stderr %q, want none", tc.args, errOut)
			}
		})
	}
}

func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if updating() {
		if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output =\n%s\nwant (%s)\n%s", got, path, want)
	}
}

// updating reports the -update flag, which cronjob_test.go defines for the
// golden files of both test packages.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}
