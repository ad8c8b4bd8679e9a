package synccmd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/registryflags"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// The image sources of --from.
const (
	fromHelm     = "helm"
	fromReleases = "latest-releases"
	fromFile     = "file"
)

var fromValues = []string{fromHelm, fromReleases, fromFile}

// FromValues are the accepted --from values, for shell completion.
func FromValues() []string { return fromValues }

// Options are the inputs diff and sync share.
type Options struct {
	f *factory.Factory

	SDR      factory.SDRFlags
	Source   factory.SourceFlags
	Map      factory.MapFlags
	Registry registryflags.Flags
	Verify   factory.VerifyFlags

	From           []string
	ImagesFile     string
	AtlanURL       string
	AtlanTimeout   time.Duration
	AllowedSources []string
	KeepPath       bool
	Concurrency    int
	Why            bool

	// Filled by Complete.
	inst     *sdr.Installation
	kube     kubernetes.Interface
	settings *sdr.Settings
	mapObj   store.Object
	imageMap *imagemap.ImageMap
	copier   *mirror.Copier
	// copierOpts are added to the copier's options: sync's --overwrite.
	copierOpts []mirror.Option
	skipped    []inventory.Skipped
	ignored    []string
}

func (o *Options) addFlags(fs *pflag.FlagSet) {
	o.SDR.AddFlags(fs)
	o.Source.AddFlags(fs)
	o.Map.AddFlags(fs)
	o.Registry.AddFlags(fs)
	o.Verify.AddFlags(fs)
	fs.StringSliceVar(&o.From, "from", nil, "where the needed images come from: helm, latest-releases, file (default: helm when the SDR is read from a cluster, latest-releases when --atlan-url is set, file when --images-file is set)")
	fs.StringVar(&o.ImagesFile, "images-file", "", "images to mirror, one reference per line, '#' comments; - reads standard input")
	fs.StringVar(&o.AtlanURL, "atlan-url", "", "your Atlan tenant, https://<tenant>.atlan.com, for the latest-releases the next reconcile wants (token: ATLAN_API_TOKEN; default: ATLAN_URL)")
	fs.DurationVar(&o.AtlanTimeout, "atlan-timeout", 30*time.Second, "time limit for each latest-releases request")
	fs.StringSliceVar(&o.AllowedSources, "allowed-source", inventory.DefaultAllowedSources, "registry/path prefixes images may be mirrored from; others are reported and skipped")
	fs.BoolVar(&o.KeepPath, "keep-path", false, "name new destinations <target>/<whole source path> instead of <target>/<image name>")
	fs.IntVar(&o.Concurrency, "concurrency", mirror.DefaultConcurrency, "images, and separately blobs, handled at once")
	fs.BoolVar(&o.Why, "why", false, "show why each image is needed")
}

// usesCluster says whether the SDR's settings and images come from the
// cluster: not with --config or --values, not when the map and target are
// all given by flags and helm is not asked for, and not for an explicit
// list of images (--from or --images-file). --atlan-url adds what the next
// reconcile wants to the cluster's images; it does not replace the
// cluster's settings.
func (o *Options) usesCluster() bool {
	if slices.Contains(o.From, fromHelm) {
		return true
	}
	if o.Source.Configured() {
		return false
	}
	explicitMap := o.Map.File != "" || (o.Map.Key != "" && (o.Map.Bucket != "" || o.Map.Component != ""))
	return (!explicitMap || o.SDR.Target == "") && len(o.From) == 0 && o.ImagesFile == ""
}

func (o *Options) validate() error {
	for _, s := range o.From {
		if !slices.Contains(fromValues, s) {
			return fmt.Errorf("--from %q: must be one of %s", s, strings.Join(fromValues, ", "))
		}
	}
	if o.Concurrency < 1 {
		return fmt.Errorf("--concurrency %d: must be at least 1", o.Concurrency)
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
	return nil
}

// complete reads the settings, opens the map, builds the inventory and the
// registry client.
func (o *Options) complete(ctx context.Context) ([]inventory.Item, error) {
	if o.AtlanURL == "" {
		o.AtlanURL, _ = o.f.LookupEnv("ATLAN_URL")
	}
	if len(o.From) == 0 {
		if o.usesCluster() {
			o.From = append(o.From, fromHelm)
		}
		if o.AtlanURL != "" {
			o.From = append(o.From, fromReleases)
		}
		if o.ImagesFile != "" {
			o.From = append(o.From, fromFile)
		}
		if len(o.From) == 0 {
			return nil, errors.New("no images to look at: pass --images-file, --atlan-url (or ATLAN_URL), or run against the SDR's cluster")
		}
	}
	if err := o.readSettings(ctx); err != nil {
		return nil, err
	}
	if err := o.openMap(ctx); err != nil {
		return nil, err
	}
	inv, err := o.inventory(ctx)
	if err != nil {
		return nil, err
	}
	opts, err := o.Registry.Options()
	if err != nil {
		return nil, err
	}
	opts = append(append(opts, mirror.WithConcurrency(o.Concurrency)), o.copierOpts...)
	if o.copier, err = mirror.New(opts...); err != nil {
		return nil, err
	}
	return o.filter(inv.Items()), nil
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
		if o.f.Secrets == nil && inst.Secrets != nil {
			o.f.Secrets = inst.Secrets
		}
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
	obj, err := o.Map.OpenSettings(ctx, o.f, o.settings)
	if err != nil {
		return err
	}
	if obj == nil {
		o.f.Logger().Debug("no image map configured: the SDR uses the prefix rewrite", "target", o.settings.Target)
		return nil
	}
	o.mapObj = obj
	m, err := store.LoadMap(ctx, obj)
	switch {
	case errors.Is(err, store.ErrNotFound):
		o.f.Logger().Debug("the image map does not exist yet", "url", obj.URL())
		m = imagemap.New()
	case err != nil:
		return err
	}
	o.imageMap = m
	return nil
}

// inventory gathers the needed images from every --from source.
func (o *Options) inventory(ctx context.Context) (*inventory.Inventory, error) {
	inv := inventory.New()
	if slices.Contains(o.From, fromHelm) {
		if o.inst == nil {
			return nil, errors.New("--from helm needs the SDR's cluster: drop --config/--values")
		}
		sel, err := o.SDR.Selector()
		if err != nil {
			return nil, err
		}
		apps, err := o.inst.Apps(ctx, o.kube, o.SDR.AllNamespaces, sel)
		if err != nil {
			return nil, err
		}
		seen := false
		for _, r := range apps {
			seen = seen || r.Ref() == o.inst.Record.Ref()
			if err := inv.AddRelease(r.Release); err != nil {
				return nil, err
			}
		}
		if !seen {
			if err := inv.AddRelease(o.inst.Record.Release); err != nil {
				return nil, err
			}
		}
	}
	if slices.Contains(o.From, fromReleases) {
		if o.AtlanURL == "" {
			return nil, errors.New("--from latest-releases needs --atlan-url https://<tenant>.atlan.com (or ATLAN_URL)")
		}
		token, _ := o.f.LookupEnv("ATLAN_API_TOKEN")
		c, err := inventory.NewReleasesClient(o.AtlanURL, inventory.WithToken(token), inventory.WithAllowedSources(o.AllowedSources),
			inventory.WithHTTPClient(&http.Client{Timeout: o.AtlanTimeout}))
		if err != nil {
			return nil, err
		}
		rs, skipped, err := c.Fetch(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range skipped {
			o.f.Warnf("latest-releases entry %d (%s %s) skipped: %s", s.Index, s.App, s.Image, s.Reason)
		}
		o.skipped = skipped
		inv.AddReleases(rs)
	}
	if slices.Contains(o.From, fromFile) {
		r := o.f.IO.In
		if o.ImagesFile != "-" {
			f, err := os.Open(o.ImagesFile)
			if err != nil {
				return nil, fmt.Errorf("reading --images-file: %w", err)
			}
			defer f.Close()
			r = f
		}
		images, err := inventory.ReadImagesFile(r, o.ImagesFile)
		if err != nil {
			return nil, err
		}
		inv.AddFileImages(o.ImagesFile, images)
	}
	if o.imageMap != nil {
		inv.ReverseLookup(o.imageMap)
	}
	return inv, nil
}

// filter keeps the images that may be mirrored: those from an allowed
// source, or already a map destination. Others (third-party images in the
// Helm releases) are left out and listed at -v.
func (o *Options) filter(items []inventory.Item) []inventory.Item {
	var out []inventory.Item
	for _, it := range items {
		src := it.Image
		if it.MappedFrom != "" {
			src = it.MappedFrom
		}
		ref, err := imagemap.ParseReference(src)
		if err == nil && inventory.Allowed(ref, o.AllowedSources) {
			out = append(out, it)
			continue
		}
		o.ignored = append(o.ignored, it.Image)
		o.f.Logger().Debug("not an image to mirror (outside --allowed-source)", "image", it.Image)
	}
	return out
}

// buildPlan makes the plan; offline skips the registries.
func (o *Options) buildPlan(ctx context.Context, items []inventory.Item, offline bool) (*plan.Plan, error) {
	opts := []plan.Option{plan.WithTarget(o.settings.Target), plan.WithKeepPath(o.KeepPath)}
	if o.mapObj != nil {
		opts = append(opts, plan.WithMapURL(o.mapObj.URL()))
	}
	if !offline {
		opts = append(opts, plan.WithRegistry(o.copier))
	}
	// Images seen but not mirrored keep their map entries in use.
	opts = append(opts, plan.WithSeen(o.ignored...))
	for _, s := range o.skipped {
		if s.Image != "" {
			opts = append(opts, plan.WithSeen(s.Image))
		}
	}
	return plan.Build(ctx, items, o.imageMap, opts...)
}

// gate builds the signature gate when p has an image to verify: a sync
// with nothing to do reads no trusted root and fetches nothing through TUF.
func (o *Options) gate(ctx context.Context, p *plan.Plan, overwrite bool) (plan.Gate, error) {
	o.Verify.WarnIfDisabled(o.f)
	if !o.Verify.Enabled || !needsVerify(p, overwrite) {
		return nil, nil
	}
	g, err := verify.NewGate(ctx, o.copier, o.Verify.Options()...)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// needsVerify says whether sync would verify any image of p: those it
// copies or maps (plan.Apply's work).
func needsVerify(p *plan.Plan, overwrite bool) bool {
	for _, it := range p.Images {
		if it.State.NeedsWork(overwrite) {
			return true
		}
	}
	return false
}

// release describes the SDR release for the JSON output and decides the
// map's release: block; nil without a cluster.
func (o *Options) release(mode sdr.BlockMode) *sdr.ReleaseInfo {
	if o.inst == nil {
		return nil
	}
	var current *imagemap.Release
	if o.imageMap != nil {
		current = o.imageMap.Release()
	}
	info := o.inst.Release(mode, current)
	return &info
}

// skippedError makes skipped latest-releases entries fail the run once the
// rest is done: they were reported one by one, and a scheduled run must not
// look healthy while Atlan announces images it cannot mirror.
func (o *Options) skippedError() error {
	if n := len(o.skipped); n > 0 {
		return fmt.Errorf("%d latest-releases entries were skipped (see the warnings above); the other images were handled", n)
	}
	return nil
}
