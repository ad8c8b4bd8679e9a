package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
)

// usageTemplate is cobra's default with the flags in sections: the
// command's own first, then the kubeconfig flags of a command that talks to
// a cluster, then the flags every command has.
const usageTemplate = `Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [command]{{end}}{{if gt (len .Aliases) 0}}

Aliases:
  {{.NameAndAliases}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}{{$cmds := .Commands}}

Available Commands:{{range $cmds}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{range flagSections .}}

{{.Title}}:{{range .Note}}
  {{.}}{{end}}
{{.Usages | trimTrailingWhitespaces}}{{end}}{{if .HasHelpSubCommands}}

Additional help topics:{{range .Commands}}{{if .IsAdditionalHelpTopicCommand}}
  {{rpad .CommandPath .CommandPathPadding}} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} [command] --help" for more information about a command.{{end}}
`

// helmModeAnnotation marks the root command when the tool runs as a Helm
// plugin, for the help of its commands.
const helmModeAnnotation = "sdr-mirror/helm-plugin"

// helmClusterNote heads the cluster flags under Helm, which takes these
// flags itself and passes them in the environment.
var helmClusterNote = []string{
	"Under Helm, Helm's own flags choose the cluster: -n/--namespace, --kube-context,",
	"--kubeconfig, --kube-apiserver, --kube-token, --kube-as-user, --kube-as-group,",
	"--kube-ca-file, --kube-insecure-skip-tls-verify and --kube-tls-server-name.",
}

func init() {
	cobra.AddTemplateFunc("flagSections", flagSections)
}

// flagSection is one heading of flags in a command's help.
type flagSection struct {
	Title string
	// Note is printed under the title, a line each.
	Note   []string
	Usages string
}

// flagSections sorts cmd's visible flags into its own, the cluster flags
// (factory.ClusterFlagGroup) and the global ones (the root's persistent
// flags and --help). Flags a parent command shares with its subcommands,
// such as map's, count as the subcommand's own. Empty sections are left
// out.
func flagSections(cmd *cobra.Command) []flagSection {
	root := cmd.Root()
	own := pflag.NewFlagSet("own", pflag.ContinueOnError)
	cluster := pflag.NewFlagSet("cluster", pflag.ContinueOnError)
	global := pflag.NewFlagSet("global", pflag.ContinueOnError)
	add := func(fl *pflag.Flag) {
		if fl.Hidden {
			return
		}
		switch {
		case factory.IsClusterFlag(fl):
			addOnce(cluster, fl)
		case fl.Name == "help" || root.PersistentFlags().Lookup(fl.Name) != nil:
			addOnce(global, fl)
		default:
			addOnce(own, fl)
		}
	}
	cmd.LocalFlags().VisitAll(add)
	cmd.InheritedFlags().VisitAll(add)

	var out []flagSection
	for _, s := range []struct {
		title string
		note  []string
		fs    *pflag.FlagSet
	}{
		{"Flags", nil, own},
		{"Cluster Flags", clusterNote(root), cluster},
		{"Global Flags", nil, global},
	} {
		if !s.fs.HasAvailableFlags() {
			continue
		}
		out = append(out, flagSection{Title: s.title, Note: s.note, Usages: usages(s.fs)})
	}
	return out
}

func clusterNote(root *cobra.Command) []string {
	if root.Annotations[helmModeAnnotation] != "" {
		return helmClusterNote
	}
	return nil
}

func addOnce(fs *pflag.FlagSet, fl *pflag.Flag) {
	if fs.Lookup(fl.Name) == nil {
		fs.AddFlag(fl)
	}
}

// usages renders fs as pflag does, except that a flag whose help already
// says its default ("(default: ...)") does not get pflag's "(default X)"
// as well.
func usages(fs *pflag.FlagSet) string {
	shown := pflag.NewFlagSet("shown", pflag.ContinueOnError)
	fs.VisitAll(func(fl *pflag.Flag) {
		if !strings.Contains(fl.Usage, "(default") {
			shown.AddFlag(fl)
			return
		}
		c := *fl
		c.DefValue = zeroDefault(fl.Value.Type())
		shown.AddFlag(&c)
	})
	return shown.FlagUsages()
}

// zeroDefault is the DefValue pflag treats as "no default" for a flag of
// type typ.
func zeroDefault(typ string) string {
	switch {
	case typ == "bool":
		return "false"
	case typ == "duration":
		return "0s"
	case strings.HasSuffix(typ, "Slice") || strings.HasSuffix(typ, "Array"):
		return "[]"
	case strings.HasPrefix(typ, "int") || strings.HasPrefix(typ, "uint") || strings.HasPrefix(typ, "float") || typ == "count":
		return "0"
	}
	return ""
}
