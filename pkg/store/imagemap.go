package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
)

// ErrInvalidMap wraps problems found in a map, existing or about to be
// written; nothing is written when it is returned.
var ErrInvalidMap = errors.New("invalid image map")

// LoadMap reads and parses the map in obj. A missing object is ErrNotFound;
// a map that does not parse is an error naming the object and the line.
func LoadMap(ctx context.Context, obj Object) (*imagemap.ImageMap, error) {
	data, err := obj.Read(ctx)
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

// Update reads the map in obj (an absent map starts empty), applies edit,
// validates the result and writes it back. Nothing is written when the
// existing map does not parse, when edit fails, or when the result has
// problems. It returns the new map and whether the bytes changed.
func Update(ctx context.Context, obj Object, edit func(*imagemap.ImageMap) error) (*imagemap.ImageMap, bool, error) {
	old, err := obj.Read(ctx)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, false, fmt.Errorf("reading image map: %w", err)
	}
	m, err := imagemap.Parse(old)
	if err != nil {
		return nil, false, fmt.Errorf("reading image map %q: %w; fix it by hand, nothing was written", obj.URL(), err)
	}
	if err := edit(m); err != nil {
		return nil, false, err
	}
	if ps := m.Validate(); len(ps) > 0 {
		return nil, false, &ProblemsError{URL: obj.URL(), Problems: ps}
	}
	data, err := m.Bytes()
	if err != nil {
		return nil, false, err
	}
	if string(data) == string(old) {
		return m, false, nil
	}
	if err := obj.Write(ctx, data); err != nil {
		return nil, false, fmt.Errorf("writing image map: %w", err)
	}
	return m, true, nil
}
