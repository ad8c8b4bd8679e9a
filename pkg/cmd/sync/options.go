package synccmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/airgap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/mapflags"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/registryflags"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/verifyflags"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/version"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/syncer"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// The --from values the command itself decides on.
var (
	fromHelm = inventory.HelmOrigin{}.Name()
	fromFile = inventory.FileOrigin{}.Name()
)

// FromValues are the accepted --from values, for shell completion.
func FromValues() []string { return inventory.Names() }

// Options are the inputs diff and sync share.
type Options struct {
	f *factory.Factory

	SDR      factory.SDRFlags
	Source   factory.SourceFlags
	Map      mapflags.Flags
	Registry registryflags.Flags
	Verify   verifyflags.Flags

	From           []string
	ImagesFile     string
	AtlanURL       string
	AtlanTimeout   time.Duration
	AllowedSources []string
	KeepPath       bool
	Concurrency    int
	Why            bool
	// ToBundle is sync --to-bundle: the directory a bundle is written to
	// instead of pushing and mapping.
	ToBundle string
	// SinceLock is --since-lock: the inside's lock an export leaves out
	// what it holds by.
	SinceLock string
	// SplitSize is --split-size: the largest part of a tar bundle.
	SplitSize string
	splitSize int64
	// FromBundle is --from-bundle: the bundle read in place of the source
	// registries and the latest-releases endpoint.
	FromBundle string

	// Filled by Complete.
	inst     *sdr.Installation
	kube     kubernetes.Interface
	settings *sdr.Settings
	mapObj   store.Object
	bundle   *airgap.Source
	// Config is the run the flags complete into.
	Config syncer.Config
}

func (o *Options) addFlags(fs *pflag.FlagSet) {
	o.SDR.AddFlags(fs)
	o.Source.AddFlags(fs)
	o.Map.AddFlags(fs)
	o.Registry.AddFlags(fs)
	o.Verify.AddFlags(fs)
	fs.StringSliceVar(&o.From, "from", nil, "where the needed images come from: "+strings.Join(inventory.Names(), ", ")+" (default: "+inventory.DefaultsHelp()+")")
	fs.StringVar(&o.ImagesFile, "images-file", "", "images to mirror, one reference per line, '#' comments, or the JSON list images -o json prints (an inventory taken elsewhere, whys kept); - reads standard input")
	fs.StringVar(&o.AtlanURL, "atlan-url", "", "your Atlan tenant, https://<tenant>.atlan.com, for the latest-releases the next reconcile wants (token: ATLAN_API_TOKEN; default: ATLAN_URL)")
	fs.DurationVar(&o.AtlanTimeout, "atlan-timeout", 30*time.Second, "time limit for each latest-releases request")
	fs.StringSliceVar(&o.AllowedSources, "allowed-source", inventory.DefaultAllowedSources, "registry/path prefixes images may be mirrored from; others are reported and skipped")
	fs.BoolVar(&o.KeepPath, "keep-path", false, "name new destinations <target>/<whole source path> instead of <target>/<image name>")
	fs.IntVar(&o.Concurrency, "concurrency", mirror.DefaultConcurrency, "images, and separately blobs, handled at once")
	fs.BoolVar(&o.Why, "why", false, "show why each image is needed")
	fs.StringVar(&o.FromBundle, "from-bundle", "", "read the images, their signatures and the needed set from the bundle in this directory (sync --to-bundle) instead of the source registries and latest-releases; every file is checked first")
}

// usesCluster says whether the SDR's settings and images come from the
// cluster: not with --config or --values, not when the map and target are
// all given by flags and helm is not asked for, and not for an explicit
// list of images (--from or --images-file). --atlan-url adds what the next
// reconcile wants to the cluster's images; it does not replace the
// cluster's settings.
func (o *Options) usesCluster() bool {
	if o.ToBundle != "" {
		return false
	}
	if slices.Contains(o.From, fromHelm) {
		return true
	}
	if o.Source.Configured() {
		return false
	}
	return (!o.Map.Explicit() || o.SDR.Target == "") && len(o.From) == 0 && o.ImagesFile == ""
}

// Validate checks the flag values and combinations.
func (o *Options) Validate() error {
	for _, s := range o.From {
		if _, ok := inventory.Lookup(s); !ok {
			return fmt.Errorf("--from %q: must be one of %s", s, strings.Join(inventory.Names(), ", "))
		}
	}
	if o.Concurrency < 1 {
		return fmt.Errorf("--concurrency %d: must be at least 1", o.Concurrency)
	}
	if o.SDR.Target != "" {
		if err := plan.CheckTarget(o.SDR.Target); err != nil {
			return err
		}
	}
	if o.AtlanTimeout <= 0 {
		return fmt.Errorf("--atlan-timeout %s: must be positive", o.AtlanTimeout)
	}
	if slices.Contains(o.From, fromFile) && o.ImagesFile == "" {
		return errors.New("--from file needs --images-file FILE (or - for standard input)")
	}
	if slices.Contains(o.From, fromHelm) && o.Source.Configured() {
		return errors.New("--from helm reads the cluster; it cannot be combined with --config or --values")
	}
	if err := o.Registry.Validate(); err != nil {
		return err
	}
	if o.Map.Component != "" && o.Map.Key == "" {
		return errors.New("--objectstore-component needs --image-map-path")
	}
	importing := ""
	if o.FromBundle != "" {
		importing = "--from-bundle"
	}
	if err := o.Verify.Validate(importing); err != nil {
		return err
	}
	if o.FromBundle != "" {
		switch {
		case o.ToBundle != "":
			return errors.New("--from-bundle cannot be combined with --to-bundle")
		case len(o.Registry.Mirrors) > 0:
			return errors.New("--registry-mirror cannot be combined with --from-bundle: the bundle is where sources are read")
		}
	}
	return nil
}

// Complete reads the settings, opens and reads the map, and fills Config.
func (o *Options) Complete(ctx context.Context) error {
	if o.AtlanURL == "" {
		o.AtlanURL, _ = o.f.LookupEnv("ATLAN_URL")
	}
	if o.FromBundle != "" {
		// Every file is checked before anything else is done.
		b, err := airgap.Open(ctx, o.FromBundle)
		if err != nil {
			return err
		}
		o.bundle = b
	}
	in := inventory.Input{
		UsesCluster:    o.usesCluster(),
		AtlanURL:       o.AtlanURL,
		Timeout:        o.AtlanTimeout,
		AllowedSources: o.AllowedSources,
		ImagesFile:     o.ImagesFile,
		Stdin:          o.f.IO.In,
		Version:        version.Get().Version,
	}
	if o.bundle != nil {
		in.Bundle = syncer.BundleNeeds(o.bundle)
	}
	if len(o.From) == 0 {
		o.From = inventory.Defaults(in)
		if len(o.From) == 0 {
			return errors.New("no images to look at: pass --images-file, --atlan-url (or ATLAN_URL), --from-bundle, or run against the SDR's cluster")
		}
	}
	if o.ToBundle != "" {
		// An export has no SDR, map or target: the inside decides those.
		o.settings = &sdr.Settings{}
	} else {
		if err := o.readSettings(ctx); err != nil {
			return err
		}
		if err := o.openMap(ctx); err != nil {
			return err
		}
	}
	c := &o.Config
	c.Log = o.f.Logger()
	var err error
	if c.ImageMap, err = syncer.LoadMap(ctx, o.mapObj, c.Log); err != nil {
		return err
	}
	c.Map, c.Target, c.KeepPath, c.Installation = o.mapObj, o.settings.Target, o.KeepPath, o.inst
	c.MapKey = o.settings.ImageMapPath
	if o.Map.File != "" {
		c.MapKey = lastPath(o.Map.File)
	}
	// The origins are read in their listed order, whatever the order of
	// --from.
	for _, og := range inventory.Origins {
		if slices.Contains(o.From, og.Name()) {
			c.Origins = append(c.Origins, og)
		}
	}
	if slices.Contains(o.From, fromHelm) && o.inst != nil {
		sel, err := o.SDR.Selector()
		if err != nil {
			return err
		}
		in.Cluster = &inventory.Cluster{Installation: o.inst, Kube: o.kube, AllNamespaces: o.SDR.AllNamespaces, Selector: sel}
	}
	in.Token, _ = o.f.LookupEnv("ATLAN_API_TOKEN")
	c.Input, c.AllowedSources = in, o.AllowedSources
	c.OnSkipped = func(s inventory.Skipped) {
		o.f.Warnf("latest-releases entry %d (%s %s) skipped: %s", s.Index, s.App, s.Image, s.Reason)
	}
	if c.Registry, err = o.Registry.Options(); err != nil {
		return err
	}
	if o.bundle != nil {
		c.Registry = append(c.Registry, o.bundle.Registry()...)
		c.Bundle = o.bundle
	}
	c.Concurrency = o.Concurrency
	return nil
}

// close closes the map Complete opened.
func (o *Options) close() {
	if o.mapObj != nil {
		_ = o.mapObj.Close()
	}
	if o.bundle != nil {
		_ = o.bundle.Close()
	}
}

func (o *Options) readSettings(ctx context.Context) error {
	log := o.f.Logger()
	switch {
	case o.usesCluster():
		// Find logs where each setting was found.
		inst, kube, err := o.SDR.Find(ctx, o.f, &o.Map)
		if err != nil {
			return err
		}
		o.inst, o.kube, o.settings = inst, kube, inst.Settings
		o.f.UseSecrets(inst.Secrets)
	case o.Source.Configured():
		s, err := o.Source.Settings(&o.SDR, &o.Map)
		if err != nil {
			return err
		}
		o.settings = s
		for k, v := range s.From {
			log.Debug("setting", "name", k, "from", v)
		}
	default:
		o.settings = &sdr.Settings{ImageMapPath: o.Map.Key, Target: o.SDR.Target, Bucket: o.Map.Bucket}
	}
	return nil
}

// openMap opens the map the SDR reads. Without an image map path the SDR
// uses the prefix rewrite, and a target is required.
func (o *Options) openMap(ctx context.Context) error {
	obj, err := o.f.OpenSettingsMap(ctx, &o.Map, o.settings)
	if err != nil {
		return err
	}
	if obj == nil {
		o.f.Logger().Debug("no image map configured: the SDR uses the prefix rewrite", "target", o.settings.Target)
		return nil
	}
	o.mapObj = obj
	return nil
}

// skippedError makes skipped latest-releases entries fail the run once the
// rest is done: they were reported one by one, and a scheduled run must not
// look healthy while Atlan announces images it cannot mirror.
func skippedError(r *syncer.Run) error {
	if n := len(announced(r)); n > 0 {
		return fmt.Errorf("%s skipped (see the warnings above); the other images were handled", ui.Count(n, "latest-releases entry was", "latest-releases entries were"))
	}
	return nil
}

// announced are the skipped latest-releases entries: Atlan announces them
// for the next reconcile.
func announced(r *syncer.Run) []inventory.Skipped {
	var out []inventory.Skipped
	for _, s := range r.Skipped {
		if s.Announced {
			out = append(out, s)
		}
	}
	return out
}

// see names where the output shows an image's field: the table's column,
// or the JSON and YAML field.
func (o *Options) see(column, field string) string {
	if o.f.Global.Output == ui.FormatTable {
		return "the " + column + " column"
	}
	return fmt.Sprintf("each image's %q", field)
}

func lastPath(p string) string {
	if i := strings.LastIndexAny(p, "/\\"); i >= 0 {
		return p[i+1:]
	}
	return p
}
