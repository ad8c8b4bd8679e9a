package inventory

import (
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
)

// Item is one needed image.
type Item struct {
	Image string   `json:"image"`
	Why   []string `json:"why"`
	// MappedFrom is set when Image is already the destination of an image
	// map entry: the source image that entry mirrors.
	MappedFrom string `json:"mappedFrom,omitempty"`
}

// Inventory is a set of needed images with their reasons.
type Inventory struct {
	items map[string]*Item
}

// New returns an empty inventory.
func New() *Inventory { return &Inventory{items: map[string]*Item{}} }

// Add records that image is needed, and why.
func (inv *Inventory) Add(image, why string) {
	it, ok := inv.items[image]
	if !ok {
		it = &Item{Image: image}
		inv.items[image] = it
	}
	for _, w := range it.Why {
		if w == why {
			return
		}
	}
	it.Why = append(it.Why, why)
}

// Len is the number of distinct images.
func (inv *Inventory) Len() int { return len(inv.items) }

// Items returns the images sorted by reference, each with its reasons
// sorted.
func (inv *Inventory) Items() []Item {
	out := make([]Item, 0, len(inv.items))
	for _, it := range inv.items {
		c := *it
		c.Why = append([]string(nil), it.Why...)
		sort.Strings(c.Why)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Image < out[j].Image })
	return out
}

// HelmReason is the reason recorded for an image in a Helm release:
// helm:<namespace>/<release>:<kind>/<name>.
func HelmReason(namespace, releaseName, kind, name string) string {
	return fmt.Sprintf("helm:%s/%s:%s/%s", namespace, releaseName, kind, name)
}

// AddRelease adds every image in a Helm release's rendered manifest and
// hooks.
func (inv *Inventory) AddRelease(rel *release.Release) error {
	docs := []string{rel.Manifest}
	for _, h := range rel.Hooks {
		if h != nil {
			docs = append(docs, h.Manifest)
		}
	}
	for _, d := range docs {
		if err := inv.AddManifest(d, func(kind, name string) string {
			return HelmReason(rel.Namespace, rel.Name, kind, name)
		}); err != nil {
			return fmt.Errorf("reading the manifest of Helm release %q: %w", rel.Namespace+"/"+rel.Name, err)
		}
	}
	return nil
}

// AddManifest adds every image in a multi-document YAML manifest; reason
// names the object an image was found in.
func (inv *Inventory) AddManifest(manifest string, reason func(kind, name string) string) error {
	docs := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	for _, k := range keys {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(docs[k]), &obj); err != nil {
			return err
		}
		if obj == nil {
			continue
		}
		if kind, _ := obj["kind"].(string); kind == "List" {
			items, _ := obj["items"].([]any)
			for _, it := range items {
				if m, ok := it.(map[string]any); ok {
					inv.addObject(m, reason)
				}
			}
			continue
		}
		inv.addObject(obj, reason)
	}
	return nil
}

func (inv *Inventory) addObject(obj map[string]any, reason func(kind, name string) string) {
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	for _, img := range Images(obj) {
		inv.Add(img, reason(kind, name))
	}
}

// containerLists are the fields holding containers in a pod spec; custom
// resources use the same names.
var containerLists = map[string]bool{"containers": true, "initContainers": true, "ephemeralContainers": true}

// Images returns the image of every container in any containers,
// initContainers or ephemeralContainers list anywhere in obj: pod templates
// of every workload kind, CronJob job templates, Pods and custom resources
// alike.
func Images(obj any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if list, ok := t[k].([]any); ok && containerLists[k] {
					for _, c := range list {
						if cm, ok := c.(map[string]any); ok {
							if img, _ := cm["image"].(string); strings.TrimSpace(img) != "" {
								out = append(out, strings.TrimSpace(img))
							}
						}
					}
				}
				walk(t[k])
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(obj)
	return out
}

// ReverseLookup marks each image that is already a destination of m with
// the source it mirrors: an exact entry's value, or a repository entry's
// value with the image's tag and digest.
func (inv *Inventory) ReverseLookup(m *imagemap.ImageMap) {
	if m == nil {
		return
	}
	entries := m.Entries()
	for _, it := range inv.items {
		it.MappedFrom = Source(entries, it.Image)
	}
}

// Source returns the source image whose mapped destination is image, or ""
// when image is no map destination. Exact entries win over repository
// entries, as in resolution.
func Source(entries []imagemap.Entry, image string) string {
	ref, err := imagemap.ParseReference(image)
	if err != nil {
		return ""
	}
	repo := ""
	for _, e := range entries {
		switch e.Rule() {
		case imagemap.RuleExact:
			if e.Destination == image {
				return e.Source
			}
		case imagemap.RuleRepo:
			if repo == "" && e.Destination == ref.Repository && !ref.IsBare() {
				repo = e.Source + ref.Suffix()
			}
		}
	}
	return repo
}
