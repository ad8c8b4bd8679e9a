package store

import (
	"context"
	"net/url"

	"gocloud.dev/blob"
)

// provider is one object-storage service: how its Dapr components and
// bucket URLs are opened, how its objects carry a version, and how it
// makes a write conditional. Adding a service is one file defining its
// provider and one line in providers.
type provider struct {
	// scheme is its bucket URL scheme, and its name in errors.
	scheme string
	// componentTypes are the Dapr binding types it opens.
	componentTypes []string
	// openComponent opens the bucket a component describes and names it
	// as a bucket URL would, without credentials.
	openComponent func(ctx context.Context, s *settings, o *openOptions) (b *blob.Bucket, name string, err error)
	// openURL opens a bucket URL of its scheme with this package's HTTP
	// clients (the default gocloud.dev openers take none).
	openURL func(ctx context.Context, u *url.URL, o *openOptions) (*blob.Bucket, error)
	// version is the object's version from the response that carried its
	// content, or "" when the server sent none.
	version func(r *blob.Reader) string
	// checkRead, when set, tells whether content read matches its version;
	// a mismatch is a read torn by a concurrent write.
	checkRead func(version string, data []byte) bool
	// precondition makes the upload request conditional on v.
	precondition func(as func(any) bool, v Version) error
	// isConflict recognises a failed precondition in its terms.
	isConflict func(err error) bool
}

// providers are the object-storage services, in the order SupportedSchemes
// lists their schemes.
var providers = []*provider{s3Provider, gcsProvider, azureProvider}

func providerForScheme(scheme string) *provider {
	for _, p := range providers {
		if p.scheme == scheme {
			return p
		}
	}
	return nil
}

func providerForComponent(typ string) *provider {
	for _, p := range providers {
		for _, t := range p.componentTypes {
			if t == typ {
				return p
			}
		}
	}
	return nil
}
