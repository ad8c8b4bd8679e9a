package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File is an object on the local file system.
func File(path string) Object {
	return &fileObject{path: path, name: path, key: filepath.Base(path)}
}

type fileObject struct {
	path string
	name string // shown in messages
	// root is the bucket directory when the object was opened from a
	// file:// bucket: Sibling keys are then relative to it, as in a bucket.
	root string
	key  string // as given to Sibling
}

func (f *fileObject) objectKey() string { return f.key }

func (f *fileObject) URL() string { return f.name }

func (f *fileObject) Read(_ context.Context) ([]byte, Version, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Version{}, fmt.Errorf("reading %q: %w", f.name, ErrNotFound)
	}
	if err != nil {
		return nil, Version{}, fmt.Errorf("reading %q: %w", f.name, err)
	}
	return b, hashVersion(b), nil
}

// tempFile is the part of *os.File a write uses.
type tempFile interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
	Name() string
}

// createTemp creates the temporary file a write goes to; tests replace it
// to make a write fail part-way.
var createTemp = func(dir, pattern string) (tempFile, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// writeLockStale is how old a write lock file must be before another
// writer breaks it (its writer died); a write takes milliseconds.
const writeLockStale = 30 * time.Second

// Write replaces the file atomically: a temporary file in the same
// directory, synced, then renamed over the old one, keeping its mode. A
// conditional write holds an exclusive lock file beside the target while it
// re-checks the version and renames, so concurrent writers on the same file
// system serialise.
func (f *fileObject) Write(ctx context.Context, data []byte, ifVersion Version) (err error) {
	if f.root != "" {
		// Keys in a bucket may name folders that do not exist yet.
		if err := os.MkdirAll(filepath.Dir(f.path), 0o750); err != nil {
			return fmt.Errorf("writing %q: %w", f.name, err)
		}
	}
	if !ifVersion.any {
		unlock, err := f.lock(ctx)
		if err != nil {
			return err
		}
		defer unlock()
		_, cur, err := f.Read(ctx)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if cur != ifVersion {
			return fmt.Errorf("writing %q: %w", f.name, ErrConflict)
		}
	}
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(f.path); err == nil {
		mode = st.Mode().Perm()
	}
	dir := filepath.Dir(f.path)
	tmp, err := createTemp(dir, "."+filepath.Base(f.path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %q: %w", f.name, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		return fmt.Errorf("writing %q: %w", f.name, err)
	}
	return nil
}

// lock creates ".<name>.writing" beside the file with O_EXCL, which works
// on every OS and on network file systems, waiting while another writer
// holds it and breaking it when it is older than writeLockStale.
func (f *fileObject) lock(ctx context.Context) (func(), error) {
	p := filepath.Join(filepath.Dir(f.path), "."+filepath.Base(f.path)+".writing")
	delay := 2 * time.Millisecond
	for {
		lf, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			_ = lf.Close()
			return func() { _ = os.Remove(p) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("writing %q: taking write lock %q: %w", f.name, p, err)
		}
		if st, serr := os.Stat(p); serr == nil && time.Since(st.ModTime()) > writeLockStale {
			_ = os.Remove(p)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("writing %q: waiting for write lock %q (remove it if no writer runs): %w", f.name, p, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

func (f *fileObject) Sibling(key string) Object {
	if f.root != "" {
		o, err := FileBucket(f.root, key)
		if err == nil {
			return o
		}
	}
	return &fileObject{path: filepath.Join(filepath.Dir(f.path), filepath.FromSlash(key)), name: siblingName(f.name, key), key: key}
}

func (f *fileObject) Close() error { return nil }

func siblingName(name, key string) string {
	i := strings.LastIndexAny(name, `/\`)
	return name[:i+1] + key
}

// FileBucket opens the object at key under the directory dir, as a file://
// bucket does: writes are atomic renames guarded by a lock file.
func FileBucket(dir, key string) (Object, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("bucket directory %q does not exist; create it first", dir)
	}
	clean := filepath.Clean(filepath.FromSlash(key))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("object key %q leaves the bucket directory %q; use a relative key", key, dir)
	}
	p := filepath.Join(dir, clean)
	return &fileObject{path: p, name: "file://" + strings.TrimSuffix(filepath.ToSlash(dir), "/") + "/" + key, root: dir, key: key}, nil
}
