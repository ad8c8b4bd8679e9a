package factory

import (
	"bytes"
	"context"
	"errors"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/core"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// Factory is handed to the commands that reach a cluster or a bucket: the
// core factory, and the openers of both as functions tests replace.
type Factory struct {
	*core.Factory
	ConfigFlags *genericclioptions.ConfigFlags

	// OpenBucket opens an object in a bucket; tests replace it.
	OpenBucket func(ctx context.Context, bucketURL, key string, opts ...store.Option) (store.Object, error)

	// KubeClients returns API clients for the kubeconfig flags; tests
	// replace it.
	KubeClients func() (kubernetes.Interface, dynamic.Interface, error)
	// Secrets resolves secretKeyRef items of an objectstore component
	// (Kubernetes Secrets in the SDR's namespace); nil when no cluster is
	// available, and then such a component cannot be opened. Commands set
	// it with UseSecrets.
	Secrets store.SecretGetter
}

// UseSecrets adopts s, the secrets of the installed SDR, for opening
// objectstore components. The first secrets adopted stay: one run reads one
// SDR, and secrets a test or caller set beforehand win. A nil s changes
// nothing.
func (f *Factory) UseSecrets(s store.SecretGetter) {
	if f.Secrets == nil && s != nil {
		f.Secrets = s
	}
}

// New returns a factory over the given streams and environment.
func New(streams genericiooptions.IOStreams, lookupEnv func(string) (string, bool)) *Factory {
	return wrap(core.New(streams, lookupEnv))
}

func wrap(c *core.Factory) *Factory {
	f := &Factory{
		Factory:     c,
		ConfigFlags: genericclioptions.NewConfigFlags(true),
		OpenBucket:  store.OpenBucket,
	}
	f.KubeClients = f.kubeClients
	return f
}

// errNoCluster is what a test factory's KubeClients returns until the test
// gives it clients.
var errNoCluster = errors.New("no cluster in this test: set the factory's KubeClients")

// NewTest returns a factory for tests of commands: empty standard input,
// standard output and error in the returned buffers (not terminals, so no
// colour and no progress bars), only the variables of env in the
// environment, and no cluster until the test sets KubeClients.
func NewTest(env map[string]string) (f *Factory, out, errOut *bytes.Buffer) {
	c, out, errOut := core.NewTest(env)
	f = wrap(c)
	f.KubeClients = func() (kubernetes.Interface, dynamic.Interface, error) { return nil, nil, errNoCluster }
	return f, out, errOut
}
