package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
)

func newFactory(env map[string]string) (*factory.Factory, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	f := factory.New(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return f, &out, &errOut
}

func TestHelmPluginEnvironment(t *testing.T) {
	mapFile := filepath.Join(t.TempDir(), "image-map.yaml")
	if err := os.WriteFile(mapFile, []byte("images: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                        string
		env                         map[string]string
		args                        []string
		namespace, context, kubecfg string
		server, token, as, ca       string
		groups                      []string
		insecure                    bool
	}{
		{name: "helm env applies", env: map[string]string{"HELM_PLUGIN_NAME": "sdr-mirror", "HELM_NAMESPACE": "sdr", "HELM_KUBECONTEXT": "prod", "KUBECONFIG": "/k/config"},
			namespace: "sdr", context: "prod", kubecfg: "/k/config"},
		{name: "helm's other kube flags", env: map[string]string{"HELM_PLUGIN_NAME": "sdr-mirror", "HELM_KUBEAPISERVER": "https://api:6443",
			"HELM_KUBETOKEN": "t0ken", "HELM_KUBEASUSER": "alice", "HELM_KUBEASGROUPS": "ops,dev", "HELM_KUBECAFILE": "/ca.pem",
			"HELM_KUBEINSECURE_SKIP_TLS_VERIFY": "true"},
			server: "https://api:6443", token: "t0ken", as: "alice", groups: []string{"ops", "dev"}, ca: "/ca.pem", insecure: true},
		{name: "helm passes insecure false", env: map[string]string{"HELM_PLUGIN_NAME": "sdr-mirror", "HELM_KUBEINSECURE_SKIP_TLS_VERIFY": "false"}},
		{name: "flags win", env: map[string]string{"HELM_PLUGIN_NAME": "sdr-mirror", "HELM_NAMESPACE": "sdr", "HELM_KUBECONTEXT": "prod", "HELM_KUBETOKEN": "t0ken"},
			args: []string{"map", "get", "--map", mapFile, "-n", "mine", "--context", "dev", "--token", "mine"}, namespace: "mine", context: "dev", token: "mine"},
		{name: "kubeconfig list left to client-go", env: map[string]string{"HELM_PLUGIN_NAME": "sdr-mirror", "KUBECONFIG": "/a:/b"}},
		{name: "not a helm plugin", env: map[string]string{"HELM_NAMESPACE": "sdr", "KUBECONFIG": "/k/config"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, errOut := newFactory(tc.env)
			args := tc.args
			if args == nil {
				args = []string{"version"}
			}
			if code := Run(context.Background(), f, args); code != 0 {
				t.Fatalf("Run(%v) = %d, stderr %s", args, code, errOut)
			}
			cf := f.ConfigFlags
			for _, c := range []struct{ name, got, want string }{
				{"namespace", *cf.Namespace, tc.namespace}, {"context", *cf.Context, tc.context}, {"kubeconfig", *cf.KubeConfig, tc.kubecfg},
				{"server", *cf.APIServer, tc.server}, {"token", *cf.BearerToken, tc.token}, {"as", *cf.Impersonate, tc.as},
				{"certificate-authority", *cf.CAFile, tc.ca}, {"as-group", strings.Join(*cf.ImpersonateGroup, ","), strings.Join(tc.groups, ",")},
			} {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
				}
			}
			if *cf.Insecure != tc.insecure {
				t.Errorf("insecure-skip-tls-verify = %v, want %v", *cf.Insecure, tc.insecure)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	f, _, errOut := newFactory(nil)
	if code := Run(context.Background(), f, []string{"no-such-command"}); code != ExitError {
		t.Errorf("unknown command exit = %d, want %d", code, ExitError)
	}
	if !strings.HasPrefix(errOut.String(), "error: unknown command") || strings.Count(errOut.String(), "\n") != 1 {
		t.Errorf("unknown command stderr = %q, want one error line", errOut.String())
	}

	f, _, errOut = newFactory(nil)
	if code := Run(context.Background(), f, []string{"version", "--bogus"}); code != ExitError {
		t.Errorf("bad flag exit = %d, want %d", code, ExitError)
	}
	if !strings.Contains(errOut.String(), "unknown flag: --bogus (see 'kubectl sdr-mirror version --help')") {
		t.Errorf("bad flag stderr = %q", errOut.String())
	}
}

func TestVersionJSON(t *testing.T) {
	f, out, _ := newFactory(nil)
	if code := Run(context.Background(), f, []string{"version", "-o", "json"}); code != 0 {
		t.Fatalf("version -o json exit %d", code)
	}
	for _, k := range []string{`"version":`, `"goVersion":`, `"platform":`} {
		if !strings.Contains(out.String(), k) {
			t.Errorf("version -o json = %s, missing %s", out, k)
		}
	}
}

func TestCompletion(t *testing.T) {
	// Each script registers the binary's name, which users type when they
	// run it directly; kubectl and Helm complete through their own scripts.
	for shell, want := range map[string]string{
		"bash": "complete -o default -F __start_kubectl-sdr_mirror kubectl-sdr_mirror",
		"zsh":  "#compdef kubectl-sdr_mirror\ncompdef _kubectl-sdr_mirror kubectl-sdr_mirror\n",
		"fish": "complete -c kubectl-sdr_mirror -e",
	} {
		f, out, _ := newFactory(nil)
		if code := Run(context.Background(), f, []string{"completion", shell}); code != 0 {
			t.Fatalf("completion %s failed", shell)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("completion %s does not register kubectl-sdr_mirror (%q)", shell, want)
		}
		if strings.Contains(out.String(), " sdr-mirror\n") || strings.Contains(out.String(), "-c sdr-mirror ") {
			t.Errorf("completion %s registers the name sdr-mirror, which no one types", shell)
		}
	}
	f, out, _ := newFactory(nil)
	if code := Run(context.Background(), f, []string{"__complete", "resolve", "-o", ""}); code != 0 {
		t.Fatalf("__complete failed")
	}
	for _, w := range []string{"table", "json", "yaml"} {
		if !strings.Contains(out.String(), w+"\n") {
			t.Errorf("completion of -o lacks %q: %q", w, out)
		}
	}
}
