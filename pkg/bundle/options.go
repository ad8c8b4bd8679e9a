package bundle

import (
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Remote says how a source is read: the reference to fetch (a registry
// mirror applied) and the remote options (credentials, transport).
// mirror.Copier.SourceRemote is one.
type Remote func(source string) (name.Reference, []remote.Option, error)

type options struct {
	remote      Remote
	concurrency int
	now         func() time.Time
	freeSpace   func(dir string) (uint64, bool, error)
	newID       func() string
	progress    func(Progress)
}

// Progress is what Write reports while it fetches: once, the blobs and
// bytes still to fetch (Blobs, Bytes); then the bytes of each blob as they
// arrive (Bytes), and each blob once written (Blobs 1).
type Progress struct {
	Start bool
	Blobs int
	Bytes int64
}

// WithProgress has Write report its fetching to fn, which may be called
// from several goroutines at once.
func WithProgress(fn func(Progress)) Option {
	return func(o *options) error { o.progress = fn; return nil }
}

func (o *options) report(p Progress) {
	if o.progress != nil {
		o.progress(p)
	}
}

// Option configures Write.
type Option func(*options) error

func defaultOptions() *options {
	return &options{
		remote: func(s string) (name.Reference, []remote.Option, error) {
			ref, err := name.ParseReference(s)
			return ref, nil, err
		},
		concurrency: 4,
		now:         time.Now,
		freeSpace:   freeSpace,
		newID:       randomID,
	}
}

// WithRemote reads sources through r. Default: each source as it is
// written, anonymously, over go-containerregistry's default transport.
func WithRemote(r Remote) Option {
	return func(o *options) error {
		if r == nil {
			return fmt.Errorf("bundle: nil remote")
		}
		o.remote = r
		return nil
	}
}

// WithConcurrency bounds the blobs fetched, and the files hashed, at once.
// Default 4.
func WithConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("concurrency %d: must be at least 1", n)
		}
		o.concurrency = n
		return nil
	}
}

// WithClock sets the time bundle.json records as created. Default
// time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) error { o.now = now; return nil }
}

// withFreeSpace replaces the free-space probe (tests).
func withFreeSpace(fn func(dir string) (uint64, bool, error)) Option {
	return func(o *options) error { o.freeSpace = fn; return nil }
}

func apply(opts []Option) (*options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}
