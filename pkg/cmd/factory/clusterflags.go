package factory

import (
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// ClusterFlagGroup is the pflag annotation that marks the kubeconfig flags
// (--kubeconfig, --context, -n, --server, --token, ...): help lists them
// under their own heading, after the command's own flags.
const ClusterFlagGroup = "sdr-mirror/cluster"

// helmSupplied are the kubeconfig flags Helm takes from a plugin's command
// line (under its own names: -n/--namespace, --kubeconfig, --kube-context,
// --kube-apiserver, ...) and passes in the environment instead; under Helm
// they are hidden from help, and ApplyHelmEnv reads the environment.
var helmSupplied = []string{
	"namespace", "kubeconfig", "context", "server", "token", "as", "as-group",
	"certificate-authority", "insecure-skip-tls-verify", "tls-server-name",
}

// AddClusterFlags registers the kubeconfig flags on fs, for a command that
// talks to a cluster, marked with ClusterFlagGroup. Under Helm the flags
// Helm supplies are hidden. Each call makes new flags over the same
// ConfigFlags, so several commands can have them.
func (f *Factory) AddClusterFlags(fs *pflag.FlagSet) {
	tmp := pflag.NewFlagSet("cluster", pflag.ContinueOnError)
	f.ConfigFlags.AddFlags(tmp)
	tmp.VisitAll(func(fl *pflag.Flag) {
		if fl.Annotations == nil {
			fl.Annotations = map[string][]string{}
		}
		fl.Annotations[ClusterFlagGroup] = []string{"true"}
		fs.AddFlag(fl)
	})
	if f.Global.HelmPlugin {
		for _, name := range helmSupplied {
			if fl := fs.Lookup(name); fl != nil {
				fl.Hidden = true
			}
		}
	}
}

// IsClusterFlag reports whether fl is one of the kubeconfig flags
// AddClusterFlags registers.
func IsClusterFlag(fl *pflag.Flag) bool {
	_, ok := fl.Annotations[ClusterFlagGroup]
	return ok
}

// ApplyHelmEnv copies Helm's plugin environment into the kubeconfig flags
// that were not given on the command line (flags, the parsed flags of the
// command that runs). Helm takes -n/--namespace, --kube-context,
// --kubeconfig, --kube-apiserver, --kube-token, --kube-as-user,
// --kube-as-group, --kube-ca-file, --kube-insecure-skip-tls-verify and
// --kube-tls-server-name from a plugin's arguments and passes them in these
// variables.
func (f *Factory) ApplyHelmEnv(flags *pflag.FlagSet) {
	env := func(name string) (string, bool) {
		v, ok := f.LookupEnv(name)
		return v, ok && v != ""
	}
	set := func(flag string, dst *string, name string) {
		if v, ok := env(name); ok && dst != nil && !flags.Changed(flag) {
			*dst = v
		}
	}
	cf := f.ConfigFlags
	set("namespace", cf.Namespace, "HELM_NAMESPACE")
	set("context", cf.Context, "HELM_KUBECONTEXT")
	// A KUBECONFIG list is left to client-go's loading rules, which read it.
	if v, ok := env("KUBECONFIG"); ok && !strings.ContainsRune(v, os.PathListSeparator) {
		set("kubeconfig", cf.KubeConfig, "KUBECONFIG")
	}
	set("server", cf.APIServer, "HELM_KUBEAPISERVER")
	set("token", cf.BearerToken, "HELM_KUBETOKEN")
	set("as", cf.Impersonate, "HELM_KUBEASUSER")
	set("certificate-authority", cf.CAFile, "HELM_KUBECAFILE")
	set("tls-server-name", cf.TLSServerName, "HELM_KUBETLS_SERVER_NAME")
	if v, ok := env("HELM_KUBEASGROUPS"); ok && cf.ImpersonateGroup != nil && !flags.Changed("as-group") {
		*cf.ImpersonateGroup = strings.Split(v, ",")
	}
	// Helm always sets this one: "false" unless asked.
	if v, ok := env("HELM_KUBEINSECURE_SKIP_TLS_VERIFY"); ok && cf.Insecure != nil && !flags.Changed("insecure-skip-tls-verify") {
		if b, err := strconv.ParseBool(v); err == nil && b {
			*cf.Insecure = true
		}
	}
}
