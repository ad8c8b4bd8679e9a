package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testnet"
)

// kubeconfig writes a kubeconfig whose one context talks to server.
func kubeconfig(t *testing.T, server string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	data := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: sdr
  cluster: {server: %q}
users:
- name: admin
  user: {token: t0ken}
contexts:
- name: sdr
  context: {cluster: sdr, user: admin, namespace: atlan}
current-context: sdr
`, server)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNoCluster: a command that needs a cluster, run where none answers,
// fails at once with one line that names the server tried and the ways to
// run without a cluster that the command has.
func TestNoCluster(t *testing.T) {
	refused := "http://" + testnet.ClosedPort(t)
	silent := "http://" + testnet.Silent(t)
	withConfig := "or run without one: --config FILE (a Docker/Podman SDR's config.yaml) or --values FILE (the SDR chart's values) for its settings"
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    []string
		maxTime time.Duration
	}{
		{"diff, connection refused", nil, []string{"diff", "--kubeconfig", kubeconfig(t, refused)},
			[]string{"no cluster is reachable: the API server " + refused + " did not answer (connect: connection refused)",
				"point --kubeconfig or --context at the SDR's cluster", withConfig, "--from file --images-file FILE for the images"}, 3 * time.Second},
		{"sync from helm", nil, []string{"sync", "--from", "helm", "--kubeconfig", kubeconfig(t, refused)},
			[]string{"no cluster is reachable: the API server " + refused, withConfig, "--from file"}, 3 * time.Second},
		{"images", nil, []string{"images", "--kubeconfig", kubeconfig(t, refused)},
			[]string{"no cluster is reachable: the API server " + refused, "(diff and sync run without one: --config, --values, --from file)"}, 3 * time.Second},
		{"map get", nil, []string{"map", "get", "--kubeconfig", kubeconfig(t, refused)},
			[]string{"no cluster is reachable: the API server " + refused, withConfig, "or --map FILE, or --bucket URL with --image-map-path KEY"}, 3 * time.Second},
		{"cronjob --apply", nil, []string{"cronjob", "--apply", "-n", "atlan", "--objectstore-secret=", "--image", "registry.example.com/atlan/kubectl-sdr-mirror:v1", "--kubeconfig", kubeconfig(t, refused), "--", "--target", "registry.example.com/atlan"},
			[]string{"no cluster is reachable: the API server " + refused, "or leave out --apply to print the manifests"}, 3 * time.Second},
		{"unknown host", nil, []string{"diff", "--kubeconfig", kubeconfig(t, "https://sdr-api.invalid:6443")},
			[]string{"no cluster is reachable: the API server https://sdr-api.invalid:6443 did not answer (lookup sdr-api.invalid"}, 10 * time.Second},
		{"silent server", nil, []string{"diff", "--kubeconfig", kubeconfig(t, silent), "--request-timeout", "1s"},
			[]string{"no cluster is reachable: the API server " + silent + " did not answer (no answer in time)"}, 4 * time.Second},
		{"kubeconfig that does not exist", nil, []string{"diff", "--kubeconfig", "/nonexistent/kubeconfig"},
			[]string{`no cluster is reachable: the kubeconfig "/nonexistent/kubeconfig" does not exist; point --kubeconfig`, withConfig}, 3 * time.Second},
		{"under helm, kubeconfig that does not exist", map[string]string{"HELM_PLUGIN_NAME": "sdr-mirror", "KUBECONFIG": "/nonexistent/kubeconfig"}, []string{"map", "get"},
			[]string{`no cluster is reachable: the kubeconfig "/nonexistent/kubeconfig" does not exist; point Helm's --kubeconfig`, "or --map FILE"}, 3 * time.Second},
		{"under helm", map[string]string{"HELM_PLUGIN_NAME": "sdr-mirror", "KUBECONFIG": kubeconfig(t, refused)}, []string{"diff"},
			[]string{"no cluster is reachable: the API server " + refused, "point Helm's --kubeconfig or --kube-context at the SDR's cluster", withConfig}, 3 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, out, errOut := newFactory(tc.env)
			start := time.Now()
			code := Run(context.Background(), f, append(tc.args, "--color", "never"))
			took := time.Since(start)
			if code != ExitError {
				t.Errorf("exit %d, want %d", code, ExitError)
			}
			msg := errOut.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "error: no cluster is reachable: ") {
				t.Errorf("stderr = %q, want one line: error: no cluster is reachable: ...", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("stderr = %q, want %q in it", msg, w)
				}
			}
			if out.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", out)
			}
			if took > tc.maxTime {
				t.Errorf("took %s, want at most %s", took, tc.maxTime)
			}
		})
	}
}

// TestNoClusterWrapped: a command that says what it needed the cluster for
// keeps its own words and remedy.
func TestNoClusterWrapped(t *testing.T) {
	f, _, errOut := newFactory(nil)
	args := []string{"map", "get", "--bucket", "file:///srv/sdr", "--kubeconfig", kubeconfig(t, "http://"+testnet.ClosedPort(t))}
	if code := Run(context.Background(), f, args); code != ExitError {
		t.Errorf("exit %d, want %d", code, ExitError)
	}
	msg := errOut.String()
	if !strings.HasPrefix(msg, "error: --bucket needs --image-map-path") || !strings.Contains(msg, "no cluster is reachable") ||
		strings.Contains(msg, "point --kubeconfig") || strings.Count(msg, "\n") != 1 {
		t.Errorf("stderr = %q, want one line: --bucket needs --image-map-path, its cause, no second remedy", msg)
	}
}

// TestNoKubeconfig: with no kubeconfig at all the error says so, and names
// the server client-go falls back to.
func TestNoKubeconfig(t *testing.T) {
	if c, err := net.DialTimeout("tcp", "localhost:8080", time.Second); err == nil {
		_ = c.Close()
		t.Fatal("something listens on localhost:8080, client-go's default API server: this test needs it free")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", filepath.Join(home, "none"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	f, _, errOut := newFactory(nil)
	if code := Run(context.Background(), f, []string{"images"}); code != ExitError {
		t.Errorf("exit %d, want %d", code, ExitError)
	}
	want := "error: no cluster is reachable: no kubeconfig was found (KUBECONFIG, ~/.kube/config), and the default API server http://localhost:8080 did not answer"
	if !strings.HasPrefix(errOut.String(), want) || strings.Count(errOut.String(), "\n") != 1 {
		t.Errorf("stderr = %q, want one line starting %q", errOut, want)
	}
}

// TestClusterAnswers: a cluster that answers, even to refuse, is
// reachable: the error is the cluster's own, not "no cluster".
func TestClusterAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"forbidden"}`))
	}))
	t.Cleanup(srv.Close)
	f, _, errOut := newFactory(nil)
	if code := Run(context.Background(), f, []string{"images", "--kubeconfig", kubeconfig(t, srv.URL)}); code != ExitError {
		t.Errorf("exit %d, want %d", code, ExitError)
	}
	if strings.Contains(errOut.String(), "no cluster is reachable") || !strings.Contains(errOut.String(), "lack permission") {
		t.Errorf("stderr = %q, want the cluster's refusal", errOut)
	}
}
