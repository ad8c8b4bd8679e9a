package mapcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// NewCmdMap returns the map command with its verbs, which share the flags
// locating the map.
func NewCmdMap(f *factory.Factory) *cobra.Command {
	loc := &factory.MapLocation{}
	cmd := &cobra.Command{
		Use:   "map",
		Short: "Read, check and edit the SDR's image map",
		Long: `Read, check and edit the image map the SDR reads from its object-storage bucket.

Without --map, --bucket or --objectstore-component, the map is the installed SDR's:
its bucket (the Dapr objectstore component, credentials from its Secrets) and image
map path are read from its Helm release in the namespace of -n, or from a Docker/Podman
SDR's --config. --bucket or --image-map-path alone override what the SDR says.

Edits keep comments, key order, unknown keys and the release: block, write keys and
values double-quoted, and replace the map in one write: a map that does not parse, or
an edit that would leave problems in it, writes nothing.`,
		Example: strings.ReplaceAll(`  # Show the entries of the map the SDR in namespace atlan reads
  NAME map get -n atlan

  # Show the entries of a local map
  NAME map get --map image-map.yaml

  # Check the map in a bucket
  NAME map validate --bucket file:///srv/sdr --image-map-path sdr/image-map.yaml

  # Map every tag of a repository, then one tag to an approved build
  NAME map set atlanhq/atlan-teradata-app registry.example.com/atlan/atlan-teradata-app --map image-map.yaml
  NAME map set atlanhq/atlan-teradata-app:3.1.4 registry.example.com/atlan/teradata:3.1.4-approved --map image-map.yaml`, "NAME", f.Name),
		Args: cobra.NoArgs,
	}
	loc.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(NewCmdGet(f, loc, nil), NewCmdValidate(f, loc, nil), NewCmdSet(f, loc, nil), NewCmdRemove(f, loc, nil))
	return cmd
}

// Listing is the JSON/YAML form of map get.
type Listing struct {
	URL     string            `json:"url"`
	Entries []ListingEntry    `json:"entries"`
	Release *imagemap.Release `json:"release,omitempty"`
}

// ListingEntry is one map entry with the rule it applies by.
type ListingEntry struct {
	Source      string        `json:"source"`
	Destination string        `json:"destination"`
	Rule        imagemap.Rule `json:"rule"`
}

// GetOptions are the inputs of map get.
type GetOptions struct {
	f        *factory.Factory
	Location *factory.MapLocation
	Raw      bool

	obj store.Object
}

// NewCmdGet returns map get, reading the map at loc. runF, when not nil, is
// called with the completed options instead of Run; it then owns the opened
// map.
func NewCmdGet(f *factory.Factory, loc *factory.MapLocation, runF func(*GetOptions) error) *cobra.Command {
	o := &GetOptions{f: f, Location: loc}
	cmd := &cobra.Command{
		Use:   "get",
		Short: "Print the entries of the image map",
		Example: strings.ReplaceAll(`  # Entries as a table, or as JSON
  NAME map get --map image-map.yaml
  NAME map get --map image-map.yaml -o json

  # The stored file itself, comments included
  NAME map get --bucket file:///srv/sdr --image-map-path sdr/image-map.yaml --raw`, "NAME", f.Name),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runVerb(cmd.Context(), o, runF) },
	}
	cmd.Flags().BoolVar(&o.Raw, "raw", false, "print the stored map as it is, comments included")
	return cmd
}

// Complete opens the map the location flags name.
func (o *GetOptions) Complete(ctx context.Context) error {
	var err error
	o.obj, err = o.Location.Open(ctx, o.f)
	return err
}

// Validate has nothing left to check: the location flags are checked as
// the map is opened.
func (o *GetOptions) Validate() error { return nil }

func (o *GetOptions) object() store.Object { return o.obj }

// Run prints the map.
func (o *GetOptions) Run(ctx context.Context) error {
	obj := o.obj
	defer obj.Close()
	if o.Raw {
		data, _, err := obj.Read(ctx)
		if err != nil {
			return o.Location.Map.MissingMap(fmt.Errorf("reading image map: %w", err), obj.URL())
		}
		_, err = o.f.IO.Out.Write(data)
		return err
	}
	m, err := store.LoadMap(ctx, obj)
	if err != nil {
		return o.Location.Map.MissingMap(err, obj.URL())
	}
	l := Listing{URL: obj.URL(), Entries: []ListingEntry{}, Release: m.Release()}
	for _, e := range m.Entries() {
		l.Entries = append(l.Entries, ListingEntry{Source: e.Source, Destination: e.Destination, Rule: e.Rule()})
	}
	return o.f.Print(l, func(w io.Writer, s *ui.Styles) error {
		rows := make([][]string, len(l.Entries))
		for i, e := range l.Entries {
			rows[i] = []string{e.Source, e.Destination, string(e.Rule)}
		}
		if err := s.Table(w, []string{"SOURCE", "DESTINATION", "RULE"}, rows, nil); err != nil {
			return err
		}
		if l.Release != nil {
			_, err := fmt.Fprintf(w, "\nrelease: name=%q storage_namespace=%q\n", l.Release.Name, l.Release.StorageNamespace)
			return err
		}
		return nil
	})
}

// ValidateOptions are the inputs of map validate.
type ValidateOptions struct {
	f        *factory.Factory
	Location *factory.MapLocation

	obj store.Object
}

// Report is the JSON/YAML form of map validate.
type Report struct {
	URL      string             `json:"url"`
	Valid    bool               `json:"valid"`
	Entries  int                `json:"entries"`
	Problems []imagemap.Problem `json:"problems"`
}

// NewCmdValidate returns map validate, checking the map at loc. runF, when
// not nil, is called with the completed options instead of Run; it then
// owns the opened map.
func NewCmdValidate(f *factory.Factory, loc *factory.MapLocation, runF func(*ValidateOptions) error) *cobra.Command {
	o := &ValidateOptions{f: f, Location: loc}
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the image map for problems the SDR would trip over",
		Long: `Check the image map: YAML syntax, duplicate keys, empty or unparsable image
references, values that are not strings, a bare repository key whose value carries a
tag or digest (the SDR appends the source tag to it), a key with a tag or digest whose
value has neither (the SDR would pull ":latest"), a value that is a registry host with
no repository, two keys naming the same image under two spellings ("atlanhq/x" and
"docker.io/atlanhq/x"; the SDR matches keys literally), and release: fields the SDR
does not know. Each problem is printed with its line; the exit code is 1 when there is
any.`,
		Example: strings.ReplaceAll(`  NAME map validate --map image-map.yaml`, "NAME", f.Name),
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runVerb(cmd.Context(), o, runF) },
	}
}

// Complete opens the map the location flags name.
func (o *ValidateOptions) Complete(ctx context.Context) error {
	var err error
	o.obj, err = o.Location.Open(ctx, o.f)
	return err
}

// Validate has nothing left to check: the location flags are checked as
// the map is opened.
func (o *ValidateOptions) Validate() error { return nil }

func (o *ValidateOptions) object() store.Object { return o.obj }

// Run validates and reports.
func (o *ValidateOptions) Run(ctx context.Context) error {
	obj := o.obj
	defer obj.Close()
	m, err := store.LoadMap(ctx, obj)
	if err != nil {
		return o.Location.Map.MissingMap(err, obj.URL())
	}
	r := Report{URL: obj.URL(), Entries: m.Len(), Problems: m.Audit()}
	r.Valid = len(r.Problems) == 0
	if r.Problems == nil {
		r.Problems = []imagemap.Problem{}
	}
	err = o.f.Print(r, func(w io.Writer, s *ui.Styles) error {
		if r.Valid {
			_, err := fmt.Fprintf(w, "%s image map %q: %d entries, no problems\n", s.OK.Render("valid"), r.URL, r.Entries)
			return err
		}
		for _, p := range r.Problems {
			if _, err := fmt.Fprintf(w, "%s:%d: %s\n", r.URL, p.Line, p.Msg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n := len(r.Problems); n > 0 {
		return fmt.Errorf("image map %q: %d problem%s", r.URL, n, plural(n))
	}
	return nil
}

// SetOptions are the inputs of map set.
type SetOptions struct {
	f                   *factory.Factory
	Location            *factory.MapLocation
	Source, Destination string
	DryRun              bool

	obj store.Object
}

// NewCmdSet returns map set, editing the map at loc. runF, when not nil, is
// called with the completed options instead of Run; it then owns the
// opened map.
func NewCmdSet(f *factory.Factory, loc *factory.MapLocation, runF func(*SetOptions) error) *cobra.Command {
	o := &SetOptions{f: f, Location: loc}
	cmd := &cobra.Command{
		Use:   "set SOURCE DESTINATION",
		Short: "Map a source image or repository to its mirror",
		Long: `Add or change one entry. A bare repository SOURCE maps every tag of it and needs a
bare repository DESTINATION (the SDR appends the source tag); a SOURCE with a tag or
digest is used verbatim and wins over a repository entry. When SOURCE is in the map
more than once, the copy the SDR uses is set and the others are removed. The map is
created when it does not exist.`,
		Example: strings.ReplaceAll(`  # Every tag of a repository
  NAME map set atlanhq/atlan-teradata-app registry.example.com/atlan/atlan-teradata-app --map image-map.yaml

  # One tag, to a differently named build
  NAME map set atlanhq/atlan-teradata-app:3.1.4 registry.example.com/atlan/teradata:3.1.4-approved --map image-map.yaml

  # Show the change to the map in an S3 bucket without writing it
  NAME map set atlanhq/atlan-teradata-app registry.example.com/atlan/atlan-teradata-app \
      --bucket 's3://sdr-bucket?region=eu-west-1' --image-map-path sdr/image-map.yaml --dry-run`, "NAME", f.Name),
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Source, o.Destination = args[0], args[1]
			return runVerb(cmd.Context(), o, runF)
		},
	}
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "print the change to the map as a unified diff and write nothing")
	return cmd
}

// Complete opens the map the location flags name.
func (o *SetOptions) Complete(ctx context.Context) error {
	var err error
	o.obj, err = o.Location.Open(ctx, o.f)
	return err
}

// Validate has nothing left to check: the location flags are checked as
// the map is opened; the entry is checked against the map
// it goes into, in Run.
func (o *SetOptions) Validate() error { return nil }

func (o *SetOptions) object() store.Object { return o.obj }

// Run edits the map.
func (o *SetOptions) Run(ctx context.Context) error {
	obj := o.obj
	defer obj.Close()
	var (
		change imagemap.Change
		copies int
	)
	res, err := store.Update(ctx, obj, func(m *imagemap.ImageMap) error {
		if k := m.NormalizedKey(o.Source); k != "" {
			o.f.Warnf("key %q names the same image as %q after normalisation; both are kept, the SDR matches keys literally", k, o.Source)
		}
		copies = m.Count(o.Source)
		var err error
		change, err = m.Set(o.Source, o.Destination)
		if err != nil {
			return fmt.Errorf("map set: %w", err)
		}
		return nil
	}, store.DryRun(o.DryRun))
	if err != nil {
		return err
	}
	r := editResult{URL: obj.URL(), Source: o.Source, Destination: o.Destination, Change: change, Entries: res.Map.Len(), Copies: several(copies)}
	return o.f.Print(r.withDryRun(o.DryRun, res, obj), func(w io.Writer, s *ui.Styles) error {
		if o.DryRun {
			return o.f.PrintDiff(w, s, res.Diff(obj.URL()), obj.URL())
		}
		_, err := fmt.Fprintf(w, "%s %s -> %s in %q%s\n", changeStyle(s, change).Render(string(change)), o.Source, o.Destination, obj.URL(), duplicatesNote(copies, 1))
		return err
	})
}

// several is n when the key was in the map more than once, else 0.
func several(n int) int {
	if n > 1 {
		return n
	}
	return 0
}

// duplicatesNote says how many copies of a duplicated key an edit
// removed, keeping kept of them; "" when the key was there once.
func duplicatesNote(copies, kept int) string {
	switch {
	case copies < 2:
		return ""
	case kept == 0:
		return fmt.Sprintf(" (%d copies of the key)", copies)
	}
	removed := copies - kept
	return fmt.Sprintf(" (the key was in the map %d times: removed the %d other %s)", copies, removed, copiesWord(removed))
}

func copiesWord(n int) string {
	if n == 1 {
		return "copy"
	}
	return "copies"
}

type editResult struct {
	URL         string          `json:"url"`
	Source      string          `json:"source"`
	Destination string          `json:"destination,omitempty"`
	Change      imagemap.Change `json:"change"`
	Entries     int             `json:"entries"`
	// Copies is how many entries had the key before the edit, when more
	// than one: set keeps one of them, rm removes them all.
	Copies int     `json:"copies,omitempty"`
	DryRun bool    `json:"dryRun,omitempty"`
	Diff   *string `json:"diff,omitempty"`
}

func (r editResult) withDryRun(dry bool, res *store.Result, obj store.Object) editResult {
	if dry {
		d := res.Diff(obj.URL())
		r.DryRun, r.Diff = true, &d
	}
	return r
}

func changeStyle(s *ui.Styles, c imagemap.Change) lipgloss.Style {
	switch c {
	case imagemap.Added, imagemap.Updated:
		return s.OK
	case imagemap.Removed:
		return s.Warn
	}
	return s.Faint
}

// RemoveOptions are the inputs of map rm.
type RemoveOptions struct {
	f        *factory.Factory
	Location *factory.MapLocation
	Source   string
	DryRun   bool

	obj store.Object
}

// NewCmdRemove returns map rm, editing the map at loc. runF, when not nil,
// is called with the completed options instead of Run; it then owns the
// opened map.
func NewCmdRemove(f *factory.Factory, loc *factory.MapLocation, runF func(*RemoveOptions) error) *cobra.Command {
	o := &RemoveOptions{f: f, Location: loc}
	cmd := &cobra.Command{
		Use:     "rm SOURCE",
		Aliases: []string{"remove"},
		Short:   "Remove the entry for a source image or repository",
		Example: strings.ReplaceAll(`  NAME map rm atlanhq/atlan-teradata-app:3.1.4 --map image-map.yaml

  # Show what would be removed, write nothing
  NAME map rm atlanhq/atlan-teradata-app:3.1.4 --map image-map.yaml --dry-run`, "NAME", f.Name),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Source = args[0]
			return runVerb(cmd.Context(), o, runF)
		},
	}
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "print the change to the map as a unified diff and write nothing")
	return cmd
}

// Complete opens the map the location flags name.
func (o *RemoveOptions) Complete(ctx context.Context) error {
	var err error
	o.obj, err = o.Location.Open(ctx, o.f)
	return err
}

// Validate has nothing left to check: the location flags are checked as
// the map is opened.
func (o *RemoveOptions) Validate() error { return nil }

func (o *RemoveOptions) object() store.Object { return o.obj }

// Run edits the map.
func (o *RemoveOptions) Run(ctx context.Context) error {
	obj := o.obj
	defer obj.Close()
	if _, _, err := obj.Read(ctx); errors.Is(err, store.ErrNotFound) {
		return o.Location.Map.MissingMap(err, obj.URL())
	}
	copies := 0
	res, err := store.Update(ctx, obj, func(m *imagemap.ImageMap) error {
		copies = m.Count(o.Source)
		if err := m.Remove(o.Source); err != nil {
			hint := ""
			if k := m.NormalizedKey(o.Source); k != "" {
				hint = fmt.Sprintf("; did you mean %q?", k)
			}
			return fmt.Errorf("map rm: %w in %q%s", err, obj.URL(), hint)
		}
		return nil
	}, store.DryRun(o.DryRun))
	if err != nil {
		return err
	}
	r := editResult{URL: obj.URL(), Source: o.Source, Change: imagemap.Removed, Entries: res.Map.Len(), Copies: several(copies)}
	return o.f.Print(r.withDryRun(o.DryRun, res, obj), func(w io.Writer, s *ui.Styles) error {
		if o.DryRun {
			return o.f.PrintDiff(w, s, res.Diff(obj.URL()), obj.URL())
		}
		_, err := fmt.Fprintf(w, "%s %s from %q%s\n", s.Warn.Render("removed"), o.Source, obj.URL(), duplicatesNote(copies, 0))
		return err
	})
}

// verb is the lifecycle every map verb's options follow.
type verb interface {
	Complete(ctx context.Context) error
	Validate() error
	Run(ctx context.Context) error
	object() store.Object
}

// runVerb completes and validates o, then hands it to runF (tests) or runs
// it. Run closes the map Complete opened; a failed Validate closes it here.
func runVerb[O verb](ctx context.Context, o O, runF func(O) error) error {
	if err := o.Complete(ctx); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		_ = o.object().Close()
		return err
	}
	if runF != nil {
		return runF(o)
	}
	return o.Run(ctx)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
