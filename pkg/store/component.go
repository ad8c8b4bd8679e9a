package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"gocloud.dev/blob"
	"sigs.k8s.io/yaml"
)

// Component is a Dapr binding component, as the SDR declares its object
// store ("objectstore"): a type such as bindings.aws.s3 and metadata items.
type Component struct {
	Name      string
	Namespace string
	Type      string
	Metadata  []MetadataItem
}

// MetadataItem is one {name, value} or {name, secretKeyRef} entry.
type MetadataItem struct {
	Name string `json:"name"`
	// Value is the inline value; numbers and booleans are kept as text.
	Value        string        `json:"value,omitempty"`
	SecretKeyRef *SecretKeyRef `json:"secretKeyRef,omitempty"`
}

// UnmarshalJSON accepts a string, number or boolean value.
func (it *MetadataItem) UnmarshalJSON(b []byte) error {
	var raw struct {
		Name         string          `json:"name"`
		Value        json.RawMessage `json:"value"`
		SecretKeyRef *SecretKeyRef   `json:"secretKeyRef"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	it.Name, it.SecretKeyRef, it.Value = raw.Name, raw.SecretKeyRef, ""
	if len(raw.Value) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw.Value, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case string:
		it.Value = v
	case bool, float64:
		it.Value = strings.TrimSpace(string(raw.Value))
	case nil:
	default:
		return fmt.Errorf("metadata %q: value must be a string, number or boolean", raw.Name)
	}
	return nil
}

// SecretKeyRef names a key of a secret in the component's namespace.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// ComponentTypes are the Dapr binding types OpenComponent understands:
// every provider's, and local storage.
var ComponentTypes = []string{
	"bindings.aws.s3", "bindings.s3", "bindings.azure.blobstorage",
	"bindings.gcp.bucket", "bindings.gcs", "bindings.localstorage",
}

// ParseComponent reads a Dapr Component manifest (apiVersion
// dapr.io/v1alpha1, kind Component) as YAML or JSON, so an object found in
// a release manifest can be passed marshalled. Values stay unresolved
// until OpenComponent.
func ParseComponent(data []byte) (*Component, error) {
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Spec struct {
			Type     string         `json:"type"`
			Metadata []MetadataItem `json:"metadata"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parsing Dapr component: %w", err)
	}
	if m.Kind != "Component" || !strings.HasPrefix(m.APIVersion, "dapr.io/") {
		return nil, fmt.Errorf("parsing Dapr component: kind %q apiVersion %q, want kind Component of dapr.io/v1alpha1", m.Kind, m.APIVersion)
	}
	c := &Component{Name: m.Metadata.Name, Namespace: m.Metadata.Namespace, Type: m.Spec.Type, Metadata: m.Spec.Metadata}
	for _, it := range c.Metadata {
		if it.SecretKeyRef != nil && (it.SecretKeyRef.Name == "" || it.SecretKeyRef.Key == "") {
			return nil, fmt.Errorf("Dapr component %q: metadata %q: secretKeyRef needs both name and key", c.Name, it.Name) //nolint:staticcheck // Dapr is a proper noun
		}
	}
	return c, nil
}

// OpenComponent opens the object at key in the bucket a Dapr objectstore
// component describes, with the credentials it names: S3 static keys or
// the default chain, an Azure account key, SAS token or default
// credentials, GCS service-account fields or application default
// credentials. secrets resolves secretKeyRef items; it may be nil when the
// component has none. Credentials go straight into the client, never into
// a URL or the environment, and are removed from every error.
func OpenComponent(ctx context.Context, c *Component, key string, secrets SecretGetter, opts ...Option) (Object, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("objectstore component %q: %w", c.Name, ErrNoObjectKey)
	}
	s, err := resolve(ctx, c, secrets)
	if err != nil {
		return nil, err
	}
	var obj Object
	switch p := providerForComponent(c.Type); {
	case p != nil:
		var b *blob.Bucket
		var name string
		if b, name, err = p.openComponent(ctx, s, o); err == nil {
			obj = newBucketObject(b, p, name, key, s.secrets, o)
		}
	case c.Type == "bindings.localstorage":
		var root string
		if root, err = s.need("root path", "rootPath"); err == nil {
			obj, err = FileBucket(root, key)
		}
	default:
		return nil, fmt.Errorf("objectstore component %q: type %q is not supported; use one of %s", c.Name, c.Type, strings.Join(ComponentTypes, ", "))
	}
	if err != nil {
		return nil, scrubSecrets(err, s.secrets)
	}
	return obj, nil
}
