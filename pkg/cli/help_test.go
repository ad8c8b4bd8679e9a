package cli

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output =\n%s\nwant (%s)\n%s", got, p, want)
	}
}

// helmEnv is the environment Helm gives a plugin.
var helmEnv = map[string]string{"HELM_PLUGIN_NAME": "sdr-mirror", "HELM_PLUGIN_DIR": "/plugins/sdr-mirror"}

// help runs args with --help in env and returns standard output.
func help(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	f, out, errOut := newFactory(env)
	args = append(append([]string{}, args...), "--help")
	if code := Run(context.Background(), f, args); code != 0 {
		t.Fatalf("Run(%q) = %d: %s", args, code, errOut)
	}
	return out.String()
}

// TestHelp keeps every command's help in a golden file: the command's own
// flags first, the kubeconfig flags under Cluster Flags only where the
// command talks to a cluster, then the global flags.
func TestHelp(t *testing.T) {
	// The default of --cache-dir depends on it.
	t.Setenv("KUBECACHEDIR", "/home/user/.kube/cache")
	commands := [][]string{
		{}, {"sync"}, {"diff"}, {"images"}, {"resolve"}, {"map"}, {"map", "get"}, {"map", "set"},
		{"map", "rm"}, {"map", "validate"}, {"version"}, {"verify"}, {"copy"}, {"cronjob"},
		{"completion"}, {"completion", "bash"},
	}
	for _, args := range commands {
		name := strings.Join(append([]string{"root"}, args...), "-")
		t.Run(name, func(t *testing.T) {
			golden(t, filepath.Join("help", name+".txt"), help(t, nil, args...))
		})
	}
	t.Run("helm-diff", func(t *testing.T) {
		golden(t, filepath.Join("help", "helm-diff.txt"), help(t, helmEnv, "diff"))
	})
}

// sections splits help text into its flag sections, by heading.
func sections(text string) map[string]string {
	out := map[string]string{}
	var heading string
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasSuffix(line, ":") && !strings.HasPrefix(line, " "):
			heading = strings.TrimSuffix(line, ":")
		case heading != "":
			out[heading] += line + "\n"
		}
	}
	return out
}

var flagName = regexp.MustCompile(`^  (?:-\w, |    )--([a-z-]+)`)

// flagsIn lists the long names of the flags in a help section.
func flagsIn(section string) []string {
	var names []string
	for _, line := range strings.Split(section, "\n") {
		if m := flagName.FindStringSubmatch(line); m != nil {
			names = append(names, m[1])
		}
	}
	return names
}

// TestHelpClusterFlags checks, for every command, that the kubeconfig flags
// appear under Cluster Flags exactly where the command talks to a cluster,
// after the command's own flags, and never among them.
func TestHelpClusterFlags(t *testing.T) {
	f, _, _ := newFactory(nil)
	kubeconfig := pflag.NewFlagSet("kubeconfig", pflag.ContinueOnError)
	f.ConfigFlags.AddFlags(kubeconfig)
	var clusterFlags []string
	kubeconfig.VisitAll(func(fl *pflag.Flag) { clusterFlags = append(clusterFlags, fl.Name) })
	if len(clusterFlags) < 19 {
		t.Fatalf("ConfigFlags registers %d flags, want at least 19", len(clusterFlags))
	}
	talksToCluster := map[string]bool{
		"sync": true, "diff": true, "images": true, "cronjob": true,
		"map": true, "map get": true, "map set": true, "map rm": true, "map validate": true,
	}
	var walk func(cmd *cobra.Command, path []string)
	walk = func(cmd *cobra.Command, path []string) {
		for _, c := range cmd.Commands() {
			if c.Hidden || c.Name() == "help" {
				continue
			}
			walk(c, append(append([]string{}, path...), c.Name()))
		}
		name := strings.Join(path, " ")
		t.Run(strings.ReplaceAll(name, " ", "-"), func(t *testing.T) {
			text := help(t, nil, path...)
			s := sections(text)
			own, cluster := flagsIn(s["Flags"]), flagsIn(s["Cluster Flags"])
			for _, fl := range clusterFlags {
				if strings.Contains(" "+strings.Join(own, " ")+" ", " "+fl+" ") {
					t.Errorf("%q --help lists kubeconfig flag --%s among its own flags", name, fl)
				}
				if strings.Contains(" "+strings.Join(flagsIn(s["Global Flags"]), " ")+" ", " "+fl+" ") {
					t.Errorf("%q --help lists kubeconfig flag --%s among the global flags", name, fl)
				}
			}
			if talksToCluster[name] {
				if len(cluster) != len(clusterFlags) {
					t.Errorf("%q --help lists %d cluster flags %q, want the %d kubeconfig flags", name, len(cluster), cluster, len(clusterFlags))
				}
				if i, j := strings.Index(text, "\nFlags:"), strings.Index(text, "\nCluster Flags:"); cmd.HasAvailableLocalFlags() && (i < 0 || j < i) {
					t.Errorf("%q --help: Cluster Flags before the command's own Flags:\n%s", name, text)
				}
			} else if strings.Contains(text, "Cluster Flags:") || strings.Contains(text, "--kubeconfig") {
				t.Errorf("%q --help lists the kubeconfig flags, but the command talks to no cluster:\n%s", name, text)
			}
			// A command without a cluster refuses its flags.
			if !talksToCluster[name] && name != "" {
				f, _, errOut := newFactory(nil)
				args := append(append([]string{}, path...), "--kubeconfig", "/dev/null", "--help")
				if code := Run(context.Background(), f, args); code == 0 || !strings.Contains(errOut.String(), "unknown flag: --kubeconfig") {
					t.Errorf("%q accepts --kubeconfig (exit %d, %q)", name, code, errOut)
				}
			}
		})
	}
	f, _, _ = newFactory(nil)
	walk(NewRootCommand(f), nil)
}

// TestHelpUnderHelm: Helm takes -n, --kube-context, --kubeconfig and the
// other kube flags from a plugin's arguments, so help under Helm does not
// offer the plugin's own spellings of them, and says which of Helm's to use.
func TestHelpUnderHelm(t *testing.T) {
	for _, args := range [][]string{{"diff"}, {"map", "get"}, {"cronjob"}} {
		text := help(t, helmEnv, args...)
		cluster := sections(text)["Cluster Flags"]
		var listed []string
		for _, s := range sections(text) {
			listed = append(listed, flagsIn(s)...)
		}
		for _, hidden := range []string{"namespace", "kubeconfig", "context", "server", "token", "as", "as-group", "certificate-authority", "insecure-skip-tls-verify", "tls-server-name"} {
			if slices.Contains(listed, hidden) {
				t.Errorf("helm sdr-mirror %s --help lists --%s, which Helm takes itself:\n%s", args, hidden, text)
			}
		}
		for _, want := range []string{"-n/--namespace", "--kube-context", "--kubeconfig", "--cluster", "--request-timeout"} {
			if !strings.Contains(cluster, want) {
				t.Errorf("helm sdr-mirror %s --help: Cluster Flags lack %q:\n%s", args, want, cluster)
			}
		}
		if !strings.Contains(text, "helm sdr-mirror "+strings.Join(args, " ")) {
			t.Errorf("help under Helm does not call the command helm sdr-mirror:\n%s", text)
		}
	}
}

// saysDefault matches a flag help's statement of its default, pflag's or
// its own.
var saysDefault = regexp.MustCompile(`\(default|the default is`)

// TestHelpDefaultsOnce: a flag whose help already says its default does not
// print pflag's "(default ...)" after it.
func TestHelpDefaultsOnce(t *testing.T) {
	f, _, _ := newFactory(nil)
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		for _, s := range flagSections(cmd) {
			for _, line := range strings.Split(s.Usages, "\n") {
				if len(saysDefault.FindAllString(line, -1)) > 1 {
					t.Errorf("%s --help prints a default twice: %s", cmd.CommandPath(), strings.TrimSpace(line))
				}
			}
		}
		for _, c := range cmd.Commands() {
			walk(c)
		}
	}
	walk(NewRootCommand(f))
	if text := help(t, nil, "cronjob"); !strings.Contains(text, "--schedule") {
		t.Fatalf("cronjob --help has no --schedule:\n%s", text)
	}
}
