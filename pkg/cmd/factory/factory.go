package factory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"
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

// MapFlags locate the image map: a local file, or a key in a bucket given
// by URL or by the SDR's Dapr objectstore component.
type MapFlags struct {
	File      string
	Bucket    string
	Component string
	Key       string
	// CAFile holds CA certificates trusted for the bucket's TLS.
	CAFile string
}

// AddFlags registers --map, --bucket, --objectstore-component and
// --image-map-path.
func (m *MapFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&m.File, "map", "", "image map in a local file")
	fs.StringVar(&m.Bucket, "bucket", "", "object-storage bucket holding the image map, as a URL: "+
		"s3://bucket?region=R[&endpoint=URL&use_path_style=true], gs://bucket, azblob://container, file:///dir or mem://; "+
		"credentials come from the provider's usual environment")
	fs.StringVar(&m.Component, "objectstore-component", "", "file holding the SDR's Dapr objectstore Component (bindings.aws.s3, bindings.azure.blobstorage, bindings.gcp.bucket, …) to open the bucket with its settings and credentials")
	fs.StringVar(&m.Key, "image-map-path", "", "object key of the image map in the bucket (the SDR's image_map_path)")
	fs.StringVar(&m.CAFile, "bucket-ca-file", "", "PEM file of CA certificates trusted for the object store's TLS, besides the system's: "+
		"an S3-compatible server with a private CA, or a TLS-inspecting proxy")
}

// StoreOptions are the options every bucket is opened with.
func (m *MapFlags) StoreOptions() []store.Option {
	return []store.Option{store.WithCAFile(m.CAFile)}
}

// Configured reports whether a map location was given.
func (m *MapFlags) Configured() bool { return m.File != "" || m.Bucket != "" || m.Component != "" }

// Validate checks the flag combination.
func (m *MapFlags) Validate() error {
	switch {
	case m.File != "" && (m.Bucket != "" || m.Component != "" || m.Key != ""):
		return errors.New("--map cannot be combined with --bucket, --objectstore-component or --image-map-path: give one location")
	case m.Bucket != "" && m.Component != "":
		return errors.New("--bucket cannot be combined with --objectstore-component: give one bucket")
	case m.Bucket != "" && m.Key == "":
		return errors.New("--bucket needs --image-map-path: the object key of the image map in the bucket")
	case m.Component != "" && m.Key == "":
		return errors.New("--objectstore-component needs --image-map-path: the object key of the image map in the bucket")
	case m.Key != "" && m.Bucket == "" && m.Component == "":
		return errors.New("--image-map-path needs --bucket or --objectstore-component: the bucket that holds the map")
	}
	return nil
}

// Open opens the configured map object.
func (m *MapFlags) Open(ctx context.Context, f *Factory) (store.Object, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if m.File != "" {
		return store.File(m.File), nil
	}
	if m.Component != "" {
		data, err := os.ReadFile(m.Component)
		if err != nil {
			return nil, fmt.Errorf("reading --objectstore-component: %w", err)
		}
		c, err := store.ParseComponent(data)
		if err != nil {
			return nil, fmt.Errorf("--objectstore-component %q: %w", m.Component, err)
		}
		f.Logger().Debug("opening the bucket of a Dapr component", "component", c.Name, "type", c.Type, "key", m.Key)
		obj, err := store.OpenComponent(ctx, c, m.Key, f.Secrets, m.StoreOptions()...)
		if err == nil {
			f.Logger().Debug("opened image map", "url", obj.URL())
		}
		return obj, err
	}
	if m.Bucket == "" {
		return nil, errors.New("no image map given: pass --map FILE, or --bucket URL (or --objectstore-component FILE) with --image-map-path KEY")
	}
	obj, err := f.OpenBucket(ctx, m.Bucket, m.Key, m.StoreOptions()...)
	if err == nil {
		f.Logger().Debug("opened image map", "url", obj.URL())
	}
	return obj, err
}
