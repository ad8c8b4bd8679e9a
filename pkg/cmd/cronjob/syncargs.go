package cronjob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	synccmd "github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/sync"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// fileFlags are sync flags naming a local file: the CronJob's container has
// none of the operator's files.
var fileFlags = []string{"--registry-ca-file", "--bucket-ca-file", "--registry-auth-file", "--kubeconfig", "--config", "--values",
	"--map", "--objectstore-component", "--images-file", "--trusted-root", "--tuf-root"}

// bundleFlags are the air-gap flags of sync: a bundle is carried by hand.
var bundleFlags = []string{"--to-bundle", "--from-bundle", "--split-size"}

// checkSyncArgs refuses sync flags that cannot work inside the CronJob's
// container, with what to use instead.
func checkSyncArgs(args []string) error {
	for _, a := range args {
		for _, flag := range fileFlags {
			if a == flag || strings.HasPrefix(a, flag+"=") {
				return fmt.Errorf("sync flag %q after --: the CronJob's container has no such file; use --ca-bundle-configmap or --registry-secret", a)
			}
		}
	}
	for _, a := range args {
		for _, flag := range bundleFlags {
			if a == flag || strings.HasPrefix(a, flag+"=") {
				return fmt.Errorf("sync flag %q after --: a bundle is written or read by hand on either side of an air gap, not by the CronJob; run sync --to-bundle or --from-bundle yourself", a)
			}
		}
	}
	for _, a := range args {
		if a == "-n" || strings.HasPrefix(a, "-n=") || a == "--namespace" || strings.HasPrefix(a, "--namespace=") || a == "-A" || a == "--all-namespaces" {
			return fmt.Errorf("sync flag %q after --: the CronJob syncs the SDR of its own namespace; pass -n to cronjob instead", a)
		}
	}
	return nil
}

// parseSync parses args exactly as sync would on the CronJob's command line,
// with the global flags every command has, and returns sync's validated
// options: a flag sync does not know, or a value it refuses, is refused here
// before any manifest is printed.
func parseSync(ctx context.Context, lookupEnv func(string) (string, bool), args []string) (*synccmd.SyncOptions, error) {
	f := factory.New(genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}, lookupEnv)
	var got *synccmd.SyncOptions
	sync := synccmd.NewCmdSync(f, func(o *synccmd.SyncOptions) error { got = o; return nil })
	// The root command's global flags, which sync's command line may carry
	// too (pkg/cli registers them; it imports this package, so they are
	// repeated here).
	root := &cobra.Command{Use: "sdr-mirror", SilenceErrors: true, SilenceUsage: true}
	pf := root.PersistentFlags()
	f.ConfigFlags.AddFlags(pf)
	pf.StringVarP(&f.Global.Output, "output", "o", ui.FormatTable, "")
	pf.StringVar(&f.Global.Color, "color", ui.ColorAuto, "")
	pf.CountVarP(&f.Global.Verbosity, "verbose", "v", "")
	root.AddCommand(sync)
	root.SetArgs(append([]string{"sync"}, args...))
	root.SetIn(f.IO.In)
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	if err := root.ExecuteContext(ctx); err != nil {
		return nil, fmt.Errorf("sync flags after --: %w", err)
	}
	if got == nil {
		return nil, errors.New("sync flags after --: they ask sync for help, not for a run; pass the flags of a sync run")
	}
	if !slices.Contains(ui.Formats, f.Global.Output) {
		return nil, fmt.Errorf("sync flag --output %q after --: must be one of %s", f.Global.Output, strings.Join(ui.Formats, ", "))
	}
	if !slices.Contains(ui.ColorModes, f.Global.Color) {
		return nil, fmt.Errorf("sync flag --color %q after --: must be one of %s", f.Global.Color, strings.Join(ui.ColorModes, ", "))
	}
	return got, nil
}

// checkAtlanURL refuses a tenant URL that is not https: the CronJob sends
// the Atlan API token to it every run.
func checkAtlanURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("--atlan-url %q: must be https://<tenant>.atlan.com; the CronJob sends the Atlan API token there on every run", s)
	}
	return nil
}
