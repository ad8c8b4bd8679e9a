package testenv

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Cluster is a Kubernetes control plane (etcd and kube-apiserver, no
// nodes, no controllers) on 127.0.0.1 started by hack/kube-up.sh.
type Cluster struct {
	// Dir holds the cluster's certificates, tokens and logs.
	Dir string
	// Kubeconfig is an admin (system:masters) kubeconfig.
	Kubeconfig string
	// Kubectl is the pinned kubectl.
	Kubectl string
}

var kube struct {
	sync.Mutex
	cluster *Cluster
	err     error
}

// kubeStartTimeout bounds hack/kube-up.sh; the binaries are already built
// by make test, so start-up takes seconds.
const kubeStartTimeout = 3 * time.Minute

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Kube returns the test package's cluster, starting it on first use. The
// cluster lives until StopKube, which the package's TestMain calls after
// m.Run:
//
//	func TestMain(m *testing.M) { code := m.Run(); testenv.StopKube(); os.Exit(code) }
func Kube(t testing.TB) *Cluster {
	t.Helper()
	bin := Path(t, "SDR_MIRROR_KUBE_BIN")
	kube.Lock()
	defer kube.Unlock()
	if kube.cluster == nil && kube.err == nil {
		kube.cluster, kube.err = startKube(bin)
	}
	if kube.err != nil {
		t.Fatal(kube.err)
	}
	return kube.cluster
}

func startKube(bin string) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "sdr-mirror-kube")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), kubeStartTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(RepoRoot(), "hack", "kube-up.sh"), dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		stopKube(dir)
		return nil, fmt.Errorf("hack/kube-up.sh %s: %w\n%s", dir, err, stderr.String())
	}
	return &Cluster{Dir: dir, Kubeconfig: strings.TrimSpace(stdout.String()), Kubectl: filepath.Join(bin, "kubectl")}, nil
}

// StopKube stops the cluster Kube started, if any, and removes its files.
func StopKube() {
	kube.Lock()
	defer kube.Unlock()
	if kube.cluster != nil {
		stopKube(kube.cluster.Dir)
		kube.cluster = nil
	}
}

func stopKube(dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(RepoRoot(), "hack", "kube-down.sh"), dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "hack/kube-down.sh %s: %v\n", dir, err)
		return
	}
	_ = os.RemoveAll(dir)
}

// Run runs kubectl with the admin kubeconfig and returns its standard
// output; a failure fails the test.
func (c *Cluster) Run(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	return Command(t, stdin, []string{"KUBECONFIG=" + c.Kubeconfig}, c.Kubectl, args...)
}

// Command runs a program with extra environment and returns its standard
// output; a failure fails the test with standard error. It is bounded to
// two minutes.
func Command(t testing.TB, stdin string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// Token returns the bearer token of user ("admin" or "tester") from the
// cluster's token file.
func (c *Cluster) Token(t testing.TB, user string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.Dir, "tokens.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ",")
		if len(f) >= 2 && f[1] == user {
			return f[0]
		}
	}
	t.Fatalf("no user %q in %s/tokens.csv", user, c.Dir)
	return ""
}

// KubeconfigFor writes a kubeconfig that authenticates with token into a
// test temp directory and returns its path.
func (c *Cluster) KubeconfigFor(t testing.TB, token, namespace string) string {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(c.Dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	server := strings.TrimSpace(c.Run(t, "", "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"))
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: test
  user:
    token: %s
contexts:
- name: test
  context: {cluster: test, user: test, namespace: %s}
current-context: test
`, server, base64.StdEncoding.EncodeToString(ca), token, namespace)
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil { //nolint:gosec // p is in t.TempDir()
		t.Fatal(err)
	}
	return p
}
