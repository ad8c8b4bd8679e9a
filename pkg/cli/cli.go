package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	copycmd "github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/copy"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/cronjob"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/images"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/mapcmd"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/resolve"
	synccmd "github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/sync"
	verifycmd "github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/verify"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/version"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// Exit codes, as docs/exit-codes.md lists them.
const (
	ExitOK    = 0
	ExitError = 1
)

// ExitCodeError carries an exit code other than 1, such as diff's
// --detailed-exitcode 2. Its message, when not empty, is printed.
type ExitCodeError struct {
	Code int
	Err  error
}

func (e *ExitCodeError) Error() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

func (e *ExitCodeError) Unwrap() error { return e.Err }

// Main runs the command line in args against streams and the process
// environment and returns the exit code.
func Main(ctx context.Context, streams genericiooptions.IOStreams, args []string) int {
	return Run(ctx, factory.New(streams, os.LookupEnv), args)
}

// Run is Main with an explicit factory, for tests.
func Run(ctx context.Context, f *factory.Factory, args []string) int {
	root := NewRootCommand(f)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	code := ExitError
	var ec *ExitCodeError
	if errors.As(err, &ec) {
		code = ec.Code
		if ec.Err == nil {
			return code
		}
	}
	if errors.Is(err, context.Canceled) {
		err = errors.New("interrupted")
	}
	for _, e := range lines(err) {
		msg := withRemedies(e.Error(), e)
		// When the missing cluster is the error itself, say how to reach one
		// or do without; a command that wraps it gives its own remedy.
		if nc := (*factory.NoClusterError)(nil); errors.As(e, &nc) && strings.HasPrefix(msg, nc.Error()) {
			msg = nc.Error() + noClusterRemedy(cmd, f.Global.HelmPlugin) + strings.TrimPrefix(msg, nc.Error())
		}
		msg = strings.ReplaceAll(msg, "\n", " ")
		fmt.Fprintln(f.IO.ErrOut, f.ErrStyles().Bad.Render("error:")+" "+msg)
	}
	return code
}

// lines splits an error made of several, one per line (errors.Join), such
// as one unreachable registry or bucket each, into one error line each;
// any other error is one line.
func lines(err error) []error {
	j, ok := err.(interface{ Unwrap() []error }) //nolint:errorlint // only the error itself, not what it wraps
	if !ok {
		return []error{err}
	}
	var parts []error
	var msgs []string
	for _, e := range j.Unwrap() {
		if e != nil {
			parts = append(parts, e)
			msgs = append(msgs, e.Error())
		}
	}
	if len(parts) < 2 || err.Error() != strings.Join(msgs, "\n") {
		return []error{err}
	}
	return parts
}

// NewRootCommand builds the command tree.
func NewRootCommand(f *factory.Factory) *cobra.Command {
	root := &cobra.Command{
		// The binary's name: the generated completion scripts register it.
		// Help calls the tool by f.Name, the display name below.
		Use:   "kubectl-sdr_mirror",
		Short: "Mirror Atlan SDR images into a private registry and keep the SDR's image map in step",
		Long: `kubectl sdr-mirror keeps an Atlan Self-Deployed Runtime (SDR) supplied with images in
networks that block public registries: it finds the images the SDR needs, mirrors them
into your private registry, and records them in the image map the SDR reads from its
object-storage bucket on every install, upgrade and self-update.

It runs as "kubectl sdr-mirror", as "helm sdr-mirror" (a Helm plugin: namespace, context
and kubeconfig come from Helm), or as kubectl-sdr_mirror directly.`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: f.Name},
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return complete(cmd, f)
		},
	}
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath())
	})

	if f.Global.HelmPlugin {
		root.Annotations[helmModeAnnotation] = "true"
	}
	root.SetUsageTemplate(usageTemplate)

	pf := root.PersistentFlags()
	pf.StringVarP(&f.Global.Output, "output", "o", ui.FormatTable, "output format: "+strings.Join(ui.Formats, "|"))
	pf.StringVar(&f.Global.Color, "color", ui.ColorAuto, "colour: "+strings.Join(ui.ColorModes, "|")+" (auto: only on a terminal, off with NO_COLOR or TERM=dumb)")
	pf.CountVarP(&f.Global.Verbosity, "verbose", "v", "debug logs to stderr (-v); secrets are never logged")

	mustComplete(root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(ui.Formats, cobra.ShellCompDirectiveNoFileComp)))
	mustComplete(root.RegisterFlagCompletionFunc("color", cobra.FixedCompletions(ui.ColorModes, cobra.ShellCompDirectiveNoFileComp)))

	syncCmd := synccmd.NewCmdSync(f, nil)
	diffCmd := synccmd.NewCmdDiff(f, func(code int) error { return &ExitCodeError{Code: code} }, nil)
	mapCmd := mapcmd.NewCmdMap(f)
	imagesCmd := images.NewCmdImages(f, nil)
	cronjobCmd := cronjob.NewCmdCronJob(f, nil)
	root.AddCommand(
		syncCmd,
		diffCmd,
		resolve.NewCmdResolve(f.Factory, nil),
		mapCmd,
		version.NewCmdVersion(f.Factory, nil),
		imagesCmd,
		verifycmd.NewCmdVerify(f.Factory, nil),
		copycmd.NewCmdCopy(f.Factory, nil),
		cronjobCmd,
	)
	// The kubeconfig flags, only on the commands that talk to a cluster:
	// sync and diff read the SDR and its releases, images lists them, the
	// map commands read the SDR's map location, cronjob its namespace.
	// resolve, copy, verify, version and completion never do.
	for _, fs := range []*pflag.FlagSet{syncCmd.Flags(), diffCmd.Flags(), mapCmd.PersistentFlags(), imagesCmd.Flags(), cronjobCmd.Flags()} {
		f.AddClusterFlags(fs)
	}
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		c.Long = strings.TrimSpace(c.Long) + "\n\n" + completionHelp
	}
	f.RegisterCompletions(root, map[string][]string{"from": synccmd.FromValues()})
	return root
}

// completionHelp says how completion works through kubectl and Helm, which
// complete a plugin's arguments by running a program of the plugin's.
const completionHelp = `The scripts complete kubectl-sdr_mirror run by that name. Through kubectl and Helm,
their own completion completes this tool's arguments as well:
  kubectl sdr-mirror  kubectl 1.26+ runs kubectl_complete-sdr_mirror (in the release archive)
                      when it is on PATH; with krew, link it into ~/.krew/bin
  helm sdr-mirror     Helm runs the plugin's plugin.complete`

func mustComplete(err error) {
	if err != nil {
		panic(err)
	}
}

// complete checks the global flags and, under Helm, takes namespace,
// context and kubeconfig from Helm's environment: Helm removes those flags
// from a plugin's arguments and passes them as HELM_NAMESPACE,
// HELM_KUBECONTEXT and KUBECONFIG instead.
func complete(cmd *cobra.Command, f *factory.Factory) error {
	if !slices.Contains(ui.Formats, f.Global.Output) {
		return fmt.Errorf("--output %q: must be one of %s", f.Global.Output, strings.Join(ui.Formats, ", "))
	}
	if !slices.Contains(ui.ColorModes, f.Global.Color) {
		return fmt.Errorf("--color %q: must be one of %s", f.Global.Color, strings.Join(ui.ColorModes, ", "))
	}
	if f.Global.HelmPlugin {
		f.ApplyHelmEnv(cmd.Flags())
	}
	log := f.Logger()
	log.Debug("starting", "command", cmd.CommandPath(), "version", version.Get().Version,
		"helmPlugin", f.Global.HelmPlugin, "namespace", deref(f.ConfigFlags.Namespace),
		"context", deref(f.ConfigFlags.Context), "kubeconfig", deref(f.ConfigFlags.KubeConfig))
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
