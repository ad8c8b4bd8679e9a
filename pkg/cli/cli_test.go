package cli

import (
	"bytes"
	"context"
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
	tests := []struct {
		name                        string
		env                         map[string]string
		args                        []string
		namespace, context, kubecfg string
	}{
		{"helm env applies", map[string]string{"HELM_PLUGIN_NAME": "sdr-mirror", "HELM_NAMESPACE": "sdr", "HELM_KUBECONTEXT": "prod", "KUBECONFIG": "/k/config"},
			nil, "sdr", "prod", "/k/config"},
		{"flags win", map[string]string{"HELM_PLUGIN_NAME": "sdr-mirror", "HELM_NAMESPACE": "sdr", "HELM_KUBECONTEXT": "prod"},
			[]string{"-n", "mine", "--context", "dev"}, "mine", "dev", ""},
		{"kubeconfig list left to client-go", map[string]string{"HELM_PLUGIN_NAME": "sdr-mirror", "KUBECONFIG": "/a:/b"},
			nil, "", "", ""},
		{"not a helm plugin", map[string]string{"HELM_NAMESPACE": "sdr", "KUBECONFIG": "/k/config"},
			nil, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, errOut := newFactory(tc.env)
			args := append(append([]string{}, tc.args...), "version")
			if code := Run(context.Background(), f, args); code != 0 {
				t.Fatalf("Run(%v) = %d, stderr %s", args, code, errOut)
			}
			if got := *f.ConfigFlags.Namespace; got != tc.namespace {
				t.Errorf("namespace = %q, want %q", got, tc.namespace)
			}
			if got := *f.ConfigFlags.Context; got != tc.context {
				t.Errorf("context = %q, want %q", got, tc.context)
			}
			if got := *f.ConfigFlags.KubeConfig; got != tc.kubecfg {
				t.Errorf("kubeconfig = %q, want %q", got, tc.kubecfg)
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
	f, out, _ := newFactory(nil)
	if code := Run(context.Background(), f, []string{"completion", "bash"}); code != 0 {
		t.Fatalf("completion bash failed")
	}
	if !strings.Contains(out.String(), "bash completion") {
		t.Errorf("completion bash printed no bash completion script")
	}
	f, out, _ = newFactory(nil)
	if code := Run(context.Background(), f, []string{"__complete", "resolve", "-o", ""}); code != 0 {
		t.Fatalf("__complete failed")
	}
	for _, w := range []string{"table", "json", "yaml"} {
		if !strings.Contains(out.String(), w+"\n") {
			t.Errorf("completion of -o lacks %q: %q", w, out)
		}
	}
}
