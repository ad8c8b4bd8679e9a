package cronjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	synccmd "github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/sync"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/version"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// Defaults of the flags.
const (
	DefaultName     = "sdr-mirror"
	DefaultSchedule = "17 * * * *"
	// DefaultTimeZone makes the schedule mean the same in every cluster,
	// whatever the controller manager's local time.
	DefaultTimeZone = "Etc/UTC"
	// DefaultActiveDeadline stops a run that hangs: with concurrencyPolicy
	// Forbid no later run starts while one is still going.
	DefaultActiveDeadline = time.Hour
	defaultTokenKey       = "ATLAN_API_TOKEN" //nolint:gosec // the name of a Secret key, not a credential
	defaultCAKey          = "ca.crt"
	fieldManager          = "kubectl-sdr-mirror"
)

// Options are the cronjob command's inputs.
type Options struct {
	f *factory.Factory

	Name             string
	Schedule         string
	TimeZone         string
	ActiveDeadline   time.Duration
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
	// ObjectstoreSecrets are the Secrets the Role may get; nil until given
	// or read from the SDR.
	ObjectstoreSecrets []string
	secretsGiven       bool

	// sync is the CronJob's sync command line, parsed by sync itself.
	sync *synccmd.SyncOptions
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
reads (list the Helm release records, get only the Secrets the SDR's objectstore
component names, list Flux HelmReleases with --flux); and a CronJob (concurrencyPolicy
Forbid, a time limit per run, non-root, read-only root filesystem) running sync. With
Helm's default secret driver the records are Secrets, and RBAC cannot narrow a list to
them: the Role lists Secrets there; the configmap driver avoids it.

The namespace is the SDR's: -n, or the namespace of the kubeconfig's current context;
without either the command stops rather than use "default". Everything sync would
check is checked first: the flags after -- are parsed by sync itself, the schedule
and the time zone as the cluster parses them, and --atlan-url must be https.

The CronJob runs this tool's own image, as copied into your registry:
<target>/kubectl-sdr-mirror:<this version> (--image to choose another). Mirror it
before the first run, verified against the project's release signature:
  NAME sync --from self --allowed-source ` + inventory.SelfSource + ` --target <target> \
      --certificate-identity-regexp '` + inventory.SelfIdentityRegexp + `' \
      --certificate-oidc-issuer ` + inventory.SelfIssuer + `

Registry credentials come from a kubernetes.io/dockerconfigjson Secret
(--registry-secret, also the pod's image pull secret), the Atlan API token from a
Secret key (--atlan-token-secret), and the CA certificates of a private registry or
bucket from a ConfigMap key (--ca-bundle-configmap; a trust-manager Bundle's
ConfigMap works as it is). Flags after -- are passed to sync.`,
		Example: `  # Review the manifests for the SDR in namespace atlan
  NAME cronjob -n atlan --registry-secret registry-creds \
      --atlan-token-secret atlan-api --atlan-url https://acme.atlan.com

  # Apply them, syncing every six hours, Berlin time, and pruning stale map entries
  NAME cronjob -n atlan --schedule '0 */6 * * *' --time-zone Europe/Berlin --apply -- --prune

  # Registries and bucket signed by the company CA, from the ConfigMap company-ca (key ca.crt)
  NAME cronjob -n atlan --registry-secret registry-creds --ca-bundle-configmap company-ca

  # Print without reading the cluster: name the target and the objectstore's Secrets
  NAME cronjob -n atlan --objectstore-secret sdr-objectstore -- --target registry.example.com/atlan

  # Let the API server validate them without creating anything
  NAME cronjob -n atlan --apply --dry-run`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if n := cmd.ArgsLenAtDash(); n != 0 && len(args) > 0 {
				return fmt.Errorf("unexpected argument %q: sync's flags go after --", args[0])
			}
			o.SyncArgs = args
			o.secretsGiven = cmd.Flags().Changed("objectstore-secret")
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(cmd.Context()); err != nil {
				return err
			}
			if err := o.Resolve(cmd.Context()); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Long = strings.ReplaceAll(cmd.Long, "NAME", f.Name)
	cmd.Example = strings.ReplaceAll(cmd.Example, "NAME", f.Name)
	fs := cmd.Flags()
	fs.StringVar(&o.Name, "name", DefaultName, "name of the ServiceAccount, Role, RoleBinding and CronJob")
	fs.StringVar(&o.Schedule, "schedule", DefaultSchedule, "cron schedule of the sync: five fields or a macro such as @hourly")
	fs.StringVar(&o.TimeZone, "time-zone", DefaultTimeZone, "IANA time zone the schedule is read in")
	fs.DurationVar(&o.ActiveDeadline, "active-deadline", DefaultActiveDeadline, "time limit of one run, after which Kubernetes stops it: a hung run would otherwise block every later run (concurrencyPolicy Forbid)")
	fs.StringVar(&o.Image, "image", "", "container image running sync (default: this tool's image in the target registry, <target>/kubectl-sdr-mirror:<this version>)")
	fs.StringVar(&o.RegistrySecret, "registry-secret", "", "kubernetes.io/dockerconfigjson Secret in the namespace with the registries' credentials, also used to pull the image")
	fs.StringVar(&o.CAConfigMap, "ca-bundle-configmap", "", "ConfigMap in the namespace with PEM CA certificates trusted for the registries and the bucket, passed to sync as --registry-ca-file and --bucket-ca-file")
	fs.StringVar(&o.CAKey, "ca-bundle-key", defaultCAKey, "key of the certificates in --ca-bundle-configmap")
	fs.StringVar(&o.TokenSecret, "atlan-token-secret", "", "Secret in the namespace holding the Atlan API token, given to sync as ATLAN_API_TOKEN")
	fs.StringVar(&o.TokenKey, "atlan-token-key", defaultTokenKey, "key of the token in --atlan-token-secret")
	fs.StringVar(&o.AtlanURL, "atlan-url", "", "your Atlan tenant, https://<tenant>.atlan.com, passed to sync")
	fs.StringSliceVar(&o.ObjectstoreSecrets, "objectstore-secret", nil, "Secret the SDR's objectstore component reads its credentials from; the Role may get only these (default: those its secretKeyRefs name, read from the SDR in the cluster; --objectstore-secret= for none)")
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

// buildVersion is this binary's version; tests replace it.
var buildVersion = func() string { return version.Get().Version }

// errNoNamespace is returned when neither -n nor the kubeconfig's current
// context names the SDR's namespace.
var errNoNamespace = errors.New("cronjob needs the SDR's namespace: pass -n NAMESPACE (the kubeconfig's current context names none, and the manifests are never put in \"default\" by chance)")

// namespace is -n (or Helm's namespace), else the namespace of the
// kubeconfig's current context; never the "default" client-go falls back
// to.
func (o *Options) namespace() (string, error) {
	if ns := *o.f.ConfigFlags.Namespace; ns != "" {
		return ns, nil
	}
	raw, err := o.f.ConfigFlags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return "", fmt.Errorf("reading the kubeconfig for its current namespace: %w; pass -n NAMESPACE", err)
	}
	name := raw.CurrentContext
	if c := o.f.ConfigFlags.Context; c != nil && *c != "" {
		name = *c
	}
	if ctx, ok := raw.Contexts[name]; ok && ctx.Namespace != "" {
		return ctx.Namespace, nil
	}
	return "", errNoNamespace
}

// Complete fills the defaults: the namespace, the Helm driver from
// HELM_DRIVER, and sync's command line.
func (o *Options) Complete() error {
	ns, err := o.namespace()
	if err != nil {
		return err
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
		Schedule: o.Schedule, TimeZone: o.TimeZone, ActiveDeadlineSeconds: int64(o.ActiveDeadline / time.Second),
		Image: o.Image, RegistrySecret: o.RegistrySecret, CAConfigMap: o.CAConfigMap, CAKey: o.CAKey,
		TokenSecret: o.TokenSecret, TokenKey: o.TokenKey, Args: append(args, o.SyncArgs...),
	}
	return nil
}

// Validate checks the flags, and the CronJob's sync command line with
// sync's own flag set and checks.
func (o *Options) Validate(ctx context.Context) error {
	if errs := validation.IsDNS1123Subdomain(o.Name); len(errs) > 0 {
		return fmt.Errorf("--name %q: %s", o.Name, strings.Join(errs, "; "))
	}
	if err := checkSchedule(o.Schedule); err != nil {
		return err
	}
	if err := checkTimeZone(o.TimeZone); err != nil {
		return err
	}
	if err := checkDeadline(o.ActiveDeadline); err != nil {
		return err
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
	names := []struct{ flag, value string }{
		{"--registry-secret", o.RegistrySecret}, {"--atlan-token-secret", o.TokenSecret}, {"--ca-bundle-configmap", o.CAConfigMap},
	}
	for _, s := range o.ObjectstoreSecrets {
		names = append(names, struct{ flag, value string }{"--objectstore-secret", s})
	}
	for _, n := range names {
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
	if err := checkSyncArgs(o.SyncArgs); err != nil {
		return err
	}
	if err := checkAtlanURL(o.AtlanURL); err != nil {
		return err
	}
	// The container's environment has no ATLAN_URL: only the flags count.
	noEnv := func(string) (string, bool) { return "", false }
	so, err := parseSync(ctx, noEnv, o.spec.Args)
	if err != nil {
		return err
	}
	if err := checkAtlanURL(so.AtlanURL); err != nil {
		return err
	}
	o.sync = so
	return nil
}

// Resolve names what the flags leave to the SDR: the Secrets its
// objectstore component reads, and the target registry that holds this
// tool's image. It reads the SDR from the cluster only when one of them is
// not given.
func (o *Options) Resolve(ctx context.Context) error {
	s := &o.spec
	target := o.sync.SDR.Target
	needTarget := o.Image == "" && target == ""
	if o.secretsGiven {
		s.ObjectstoreSecrets = nonEmpty(o.ObjectstoreSecrets)
	}
	if !o.secretsGiven || needTarget {
		inst, _, err := o.sync.SDR.Find(ctx, o.f, &o.sync.Map)
		if err != nil {
			return fmt.Errorf("reading the SDR for what the manifests need: %w; or give it: --objectstore-secret (--objectstore-secret= for none), and --image or --target after --", err)
		}
		if !o.secretsGiven {
			s.ObjectstoreSecrets = componentSecrets(inst.Settings.ObjectStore)
		}
		if target == "" {
			target = inst.Settings.Target
		}
	}
	if o.Image != "" {
		return nil
	}
	if target == "" {
		return errors.New("--image: no target registry is known to hold this tool's image (the SDR has no containerRegistryBase); pass --image, or --target after --")
	}
	src, err := inventory.SelfImage(buildVersion())
	if err != nil {
		return fmt.Errorf("--image: %w; pass --image", err)
	}
	ref, err := imagemap.ParseReference(src)
	if err != nil {
		return fmt.Errorf("--image: %w", err)
	}
	name := ref.LastElement()
	if o.sync.KeepPath {
		name = strings.SplitN(ref.Repository, "/", 2)[1]
	}
	s.Image = strings.TrimSuffix(target, "/") + "/" + name + ":" + ref.Tag
	return nil
}

// componentSecrets are the Secrets c's secretKeyRefs name, sorted.
func componentSecrets(c *sdr.Component) []string {
	if c == nil {
		return nil
	}
	var names []string
	for _, it := range c.Metadata {
		if it.SecretKeyRef != nil && !slices.Contains(names, it.SecretKeyRef.Name) {
			names = append(names, it.SecretKeyRef.Name)
		}
	}
	slices.Sort(names)
	return names
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
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
