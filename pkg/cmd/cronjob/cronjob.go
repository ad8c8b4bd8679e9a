package cronjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/version"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// Defaults of the flags.
const (
	DefaultName      = "sdr-mirror"
	DefaultSchedule  = "17 * * * *"
	DefaultImageRepo = "ghcr.io/sdr-mirror/kubectl-sdr-mirror"
	defaultTokenKey  = "ATLAN_API_TOKEN" //nolint:gosec // the name of a Secret key, not a credential
	defaultCAKey     = "ca.crt"
	fieldManager     = "kubectl-sdr-mirror"
)

// Options are the cronjob command's inputs.
type Options struct {
	f *factory.Factory

	Name             string
	Schedule         string
	Image            string
	RegistrySecret   string
	CAConfigMap      string
	CAKey            string
	TokenSecret      string
	TokenKey         string
	AtlanURL         string
	Release          string
	StorageNamespace string
	HelmDriver       string
	Flux             bool
	Apply            bool
	DryRun           bool
	SyncArgs         []string

	spec Spec
}

// NewCmdCronJob returns the cronjob command. runF, when not nil, is called
// with the completed and validated options instead of Run, so tests can see
// what the flags became.
func NewCmdCronJob(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{f: f}
	cmd := &cobra.Command{
		Use:   "cronjob [-- SYNC-FLAGS...]",
		Short: "Print or apply a CronJob that runs sync in the SDR's namespace, with the least RBAC it needs",
		Long: `Print (or --apply with server-side apply) the manifests that run sync unattended in
the SDR's namespace: a ServiceAccount; a Role and RoleBinding granting only what sync
reads (list the Helm release records, get the Secrets the objectstore component
names, list Flux HelmReleases with --flux); and a CronJob (concurrencyPolicy Forbid,
non-root, read-only root filesystem) running sync from the project's image.

Registry credentials come from a kubernetes.io/dockerconfigjson Secret
(--registry-secret), the Atlan API token from a Secret key (--atlan-token-secret),
and the CA certificates of a private registry or bucket from a ConfigMap key
(--ca-bundle-configmap; a trust-manager Bundle's ConfigMap works as it is).
Flags after -- are passed to sync.`,
		Example: strings.ReplaceAll(`  # Review the manifests for the SDR in namespace atlan
  NAME cronjob -n atlan --registry-secret registry-creds \
      --atlan-token-secret atlan-api --atlan-url https://acme.atlan.com

  # Apply them, syncing every six hours and pruning stale map entries
  NAME cronjob -n atlan --schedule '0 */6 * * *' --apply -- --prune

  # Registries and bucket signed by the company CA, from the ConfigMap company-ca (key ca.crt)
  NAME cronjob -n atlan --registry-secret registry-creds --ca-bundle-configmap company-ca

  # Let the API server validate them without creating anything
  NAME cronjob -n atlan --apply --dry-run`, "NAME", f.Name),
		RunE: func(cmd *cobra.Command, args []string) error {
			if n := cmd.ArgsLenAtDash(); n != 0 && len(args) > 0 {
				return fmt.Errorf("unexpected argument %q: sync's flags go after --", args[0])
			}
			o.SyncArgs = args
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return o.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Name, "name", DefaultName, "name of the ServiceAccount, Role, RoleBinding and CronJob")
	fs.StringVar(&o.Schedule, "schedule", DefaultSchedule, "cron schedule of the sync (default: hourly, at 17 minutes past)")
	fs.StringVar(&o.Image, "image", "", "container image running sync (default "+DefaultImageRepo+":<this version>)")
	fs.StringVar(&o.RegistrySecret, "registry-secret", "", "kubernetes.io/dockerconfigjson Secret in the namespace with the registries' credentials")
	fs.StringVar(&o.CAConfigMap, "ca-bundle-configmap", "", "ConfigMap in the namespace with PEM CA certificates trusted for the registries and the bucket, passed to sync as --registry-ca-file and --bucket-ca-file")
	fs.StringVar(&o.CAKey, "ca-bundle-key", defaultCAKey, "key of the certificates in --ca-bundle-configmap")
	fs.StringVar(&o.TokenSecret, "atlan-token-secret", "", "Secret in the namespace holding the Atlan API token, given to sync as ATLAN_API_TOKEN")
	fs.StringVar(&o.TokenKey, "atlan-token-key", defaultTokenKey, "key of the token in --atlan-token-secret")
	fs.StringVar(&o.AtlanURL, "atlan-url", "", "your Atlan tenant, https://<tenant>.atlan.com, passed to sync")
	fs.StringVar(&o.Release, "release", "", "the SDR's Helm release name, passed to sync")
	fs.StringVar(&o.StorageNamespace, "storage-namespace", "", "namespace holding the SDR's Helm release records, when not its own; the Role there only lists them")
	fs.StringVar(&o.HelmDriver, "helm-driver", "", "Helm storage driver: secret or configmap (default: HELM_DRIVER, else secret)")
	fs.BoolVar(&o.Flux, "flux", false, "the SDR is installed by a Flux HelmRelease: allow listing HelmReleases")
	fs.BoolVar(&o.Apply, "apply", false, "apply the manifests with server-side apply instead of printing them")
	fs.BoolVar(&o.DryRun, "dry-run", false, "with --apply: the API server validates the manifests and persists nothing")
	mustComplete(cmd.RegisterFlagCompletionFunc("helm-driver", cobra.FixedCompletions([]string{sdr.DriverSecret, sdr.DriverConfigMap}, cobra.ShellCompDirectiveNoFileComp)))
	return cmd
}

func mustComplete(err error) {
	if err != nil {
		panic(err)
	}
}

// Complete fills the defaults: the namespace from the kubeconfig, the image
// of this version, the Helm driver from HELM_DRIVER.
func (o *Options) Complete() error {
	ns, err := o.f.Namespace()
	if err != nil {
		return err
	}
	if o.Image == "" {
		o.Image = DefaultImageRepo + ":" + version.Get().Version
	}
	if o.HelmDriver == "" {
		o.HelmDriver, _ = o.f.LookupEnv("HELM_DRIVER")
	}
	driver, err := sdr.NormalizeDriver(o.HelmDriver)
	if err != nil {
		return err
	}
	args := []string{"--namespace", ns}
	if o.Release != "" {
		args = append(args, "--release", o.Release)
	}
	if o.StorageNamespace != "" {
		args = append(args, "--storage-namespace", o.StorageNamespace)
	}
	if driver != sdr.DriverSecret {
		args = append(args, "--helm-driver", driver)
	}
	if o.AtlanURL != "" {
		args = append(args, "--atlan-url", o.AtlanURL)
	}
	o.spec = Spec{
		Name: o.Name, Namespace: ns, StorageNamespace: o.StorageNamespace, HelmDriver: driver, Flux: o.Flux,
		Schedule: o.Schedule, Image: o.Image, RegistrySecret: o.RegistrySecret, CAConfigMap: o.CAConfigMap, CAKey: o.CAKey,
		TokenSecret: o.TokenSecret, TokenKey: o.TokenKey, Args: append(args, o.SyncArgs...),
	}
	return nil
}

// Validate checks the flags.
func (o *Options) Validate() error {
	if errs := validation.IsDNS1123Subdomain(o.Name); len(errs) > 0 {
		return fmt.Errorf("--name %q: %s", o.Name, strings.Join(errs, "; "))
	}
	if !validSchedule(o.Schedule) {
		return fmt.Errorf("--schedule %q: want five cron fields (minute hour day-of-month month day-of-week), such as %q, or a macro such as @hourly", o.Schedule, DefaultSchedule)
	}
	if o.DryRun && !o.Apply {
		return errors.New("--dry-run asks the API server to validate what --apply sends: pass --apply too")
	}
	if o.CAConfigMap != "" && o.CAKey == "" {
		return errors.New("--ca-bundle-key must not be empty with --ca-bundle-configmap")
	}
	if o.TokenSecret != "" && o.TokenKey == "" {
		return errors.New("--atlan-token-key must not be empty with --atlan-token-secret")
	}
	// Names and keys the API server would refuse, refused before anything
	// is printed or applied.
	for _, n := range []struct{ flag, value string }{
		{"--registry-secret", o.RegistrySecret}, {"--atlan-token-secret", o.TokenSecret}, {"--ca-bundle-configmap", o.CAConfigMap},
	} {
		if errs := validation.IsDNS1123Subdomain(n.value); n.value != "" && len(errs) > 0 {
			return fmt.Errorf("%s %q: not a valid object name: %s", n.flag, n.value, strings.Join(errs, "; "))
		}
	}
	for _, k := range []struct{ flag, value, of string }{
		{"--ca-bundle-key", o.CAKey, o.CAConfigMap}, {"--atlan-token-key", o.TokenKey, o.TokenSecret},
	} {
		if errs := validation.IsConfigMapKey(k.value); k.of != "" && len(errs) > 0 {
			return fmt.Errorf("%s %q: not a valid key: %s", k.flag, k.value, strings.Join(errs, "; "))
		}
	}
	for _, a := range o.SyncArgs {
		for _, flag := range []string{"--registry-ca-file", "--bucket-ca-file", "--registry-auth-file"} {
			if a == flag || strings.HasPrefix(a, flag+"=") {
				return fmt.Errorf("sync flag %q after --: the CronJob's container has no such file; use --ca-bundle-configmap or --registry-secret", a)
			}
		}
	}
	for _, a := range o.SyncArgs {
		if a == "-n" || a == "--namespace" || strings.HasPrefix(a, "--namespace=") || a == "-A" || a == "--all-namespaces" {
			return fmt.Errorf("sync flag %q after --: the CronJob syncs the SDR of its own namespace; pass -n to cronjob instead", a)
		}
	}
	return nil
}

// Spec returns the manifests' inputs, once Complete has run.
func (o *Options) Spec() Spec { return o.spec }

// Run prints or applies the manifests.
func (o *Options) Run(ctx context.Context) error {
	objs := o.spec.Objects()
	if o.Apply {
		return o.apply(ctx, objs)
	}
	return Print(o.f.IO.Out, o.f.Global.Output, objs)
}

// Print writes the objects as a JSON List (-o json) or as YAML documents.
func Print(w io.Writer, format string, objs []runtime.Object) error {
	items := make([]*unstructured.Unstructured, len(objs))
	for i, obj := range objs {
		u, err := toUnstructured(obj)
		if err != nil {
			return err
		}
		items[i] = u
	}
	if format == ui.FormatJSON {
		list := map[string]any{"apiVersion": "v1", "kind": "List", "items": items}
		b, err := json.MarshalIndent(list, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	for i, u := range items {
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return err
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// toUnstructured converts obj without the empty fields a typed object
// always carries (creation timestamps, status), which apply would own.
func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "jobTemplate", "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "jobTemplate", "spec", "template", "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	return u, nil
}

func (o *Options) apply(ctx context.Context, objs []runtime.Object) error {
	_, dyn, err := o.f.KubeClients()
	if err != nil {
		return err
	}
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	suffix := "applied"
	if o.DryRun {
		opts.DryRun = []string{metav1.DryRunAll}
		suffix = "applied (server dry run)"
	}
	for _, obj := range objs {
		u, err := toUnstructured(obj)
		if err != nil {
			return err
		}
		gvk := u.GroupVersionKind()
		gvr := resourceOf(gvk)
		kind := strings.ToLower(gvk.Kind)
		if _, err := dyn.Resource(gvr).Namespace(u.GetNamespace()).Apply(ctx, u.GetName(), u, opts); err != nil {
			if apierrors.IsForbidden(err) {
				return fmt.Errorf("applying %s %q in namespace %q: the credentials lack permission %q on %q there; apply as a namespace admin or print the manifests and hand them over",
					kind, u.GetName(), u.GetNamespace(), "patch", gvr.GroupResource().String())
			}
			return fmt.Errorf("applying %s %q in namespace %q: %w", kind, u.GetName(), u.GetNamespace(), err)
		}
		fmt.Fprintf(o.f.IO.Out, "%s/%s %s in namespace %q\n", kind, u.GetName(), suffix, u.GetNamespace())
	}
	return nil
}

// resourceOf maps the kinds this command writes to their resources.
func resourceOf(gvk schema.GroupVersionKind) schema.GroupVersionResource {
	plural := map[string]string{"ServiceAccount": "serviceaccounts", "Role": "roles", "RoleBinding": "rolebindings", "CronJob": "cronjobs"}
	return gvk.GroupVersion().WithResource(plural[gvk.Kind])
}

// validSchedule is a first check of a cron schedule; the API server parses
// it fully.
func validSchedule(s string) bool {
	if strings.HasPrefix(s, "@") {
		return slices.Contains([]string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}, s)
	}
	return len(strings.Fields(s)) == 5
}
