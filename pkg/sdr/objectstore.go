package sdr

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// ObjectStoreName is the name of the Dapr component the SDR keeps its files
// (and the image map) in.
const ObjectStoreName = "objectstore"

// Component is a Dapr binding component as Atlan's application SDK uses it:
// a type such as bindings.aws.s3 and a list of metadata items.
type Component struct {
	Name     string         `json:"name"`
	Type     string         `json:"type"`
	Metadata []MetadataItem `json:"metadata"`
	// Source says where the component was found, e.g.
	// `values of release "sdr/atlan-sdr-acme" at objectstore`.
	Source string `json:"source,omitempty"`
}

// MetadataItem is one name with either a literal value or a reference to a
// key of a Secret in the SDR's namespace: the store's type, so a component
// found here opens its bucket as it is.
type MetadataItem = store.MetadataItem

// SecretKeyRef names a key in a Secret.
type SecretKeyRef = store.SecretKeyRef

// Store is the component as the store opens it.
func (c *Component) Store() *store.Component {
	return &store.Component{Name: c.Name, Type: c.Type, Metadata: c.Metadata}
}

// componentFrom reads a component from a decoded YAML value: either a full
// Dapr Component object (kind: Component, spec.type, spec.metadata), or a
// bare {type, metadata} map. ok is false when v is neither.
func componentFrom(v any, name string) (*Component, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	if kind, _ := m["kind"].(string); kind == "Component" {
		meta, _ := m["metadata"].(map[string]any)
		n, _ := meta["name"].(string)
		spec, _ := m["spec"].(map[string]any)
		if c, ok := componentFrom(spec, n); ok {
			return c, true
		}
		return nil, false
	}
	typ, _ := m["type"].(string)
	if !strings.HasPrefix(typ, "bindings.") && !strings.HasPrefix(typ, "state.") {
		return nil, false
	}
	c := &Component{Name: name, Type: typ}
	if n, _ := m["name"].(string); n != "" {
		c.Name = n
	}
	items, _ := m["metadata"].([]any)
	for _, it := range items {
		im, _ := it.(map[string]any)
		if im == nil {
			continue
		}
		item := MetadataItem{}
		item.Name, _ = im["name"].(string)
		if v, ok := im["value"]; ok && v != nil {
			item.Value = fmt.Sprint(v)
		}
		if ref, ok := im["secretKeyRef"].(map[string]any); ok {
			item.SecretKeyRef = &SecretKeyRef{}
			item.SecretKeyRef.Name, _ = ref["name"].(string)
			item.SecretKeyRef.Key, _ = ref["key"].(string)
			if item.SecretKeyRef.Key == "" {
				// Dapr's default: the key is the secret's name.
				item.SecretKeyRef.Key = item.SecretKeyRef.Name
			}
		}
		c.Metadata = append(c.Metadata, item)
	}
	return c, true
}

// findComponentInValues walks values for the objectstore component: a
// Component object named objectstore anywhere, a {type, metadata} map under
// a key named objectstore, or either of those as YAML text in a string.
func findComponentInValues(values map[string]any) (*Component, string) {
	var found *Component
	var at string
	var walk func(v any, path, key string)
	walk = func(v any, path, key string) {
		if found != nil {
			return
		}
		switch t := v.(type) {
		case map[string]any:
			if c, ok := componentFrom(t, key); ok && c.Name == ObjectStoreName {
				found, at = c, path
				return
			}
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(t[k], joinPath(path, k), k)
			}
		case []any:
			for i, e := range t {
				walk(e, fmt.Sprintf("%s[%d]", path, i), key)
			}
		case string:
			if !strings.Contains(t, "type:") {
				return
			}
			for _, doc := range splitYAML(t) {
				var dv any
				if yaml.Unmarshal([]byte(doc), &dv) != nil {
					continue
				}
				name := strings.TrimSuffix(strings.TrimSuffix(key, ".yaml"), ".yml")
				if c, ok := componentFrom(dv, name); ok && c.Name == ObjectStoreName {
					found, at = c, path
					return
				}
			}
		}
	}
	walk(values, "", "")
	return found, at
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func splitYAML(s string) []string {
	docs := releaseutil.SplitManifests(s)
	out := make([]string, 0, len(docs))
	for _, k := range sortedKeys(docs) {
		out = append(out, docs[k])
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	return keys
}

// findComponentInManifest looks through a rendered release manifest for
// the objectstore component: a Dapr Component object, or component YAML
// held in a ConfigMap's data or a Secret's data/stringData.
func findComponentInManifest(manifest string) (*Component, string) {
	for _, doc := range splitYAML(manifest) {
		var obj map[string]any
		if yaml.Unmarshal([]byte(doc), &obj) != nil || obj == nil {
			continue
		}
		kind, _ := obj["kind"].(string)
		meta, _ := obj["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		switch kind {
		case "Component":
			if c, ok := componentFrom(obj, ""); ok && c.Name == ObjectStoreName {
				return c, "Component/" + name
			}
		case "ConfigMap", "Secret":
			for _, field := range []string{"data", "stringData"} {
				data, _ := obj[field].(map[string]any)
				keys := make([]string, 0, len(data))
				for k := range data {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					text, _ := data[k].(string)
					if kind == "Secret" && field == "data" {
						b, err := base64.StdEncoding.DecodeString(text)
						if err != nil {
							continue
						}
						text = string(b)
					}
					c, _ := findComponentInValues(map[string]any{k: text})
					if c != nil {
						return c, kind + "/" + name + " " + field + "." + k
					}
				}
			}
		}
	}
	return nil, ""
}
