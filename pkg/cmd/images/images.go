package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/mapflags"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/ui"
)

// Options are the images command's inputs.
type Options struct {
	f   *factory.Factory
	SDR factory.SDRFlags
	Map mapflags.Flags
	Why bool

	// Filled by Complete: the SDR and how its apps are chosen.
	cluster inventory.Cluster
}

// NewCmdImages returns the images command; runF, when set, is called with
// the validated options instead of running them (tests use it).
func NewCmdImages(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{f: f}
	cmd := &cobra.Command{
		Use:   "images",
		Short: "List the images the installed SDR and its connector apps need",
		Long: `List every image in the rendered manifests and hooks of the SDR's Helm release and of
the connector app releases in its namespace: containers, initContainers and
ephemeralContainers of every workload, Pod, Job and CronJob, and any containers list in
a custom resource.

The SDR release is --release; else the one a Flux HelmRelease installs; else
atlan-sdr-<--deployment-name>; else the one release whose chart name matches --sdr-chart.
Helm release records are read with the secret or configmap driver (HELM_DRIVER,
--helm-driver), from --storage-namespace when they are not kept beside the workloads.

With an image map (--map, or --bucket and --image-map-path), an image that is already a
map destination is shown with the source it mirrors.`,
		Example: strings.ReplaceAll(`  # The images of the SDR in namespace atlan, and why each is needed
  NAME images -n atlan --why

  # As JSON, apps chosen by a label on their release records
  NAME images -n atlan --release-selector team=data -o json

  # A Flux-managed SDR whose release records live in flux-system
  NAME images -n atlan --storage-namespace flux-system`, "NAME", f.Name),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			if err := o.Complete(cmd.Context()); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.SDR.AddFlags(cmd.Flags())
	o.Map.AddFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.Why, "why", false, "show why each image is needed: helm:<namespace>/<release>:<kind>/<name>")
	return cmd
}

// Validate checks the flag combination.
func (o *Options) Validate() error {
	if err := o.Map.Validate(); err != nil {
		return err
	}
	_, err := o.SDR.Selector()
	return err
}

// Complete finds the SDR.
func (o *Options) Complete(ctx context.Context) error {
	inst, kube, err := o.SDR.Find(ctx, o.f, &o.Map)
	if err != nil {
		return err
	}
	sel, err := o.SDR.Selector()
	if err != nil {
		return err
	}
	o.cluster = inventory.Cluster{Installation: inst, Kube: kube, AllNamespaces: o.SDR.AllNamespaces, Selector: sel}
	return nil
}

// Run collects the images of the SDR and its apps and prints them.
func (o *Options) Run(ctx context.Context) error {
	inv := inventory.New()
	if err := inv.AddCluster(ctx, o.cluster); err != nil {
		return err
	}
	m, err := o.loadMap(ctx, o.cluster.Installation)
	if err != nil {
		return err
	}
	if m != nil {
		inv.ReverseLookup(m)
	}
	items := inv.Items()
	return o.f.Print(items, func(w io.Writer, s *ui.Styles) error {
		return table(w, s, items, o.Why)
	})
}

func table(w io.Writer, s *ui.Styles, items []inventory.Item, why bool) error {
	headers := []string{"IMAGE", "MAPPED FROM"}
	if why {
		headers = append(headers, "WHY")
	}
	var rows [][]string
	for _, it := range items {
		row := []string{it.Image, it.MappedFrom}
		if it.MappedFrom == "" {
			row[1] = "-"
		}
		if !why {
			rows = append(rows, row)
			continue
		}
		for i, reason := range it.Why {
			if i > 0 {
				row = []string{"", ""}
			}
			rows = append(rows, append(row, reason))
		}
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no images")
		return err
	}
	return s.Table(w, headers, rows, func(_, col int) lipgloss.Style {
		if col == 2 {
			return s.Faint
		}
		return s.Plain
	})
}

// loadMap reads the map named by the flags, else the SDR's own; nil when
// there is none yet. The SDR's map is optional here: when it cannot be
// read, a warning says so and the images are listed without it.
func (o *Options) loadMap(ctx context.Context, inst *sdr.Installation) (*imagemap.ImageMap, error) {
	explicit := o.Map.Configured()
	var obj store.Object
	var err error
	if explicit {
		obj, err = o.Map.Open(ctx, o.f.MapOpener())
	} else {
		o.f.UseSecrets(inst.Secrets)
		obj, err = o.f.OpenSettingsMap(ctx, &o.Map, inst.Settings)
	}
	if err == nil && obj == nil {
		return nil, nil // the SDR rewrites images to its registry prefix
	}
	var m *imagemap.ImageMap
	if err == nil {
		defer obj.Close()
		m, err = store.LoadMap(ctx, obj)
		if errors.Is(err, store.ErrNotFound) {
			if explicit {
				return nil, o.Map.MissingMap(err, obj.URL())
			}
			o.f.Warnf("image map %q does not exist yet: no image is a map destination", obj.URL())
			return nil, nil
		}
	}
	if err != nil && !explicit {
		o.f.Warnf("the SDR's image map was not read (%v): the MAPPED FROM column is empty", err)
		return nil, nil
	}
	return m, err
}
