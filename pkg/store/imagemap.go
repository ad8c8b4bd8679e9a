package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
)

// ErrInvalidMap wraps problems found in a map, existing or about to be
// written; nothing is written when it is returned.
var ErrInvalidMap = errors.New("invalid image map")

// LoadMap reads and parses the map in obj. A missing object is ErrNotFound;
// a map that does not parse is an error naming the object and the line.
func LoadMap(ctx context.Context, obj Object) (*imagemap.ImageMap, error) {
	data, _, err := obj.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading image map: %w", err)
	}
	m, err := imagemap.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("reading image map %q: %w", obj.URL(), err)
	}
	return m, nil
}

// ProblemsError lists the problems of a map.
type ProblemsError struct {
	URL      string
	Problems []imagemap.Problem
}

func (e *ProblemsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "image map %q: %s", e.URL, e.Problems[0].Error())
	if n := len(e.Problems) - 1; n > 0 {
		fmt.Fprintf(&b, " (and %d more problem", n)
		if n > 1 {
			b.WriteString("s")
		}
		b.WriteString("; run 'map validate' to list them)")
	}
	return b.String()
}

func (e *ProblemsError) Unwrap() error { return ErrInvalidMap }

// Result is what an Update did.
type Result struct {
	// Map is the map as written (or as it would be, with DryRun).
	Map *imagemap.ImageMap
	// Old and New are the stored bytes before and after; Old is nil when
	// the object did not exist.
	Old, New []byte
	// Changed says whether New differs from Old.
	Changed bool
	// Written says whether New was stored (false when unchanged or DryRun).
	Written bool
	// Attempts counts reads: more than one means another writer got in
	// between and the edit was applied again to its result.
	Attempts int
}

// Diff is a unified diff of Old and New, empty when unchanged.
func (r *Result) Diff(name string) string { return Diff(name, r.Old, r.New) }

// UpdateOption changes how Update and UpdateLock write.
type UpdateOption func(*updateOptions)

type updateOptions struct {
	dryRun      bool
	attempts    int
	backupKey   func(string) string
	backupIsSet bool
}

// DryRun computes the result without writing anything. Default off.
func DryRun(on bool) UpdateOption { return func(o *updateOptions) { o.dryRun = on } }

// MaxAttempts bounds how often Update re-reads and re-applies the edit
// when other writers keep changing the object. Default 20.
func MaxAttempts(n int) UpdateOption { return func(o *updateOptions) { o.attempts = n } }

// Backup copies the previous content to the sibling key backupKey(key)
// before it is replaced; nil keeps no copy (for a bucket with versioning).
// Default for maps: "<key>.bak"; lock files keep no copy.
func Backup(backupKey func(key string) string) UpdateOption {
	return func(o *updateOptions) { o.backupKey, o.backupIsSet = backupKey, true }
}

// BackupKey is the default key of the copy of a map kept before it is
// replaced.
func BackupKey(key string) string { return key + ".bak" }

// Update reads the map in obj (an absent map starts empty), applies edit,
// validates the result and writes it back on condition that nobody wrote
// it in between; when someone did, it re-reads, applies edit again to what
// they wrote, and retries, so concurrent writers adding different entries
// all land. edit may therefore run more than once. Nothing is written when
// the existing map does not parse, when edit fails, when the result has
// problems, or when edit changed nothing (the stored text is kept as it is,
// even where a write would spell it differently). The previous content is
// copied to "<key>.bak" first.
func Update(ctx context.Context, obj Object, edit func(*imagemap.ImageMap) error, opts ...UpdateOption) (*Result, error) {
	o := updateOptions{attempts: 20, backupKey: BackupKey}
	for _, opt := range opts {
		opt(&o)
	}
	var m *imagemap.ImageMap
	res, err := update(ctx, obj, o, func(old []byte) ([]byte, error) {
		var err error
		m, err = imagemap.Parse(old)
		if err != nil {
			return nil, fmt.Errorf("reading image map %q: %w; fix it by hand, nothing was written", obj.URL(), err)
		}
		if err := edit(m); err != nil {
			return nil, err
		}
		if ps := m.Validate(); len(ps) > 0 {
			return nil, &ProblemsError{URL: obj.URL(), Problems: ps}
		}
		edited, err := m.Bytes()
		if err != nil {
			return nil, err
		}
		if unchanged, err := sameAsRendered(old, edited); err != nil || unchanged {
			return old, err
		}
		return edited, nil
	})
	if err != nil {
		return nil, err
	}
	res.Map = m
	return res, nil
}

// sameAsRendered reports whether edited is what old renders to without any
// edit: the edit changed no entry, only the spelling a write would give
// the stored text (quotes, indentation). Such an edit writes nothing, so
// the map, its backup and its lock file stay as they are.
func sameAsRendered(old, edited []byte) (bool, error) {
	m, err := imagemap.Parse(old)
	if err != nil {
		return false, err
	}
	rendered, err := m.Bytes()
	if err != nil {
		return false, err
	}
	return bytes.Equal(rendered, edited), nil
}

// UpdateLock reads the lock file in obj (absent: empty), applies edit and
// writes it back with the same conditional write and retries as Update. A
// lock file that does not parse is never overwritten.
func UpdateLock(ctx context.Context, obj Object, edit func(*imagemap.Lock) error, opts ...UpdateOption) (*Result, error) {
	o := updateOptions{attempts: 20}
	for _, opt := range opts {
		opt(&o)
	}
	return update(ctx, obj, o, func(old []byte) ([]byte, error) {
		l, err := imagemap.ParseLock(old)
		if err != nil {
			return nil, fmt.Errorf("reading lock file %q: %w; fix or remove it, nothing was written", obj.URL(), err)
		}
		if err := edit(l); err != nil {
			return nil, err
		}
		return l.Bytes()
	})
}

// LoadLock reads the lock file in obj; an absent one is empty.
func LoadLock(ctx context.Context, obj Object) (*imagemap.Lock, error) {
	data, _, err := obj.Read(ctx)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("reading lock file: %w", err)
	}
	l, err := imagemap.ParseLock(data)
	if err != nil {
		return nil, fmt.Errorf("reading lock file %q: %w", obj.URL(), err)
	}
	return l, nil
}

// update is the read → merge → validate → conditional write loop.
func update(ctx context.Context, obj Object, o updateOptions, merge func(old []byte) ([]byte, error)) (*Result, error) {
	if o.attempts < 1 {
		o.attempts = 1
	}
	delay := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		old, version, err := obj.Read(ctx)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if errors.Is(err, ErrNotFound) {
			old = nil
		}
		data, err := merge(old)
		if err != nil {
			return nil, err
		}
		res := &Result{Old: old, New: data, Changed: !bytes.Equal(old, data), Attempts: attempt}
		if !res.Changed || o.dryRun {
			return res, nil
		}
		if old != nil && o.backupKey != nil {
			bak := obj.Sibling(o.backupKey(keyOf(obj)))
			if err := bak.Write(ctx, old, Any); err != nil {
				return nil, fmt.Errorf("keeping the previous version before replacing it: %w; nothing was replaced", err)
			}
		}
		err = obj.Write(ctx, data, version)
		if err == nil {
			res.Written = true
			return res, nil
		}
		if !errors.Is(err, ErrConflict) {
			return nil, err
		}
		if attempt >= o.attempts {
			return nil, fmt.Errorf("%w; gave up after %d attempts while other writers kept changing it, try again", err, attempt)
		}
		// Jittered exponential backoff spreads colliding writers apart.
		wait := delay/2 + rand.N(delay) //nolint:gosec // jitter needs no cryptographic randomness
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		delay = min(2*delay, time.Second)
	}
}

// keyOf is the key a Sibling call needs to address obj's own neighbour.
func keyOf(obj Object) string {
	if k, ok := obj.(interface{ objectKey() string }); ok {
		return k.objectKey()
	}
	u := obj.URL()
	return u[strings.LastIndex(u, "/")+1:]
}

// Diff renders a unified diff between two versions of an object named
// name; empty when they are equal. nil old is an absent object.
func Diff(name string, old, edited []byte) string {
	if bytes.Equal(old, edited) {
		return ""
	}
	from := name + " (stored)"
	if old == nil {
		from = "/dev/null"
	}
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        lines(old),
		B:        lines(edited),
		FromFile: from,
		ToFile:   name + " (edited)",
		Context:  3,
	})
	if err != nil {
		return ""
	}
	return text
}

// lines splits data after each newline; a last line without one gets one,
// so that every diff line ends in a newline.
func lines(data []byte) []string {
	out := strings.SplitAfter(string(data), "\n")
	if out[len(out)-1] == "" {
		out = out[:len(out)-1]
	} else {
		out[len(out)-1] += "\n"
	}
	return out
}
