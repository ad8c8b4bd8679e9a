package cronjob

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
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

func TestNewCmdCronJob(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want Spec
		err  string
	}{
		{name: "defaults", want: Spec{Name: DefaultName, Namespace: "atlan", HelmDriver: "secret", Schedule: DefaultSchedule,
			Image: DefaultImageRepo + ":(devel)", CAKey: defaultCAKey, TokenKey: defaultTokenKey, Args: []string{"--namespace", "atlan"}}},
		{name: "every flag", args: []string{"--name", "mirror", "--schedule", "@daily", "--image", "img:v1", "--registry-secret", "creds",
			"--ca-bundle-configmap", "company-ca", "--ca-bundle-key", "root.pem", "--atlan-token-secret", "api", "--atlan-token-key", "TOKEN",
			"--atlan-url", "https://acme.atlan.com", "--release", "atlan-sdr-eu", "--storage-namespace", "flux-system", "--flux", "--", "--prune"},
			env: map[string]string{"HELM_DRIVER": "configmap"},
			want: Spec{Name: "mirror", Namespace: "atlan", StorageNamespace: "flux-system", HelmDriver: "configmap", Flux: true, Schedule: "@daily",
				Image: "img:v1", RegistrySecret: "creds", CAConfigMap: "company-ca", CAKey: "root.pem", TokenSecret: "api", TokenKey: "TOKEN",
				Args: []string{"--namespace", "atlan", "--release", "atlan-sdr-eu", "--storage-namespace", "flux-system",
					"--helm-driver", "configmap", "--atlan-url", "https://acme.atlan.com", "--prune"}}},
		{name: "bad schedule", args: []string{"--schedule", "hourly"}, err: `--schedule "hourly": want five cron fields`},
		{name: "bad name", args: []string{"--name", "Sdr_Mirror"}, err: `--name "Sdr_Mirror": a lowercase RFC 1123 subdomain`},
		{name: "dry run alone", args: []string{"--dry-run"}, err: "--dry-run asks the API server to validate what --apply sends: pass --apply too"},
		{name: "empty token key", args: []string{"--atlan-token-secret", "api", "--atlan-token-key", ""},
			err: "--atlan-token-key must not be empty with --atlan-token-secret"},
		{name: "bad token key", args: []string{"--atlan-token-secret", "api", "--atlan-token-key", "a/b"}, err: `--atlan-token-key "a/b": not a valid key`},
		{name: "bad token secret", args: []string{"--atlan-token-secret", "API"}, err: `--atlan-token-secret "API": not a valid object name`},
		{name: "auth file after dash", args: []string{"--", "--registry-auth-file", "auth.json"},
			err: `sync flag "--registry-auth-file" after --: the CronJob's container has no such file; use --ca-bundle-configmap or --registry-secret`},
		{name: "namespace after dash", args: []string{"--", "--namespace=x"}, err: `sync flag "--namespace=x" after --: the CronJob syncs the SDR of its own namespace`},
		{name: "argument before dash", args: []string{"sync"}, err: `unexpected argument "sync": sync's flags go after --`},
		{name: "bad driver", args: []string{"--helm-driver", "sql"}, err: `helm storage driver "sql" is not supported`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := factory.NewTest(tc.env)
			o, err := parse(f, "atlan", tc.args...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("cronjob %q: error %v, want %q", tc.args, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("cronjob %q: %v", tc.args, err)
			}
			want := tc.want
			if tc.name == "defaults" {
				want.Image = o.Image // this test binary's version
			}
			if got := o.Spec(); !reflect.DeepEqual(got, want) {
				t.Errorf("cronjob %q: spec\n%+v\nwant\n%+v", tc.args, got, want)
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
		{name: "apply", args: []string{"--apply", "--image", "img:v1"}},
		{name: "apply-dry-run", args: []string{"--apply", "--dry-run", "--image", "img:v1"}},
		{name: "apply-forbidden", args: []string{"--apply", "--image", "img:v1"}, err: forbidden},
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
