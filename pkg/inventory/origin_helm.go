package inventory

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// HelmOrigin is the images in the rendered manifests and hooks of the SDR
// release and of its connector app releases.
type HelmOrigin struct{}

// Name is "helm".
func (HelmOrigin) Name() string { return "helm" }

// DefaultWhen is when the SDR is read from its cluster.
func (HelmOrigin) DefaultWhen() string { return "when the SDR is read from a cluster" }

// Default reports whether the SDR is read from its cluster.
func (HelmOrigin) Default(in Input) bool { return in.UsesCluster }

// Needs reads the releases of in.Cluster.
func (HelmOrigin) Needs(ctx context.Context, in Input) (Found, error) {
	if in.Cluster == nil {
		return Found{}, fmt.Errorf("%s helm needs the SDR's cluster: drop %s/%s", setting.From, setting.Config, setting.Values)
	}
	inv := New()
	if err := inv.AddCluster(ctx, *in.Cluster); err != nil {
		return Found{}, err
	}
	return Found{Items: inv.Items()}, nil
}

// Cluster is an SDR found in its cluster and how its apps are chosen.
type Cluster struct {
	Installation *sdr.Installation
	Kube         kubernetes.Interface
	// AllNamespaces looks for apps in every namespace.
	AllNamespaces bool
	// Selector chooses the apps by their release records' labels; nil:
	// every release in the SDR's namespace.
	Selector labels.Selector
}

// AddCluster adds the images of the SDR release and of its apps. The SDR
// itself is always in, whatever the selector says.
func (inv *Inventory) AddCluster(ctx context.Context, c Cluster) error {
	apps, err := c.Installation.Apps(ctx, c.Kube, c.AllNamespaces, c.Selector)
	if err != nil {
		return err
	}
	seen := false
	for _, r := range apps {
		seen = seen || r.Ref() == c.Installation.Record.Ref()
		if err := inv.AddRelease(r.Release); err != nil {
			return err
		}
	}
	if !seen {
		return inv.AddRelease(c.Installation.Record.Release)
	}
	return nil
}
