package mapflags

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/pflag"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// Flags locate the image map: a local file, or a key in a bucket given
// by URL or by the SDR's Dapr objectstore component.
type Flags struct {
	File      string
	Bucket    string
	Component string
	Key       string
	// CAFile holds CA certificates trusted for the bucket's TLS.
	CAFile string
}

// AddFlags registers --map, --bucket, --objectstore-component and
// --image-map-path.
func (m *Flags) AddFlags(fs *pflag.FlagSet) {
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
func (m *Flags) StoreOptions() []store.Option {
	return []store.Option{store.WithCAFile(m.CAFile)}
}

// Configured reports whether a map location was given.
func (m *Flags) Configured() bool { return m.File != "" || m.Bucket != "" || m.Component != "" }

// Validate checks the flag combination.
func (m *Flags) Validate() error {
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

// Opener is what opening a map needs besides the flags.
type Opener struct {
	// OpenBucket opens an object in a bucket; nil is store.OpenBucket.
	OpenBucket func(ctx context.Context, bucketURL, key string, opts ...store.Option) (store.Object, error)
	// Secrets resolves an objectstore component's secretKeyRefs; nil
	// when no cluster is at hand, and then such a component cannot be
	// opened.
	Secrets store.SecretGetter
	// Logger takes debug lines; nil discards them.
	Logger *slog.Logger
}

func (op Opener) logger() *slog.Logger {
	if op.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return op.Logger
}

// Open opens the configured map object.
func (m *Flags) Open(ctx context.Context, op Opener) (store.Object, error) {
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
		op.logger().Debug("opening the bucket of a Dapr component", "component", c.Name, "type", c.Type, "key", m.Key)
		obj, err := store.OpenComponent(ctx, c, m.Key, op.Secrets, m.StoreOptions()...)
		if err == nil {
			op.logger().Debug("opened image map", "url", obj.URL())
		}
		return obj, err
	}
	if m.Bucket == "" {
		return nil, errors.New("no image map given: pass --map FILE, or --bucket URL (or --objectstore-component FILE) with --image-map-path KEY")
	}
	open := op.OpenBucket
	if open == nil {
		open = store.OpenBucket
	}
	obj, err := open(ctx, m.Bucket, m.Key, m.StoreOptions()...)
	if err == nil {
		op.logger().Debug("opened image map", "url", obj.URL())
	}
	return obj, err
}

// Explicit reports whether the flags name a map completely (a file, or a
// bucket or component with its key), so no SDR needs to be read.
func (m *Flags) Explicit() bool {
	return m.File != "" || (m.Key != "" && (m.Bucket != "" || m.Component != ""))
}

// MissingMap turns err, when it says the image map at url does not exist,
// into one line naming the flags that located it, so that every command
// reading a map fails on a missing one the same way; other errors are
// returned as they are.
func (m *Flags) MissingMap(err error, url string) error {
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	switch {
	case m.File != "":
		return fmt.Errorf("--map %q: the image map file does not exist; check the path", m.File)
	case m.Component != "":
		return fmt.Errorf("image map %q does not exist: check --objectstore-component and --image-map-path", url)
	case m.Bucket != "" && m.Key != "":
		return fmt.Errorf("image map %q does not exist: check --bucket and --image-map-path", url)
	case m.Bucket != "":
		return fmt.Errorf("image map %q does not exist: check --bucket", url)
	case m.Key != "":
		return fmt.Errorf("image map %q does not exist: check --image-map-path", url)
	}
	return fmt.Errorf("the SDR's image map %q does not exist yet (sync writes it): pass --map, or --bucket with --image-map-path, to read another", url)
}
