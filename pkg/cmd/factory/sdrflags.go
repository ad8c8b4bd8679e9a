package factory

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/mapflags"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
)

// kubeClients builds API clients from the kubeconfig flags, once the API
// server has answered a first request (a *NoClusterError otherwise).
func (f *Factory) kubeClients() (kubernetes.Interface, dynamic.Interface, error) {
	cfg, err := f.ConfigFlags.ToRESTConfig()
	if path := deref(f.ConfigFlags.KubeConfig); err != nil && path != "" && errors.Is(err, fs.ErrNotExist) {
		return nil, nil, &NoClusterError{Kubeconfig: path, Err: err}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("loading the kubeconfig: %w; pass --kubeconfig or set KUBECONFIG", err)
	}
	if err := f.probe(cfg); err != nil {
		return nil, nil, err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("creating a Kubernetes client for %q: %w", cfg.Host, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("creating a Kubernetes client for %q: %w", cfg.Host, err)
	}
	return kube, dyn, nil
}

// Namespace is the namespace from -n, HELM_NAMESPACE or the kubeconfig.
func (f *Factory) Namespace() (string, error) {
	ns, _, err := f.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("reading the namespace from the kubeconfig: %w; pass -n", err)
	}
	return ns, nil
}

// SDRFlags locate the installed SDR and override what is read from it.
type SDRFlags struct {
	Release          string
	StorageNamespace string
	DeploymentName   string
	AllNamespaces    bool
	ReleaseSelector  string
	ChartPattern     string
	HelmDriver       string
	Target           string
}

// AddFlags registers the SDR-locating flags and those choosing its apps
// and target.
func (s *SDRFlags) AddFlags(fs *pflag.FlagSet) {
	s.AddLocateFlags(fs)
	fs.BoolVarP(&s.AllNamespaces, "all-namespaces", "A", false, "look for the SDR and its apps in every namespace")
	fs.StringVar(&s.ReleaseSelector, "release-selector", "", "label selector on Helm release records choosing the apps (default: every release in the SDR's namespace)")
	fs.StringVar(&s.Target, "target", "", "registry prefix images are mirrored under (default: the SDR's containerRegistryBase)")
}

// AddLocateFlags registers the flags that find the SDR: its release, where
// Helm keeps it, its deployment name and chart.
func (s *SDRFlags) AddLocateFlags(fs *pflag.FlagSet) {
	fs.StringVar(&s.Release, "release", "", "the SDR's Helm release name (default: the HelmRelease's, atlan-sdr-<deployment-name>, or the one release whose chart matches --sdr-chart)")
	fs.StringVar(&s.StorageNamespace, "storage-namespace", "", "namespace holding the SDR's Helm release records (default: the HelmRelease's storage namespace, else the SDR's namespace)")
	fs.StringVar(&s.DeploymentName, "deployment-name", "", "the SDR's deployment name (default: sdr.deploymentName in its values, or its release name atlan-sdr-<name>)")
	fs.StringVar(&s.ChartPattern, "sdr-chart", sdr.DefaultChartPattern, "regular expression the SDR orchestrator's chart name matches")
	fs.StringVar(&s.HelmDriver, "helm-driver", "", "Helm storage driver: secret or configmap (default: HELM_DRIVER, else secret)")
}

// Selector parses --release-selector; nil when not given.
func (s *SDRFlags) Selector() (labels.Selector, error) {
	if s.ReleaseSelector == "" {
		return nil, nil
	}
	sel, err := labels.Parse(s.ReleaseSelector)
	if err != nil {
		return nil, fmt.Errorf("--release-selector %q: %w", s.ReleaseSelector, err)
	}
	return sel, nil
}

// Find locates the SDR in the cluster of the kubeconfig flags. m, when not
// nil, supplies the --bucket and --image-map-path overrides.
func (s *SDRFlags) Find(ctx context.Context, f *Factory, m *mapflags.Flags) (*sdr.Installation, kubernetes.Interface, error) {
	kube, dyn, err := f.KubeClients()
	if err != nil {
		return nil, nil, err
	}
	ns, err := f.Namespace()
	if err != nil {
		return nil, nil, err
	}
	driver := s.HelmDriver
	if driver == "" {
		driver, _ = f.LookupEnv("HELM_DRIVER")
	}
	ov := sdr.Overrides{Target: s.Target, DeploymentName: s.DeploymentName}
	if m != nil {
		ov.Bucket, ov.ImageMapPath = m.Bucket, m.Key
	}
	inst, err := sdr.Find(ctx, kube,
		sdr.WithNamespace(ns),
		sdr.WithAllNamespaces(s.AllNamespaces),
		sdr.WithStorageNamespace(s.StorageNamespace),
		sdr.WithRelease(s.Release),
		sdr.WithDriver(driver),
		sdr.WithChartPattern(s.ChartPattern),
		sdr.WithDynamicClient(dyn),
		sdr.WithOverrides(ov),
	)
	if err != nil {
		return nil, nil, err
	}
	log := f.Logger()
	for _, n := range inst.Notes {
		log.Debug(n)
	}
	log.Debug("found the SDR", "release", inst.Record.Ref(), "storageNamespace", inst.Record.StorageNamespace,
		"chart", inst.Record.ChartName(), "driver", inst.Driver, "flux", inst.Flux != nil)
	for setting, from := range inst.Settings.From {
		log.Debug("setting", "name", setting, "from", from)
	}
	return inst, kube, nil
}

// SourceFlags read the SDR's settings without a cluster: a Docker/Podman
// SDR's config.yaml, or a Helm values file.
type SourceFlags struct {
	Config string
	Values string
}

// AddFlags registers --config and --values.
func (s *SourceFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&s.Config, "config", "", "a Docker/Podman SDR's config.yaml (deployment_name, objectstore, container_registry); no cluster is read")
	fs.StringVar(&s.Values, "values", "", "a Helm values file of the SDR chart to read the settings from instead of the cluster")
}

// Configured reports whether a cluster-less source was given.
func (s *SourceFlags) Configured() bool { return s.Config != "" || s.Values != "" }

// Settings reads the settings from --config or --values, with the flag
// overrides of sdrFlags and m (either may be nil).
func (s *SourceFlags) Settings(sdrFlags *SDRFlags, m *mapflags.Flags) (*sdr.Settings, error) {
	var ov sdr.Overrides
	if sdrFlags != nil {
		ov.Target, ov.DeploymentName = sdrFlags.Target, sdrFlags.DeploymentName
	}
	if m != nil {
		ov.Bucket, ov.ImageMapPath = m.Bucket, m.Key
	}
	switch {
	case s.Config != "" && s.Values != "":
		return nil, errors.New("--config cannot be combined with --values: give the Docker/Podman config.yaml or the Helm values file")
	case s.Config != "":
		return sdr.FromDockerConfig(s.Config, ov)
	case s.Values != "":
		return sdr.FromValuesFile(s.Values, ov)
	}
	return nil, errors.New("no SDR settings source: pass --config or --values, or read them from the cluster")
}

// BlockFlag is --release-block, for the commands that write the map.
type BlockFlag struct {
	Mode string
}

// AddFlags registers --release-block.
func (b *BlockFlag) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&b.Mode, "release-block", string(sdr.BlockAuto),
		"the map's release: block: auto (written when the SDR's release name or storage namespace is not the default atlan-sdr-<deployment> beside its workloads, removed otherwise), keep, or remove")
}

// Parse checks the flag's value.
func (b *BlockFlag) Parse() (sdr.BlockMode, error) { return sdr.ParseBlockMode(b.Mode) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
