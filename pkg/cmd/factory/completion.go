package factory

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
)

// completionTimeout bounds the API calls of a shell completion: a slow or
// unreachable cluster gives no suggestions rather than a hung shell.
const completionTimeout = 5 * time.Second

// RegisterCompletions adds shell completion, on every command of the tree,
// for the flags that take names: namespaces (-n, --storage-namespace) and
// Helm releases (--release) from the cluster, and the fixed values of
// --helm-driver, --release-block and those given in fixed (flag name to
// values). Flags that already have a completion keep it.
func (f *Factory) RegisterCompletions(root *cobra.Command, fixed map[string][]string) {
	fixed = mergeFixed(fixed, map[string][]string{
		"helm-driver":   {sdr.DriverSecret, sdr.DriverConfigMap},
		"release-block": sdr.BlockModes,
	})
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		register := func(fl *pflag.Flag) {
			var fn cobra.CompletionFunc
			switch fl.Name {
			case "namespace", "storage-namespace":
				fn = f.completeNamespaces
			case "release":
				fn = f.completeReleases
			default:
				values, ok := fixed[fl.Name]
				if !ok {
					return
				}
				fn = cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
			}
			if _, exists := cmd.GetFlagCompletionFunc(fl.Name); exists {
				return
			}
			_ = cmd.RegisterFlagCompletionFunc(fl.Name, fn)
		}
		cmd.LocalNonPersistentFlags().VisitAll(register)
		cmd.PersistentFlags().VisitAll(register)
		for _, c := range cmd.Commands() {
			walk(c)
		}
	}
	walk(root)
}

func mergeFixed(a, b map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range b {
		out[k] = v
	}
	for k, v := range a {
		out[k] = v
	}
	return out
}

func (f *Factory) completeNamespaces(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	f.completionEnv(cmd)
	kube, _, err := f.KubeClients()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	ctx, cancel := context.WithTimeout(contextOf(cmd), completionTimeout)
	defer cancel()
	list, err := kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	out := make([]cobra.Completion, 0, len(list.Items))
	for _, ns := range list.Items {
		out = append(out, ns.Name)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeReleases lists the releases stored in --storage-namespace, else
// the namespace, with the command's --helm-driver or HELM_DRIVER.
func (f *Factory) completeReleases(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	f.completionEnv(cmd)
	kube, _, err := f.KubeClients()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	ns, err := f.Namespace()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	if fl := cmd.Flags().Lookup("storage-namespace"); fl != nil && fl.Value.String() != "" {
		ns = fl.Value.String()
	}
	driver, _ := f.LookupEnv("HELM_DRIVER")
	if fl := cmd.Flags().Lookup("helm-driver"); fl != nil && fl.Value.String() != "" {
		driver = fl.Value.String()
	}
	ctx, cancel := context.WithTimeout(contextOf(cmd), completionTimeout)
	defer cancel()
	names, err := sdr.ReleaseNames(ctx, kube, driver, ns)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completionEnv applies Helm's environment, as a run does before it starts:
// a completion runs no PersistentPreRun.
func (f *Factory) completionEnv(cmd *cobra.Command) {
	if f.Global.HelmPlugin {
		f.ApplyHelmEnv(cmd.Flags())
	}
}

func contextOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
