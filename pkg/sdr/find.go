package sdr

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"helm.sh/helm/v3/pkg/chartutil"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// DefaultChartPattern matches the SDR orchestrator's chart name: "sdr" as
// a whole dash- or underscore-separated word, as in "atlan-sdr" or
// "sdr-orchestrator", and not in connector app charts such as
// "atlan-teradata-app".
const DefaultChartPattern = `(^|[-_])sdr([-_]|$)`

// DefaultReleasePrefix is the SDR's release name before its deployment
// name: atlan-sdr-<deployment_name>.
const DefaultReleasePrefix = "atlan-sdr-"

// ErrAmbiguous is wrapped when more than one release could be the SDR.
var ErrAmbiguous = errors.New("more than one SDR release")

type options struct {
	namespace        string
	allNamespaces    bool
	storageNamespace string
	release          string
	driver           string
	chartPattern     *regexp.Regexp
	dynamic          dynamic.Interface
	overrides        Overrides
}

// Option configures Find.
type Option func(*options) error

// WithNamespace is the SDR's namespace (default "default").
func WithNamespace(ns string) Option {
	return func(o *options) error { o.namespace = ns; return nil }
}

// WithAllNamespaces looks for the SDR in every namespace (default: only
// the one namespace).
func WithAllNamespaces(all bool) Option {
	return func(o *options) error { o.allNamespaces = all; return nil }
}

// WithStorageNamespace is where the Helm release records are kept (default:
// the HelmRelease's storage namespace, else the SDR's namespace).
func WithStorageNamespace(ns string) Option {
	return func(o *options) error { o.storageNamespace = ns; return nil }
}

// WithRelease names the SDR's Helm release (default: found as the package
// doc says).
func WithRelease(name string) Option {
	return func(o *options) error { o.release = name; return nil }
}

// WithDriver is Helm's storage driver, as in HELM_DRIVER (default secret).
func WithDriver(d string) Option {
	return func(o *options) error {
		n, err := NormalizeDriver(d)
		o.driver = n
		return err
	}
}

// WithChartPattern is the regular expression an SDR chart name matches
// (default DefaultChartPattern).
func WithChartPattern(pattern string) Option {
	return func(o *options) error {
		if pattern == "" {
			return nil
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return &ChartPatternError{Pattern: pattern, Err: err}
		}
		o.chartPattern = re
		return nil
	}
}

// ChartPatternError is an SDR chart pattern that is not a regular
// expression.
type ChartPatternError struct {
	Pattern string
	Err     error
}

func (e *ChartPatternError) Error() string {
	return fmt.Sprintf("SDR chart pattern %q: %v", e.Pattern, e.Err)
}

func (e *ChartPatternError) Unwrap() error { return e.Err }

// WithDynamicClient lets Find look for a Flux HelmRelease (default: none
// is looked for).
func WithDynamicClient(dyn dynamic.Interface) Option {
	return func(o *options) error { o.dynamic = dyn; return nil }
}

// WithOverrides replaces discovered settings by flag values (default none).
func WithOverrides(ov Overrides) Option {
	return func(o *options) error { o.overrides = ov; return nil }
}

// Installation is an SDR found in a cluster.
type Installation struct {
	Record *Record
	// Namespace is the SDR's namespace: its workloads, its secrets, its
	// connector apps.
	Namespace string
	// Flux is the HelmRelease managing the SDR, or nil.
	Flux *FluxRelease
	// Values are the release's values merged over its chart's defaults,
	// as `helm get values --all` prints them.
	Values   map[string]any
	Settings *Settings
	// Secrets reads secretKeyRef values from the SDR's namespace.
	Secrets SecretGetter
	// Driver is the Helm storage driver the record was read with.
	Driver string
	// Notes say what was skipped while looking, for debug logs.
	Notes []string
}

// Find locates the SDR's Helm release and reads its settings: --release;
// else the HelmRelease whose chart is the SDR's; else atlan-sdr-<deployment>
// when a deployment name is given; else the one release in the namespace
// (or all namespaces) whose chart name matches the SDR chart pattern.
func Find(ctx context.Context, kube kubernetes.Interface, opts ...Option) (*Installation, error) {
	o := options{namespace: "default", driver: DriverSecret, chartPattern: regexp.MustCompile(DefaultChartPattern)}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	inst := &Installation{Driver: o.driver}

	name, storage := o.release, o.storageNamespace
	var fluxes []FluxRelease
	if o.dynamic != nil {
		var note string
		var err error
		if fluxes, note, err = listFluxReleases(ctx, o.dynamic, o.namespace); err != nil {
			return nil, err
		}
		if note != "" {
			inst.Notes = append(inst.Notes, note)
		}
	}
	if !o.allNamespaces {
		flux, err := o.pickFlux(fluxes)
		if err != nil {
			return nil, err
		}
		if flux != nil {
			inst.Flux = flux
			if name == "" {
				name = flux.ReleaseName
			}
			if storage == "" {
				storage = flux.StorageNamespace
			}
		}
	}
	how := setting.Release.String()
	if name == "" && o.overrides.DeploymentName != "" {
		name, how = DefaultReleasePrefix+o.overrides.DeploymentName, setting.DeploymentName.String()
	} else if inst.Flux != nil && o.release == "" {
		how = fmt.Sprintf("HelmRelease %q", inst.Flux.Namespace+"/"+inst.Flux.Name)
	}
	searchNS := storage
	if searchNS == "" && !o.allNamespaces {
		searchNS = o.namespace
	}
	records, err := listRecords(ctx, kube, o.driver, searchNS, nil)
	if err != nil {
		return nil, err
	}
	where := describeNS(searchNS) + " (Helm driver " + o.driver + ")"
	if name != "" {
		var named []*Record
		for _, r := range records {
			if r.Name == name {
				named = append(named, r)
			}
		}
		if len(named) > 1 {
			return nil, fmt.Errorf("finding the SDR: %w: Helm release %q (from %s) %s%s; pass %s or %s to choose",
				ErrAmbiguous, name, how, where, listing(named), setting.Namespace, setting.StorageNamespace)
		}
		if len(named) == 1 {
			inst.Record = named[0]
		}
		if inst.Record == nil {
			return nil, fmt.Errorf("finding the SDR: Helm release %q (from %s) %w %s; check %s, %s, %s and HELM_DRIVER",
				name, how, ErrNotFound, where, setting.Release, setting.Namespace, setting.StorageNamespace)
		}
	} else {
		var matches []*Record
		for _, r := range records {
			if o.chartPattern.MatchString(r.ChartName()) {
				matches = append(matches, r)
			}
		}
		switch len(matches) {
		case 1:
			inst.Record = matches[0]
		case 0:
			return nil, sentinel{fmt.Errorf("finding the SDR: no Helm release whose chart matches %q %s%s; pass %s (or %s, %s, %s, %s)",
				o.chartPattern, where, listing(records), setting.Release, setting.SDRChart, setting.Namespace, setting.AllNamespaces, setting.StorageNamespace), ErrNotFound}
		default:
			return nil, fmt.Errorf("finding the SDR: %w %s%s; pass %s to choose", ErrAmbiguous, where, listing(matches), setting.Release)
		}
	}

	r := inst.Record
	inst.Namespace = r.Namespace
	for i, f := range fluxes {
		if inst.Flux == nil && f.ReleaseName == r.Name && f.StorageNamespace == r.StorageNamespace {
			inst.Flux = &fluxes[i]
		}
	}
	vals, err := chartutil.CoalesceValues(r.Chart, r.Config)
	if err != nil {
		return nil, fmt.Errorf("merging the values of Helm release %q: %w", r.Ref(), err)
	}
	inst.Values = vals
	s := newSettings()
	s.apply(o.overrides)
	desc := fmt.Sprintf("values of Helm release %q", r.Ref())
	s.fromValues(vals, desc)
	s.fromManifest(r.Manifest, fmt.Sprintf("manifest of Helm release %q:", r.Ref()))
	if strings.HasPrefix(r.Name, DefaultReleasePrefix) {
		s.set(SettingDeploymentName, &s.DeploymentName, strings.TrimPrefix(r.Name, DefaultReleasePrefix), fmt.Sprintf("release name %q", r.Name))
	}
	s.looked(SettingDeploymentName, fmt.Sprintf("release name %q (%s<name>)", r.Name, DefaultReleasePrefix))
	inst.Settings = s
	inst.Secrets = KubeSecrets{Client: kube, Namespace: inst.Namespace}
	return inst, nil
}

// pickFlux returns the HelmRelease that installs the SDR into the
// namespace, if any.
func (o *options) pickFlux(all []FluxRelease) (*FluxRelease, error) {
	var matches []FluxRelease
	for _, f := range all {
		if f.TargetNamespace != o.namespace {
			continue
		}
		if o.storageNamespace != "" && f.StorageNamespace != o.storageNamespace {
			continue
		}
		if o.release != "" {
			if f.ReleaseName == o.release {
				matches = append(matches, f)
			}
			continue
		}
		if o.chartPattern.MatchString(f.Chart) {
			matches = append(matches, f)
		}
	}
	switch len(matches) {
	case 0:
		return nil, nil
	case 1:
		return &matches[0], nil
	}
	names := make([]string, len(matches))
	for i, f := range matches {
		names[i] = fmt.Sprintf("%s/%s (release %s)", f.Namespace, f.Name, f.ReleaseName)
	}
	return nil, fmt.Errorf("finding the SDR: %w: Flux HelmReleases %s; pass %s to choose", ErrAmbiguous, strings.Join(names, ", "), setting.Release)
}

// sentinel is an error that also matches is, without saying so in its text.
type sentinel struct {
	error
	is error
}

func (s sentinel) Is(target error) bool { return target == s.is }

func (s sentinel) Unwrap() error { return s.error }

func describeNS(ns string) string {
	if ns == "" {
		return "in any namespace"
	}
	return fmt.Sprintf("in namespace %q", ns)
}

// listing renders release candidates for an error message.
func listing(records []*Record) string {
	if len(records) == 0 {
		return " (no Helm releases there)"
	}
	parts := make([]string, len(records))
	for i, r := range records {
		parts[i] = fmt.Sprintf("%s (chart %s, stored in %s)", r.Ref(), r.ChartName(), r.StorageNamespace)
	}
	return ": " + strings.Join(parts, ", ")
}

// Apps returns the Helm releases whose workloads are in the SDR's namespace
// (every namespace when all is set), the SDR's own included, whose record
// labels match selector (nil: all). Records are read from the SDR's
// storage namespace and from its namespace.
func (inst *Installation) Apps(ctx context.Context, kube kubernetes.Interface, all bool, selector labels.Selector) ([]*Record, error) {
	namespaces := []string{inst.Record.StorageNamespace}
	if inst.Namespace != inst.Record.StorageNamespace {
		namespaces = append(namespaces, inst.Namespace)
	}
	if all {
		namespaces = []string{""}
	}
	var out []*Record
	for _, ns := range namespaces {
		recs, err := listRecords(ctx, kube, inst.Driver, ns, selector)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if all || r.Namespace == inst.Namespace {
				out = append(out, r)
			}
		}
	}
	return out, nil
}
