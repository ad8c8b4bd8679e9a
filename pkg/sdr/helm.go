package sdr

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	rspb "helm.sh/helm/v3/pkg/release"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// Storage drivers Helm keeps release records with; HELM_DRIVER names one.
const (
	DriverSecret    = "secret"
	DriverConfigMap = "configmap"
)

// NormalizeDriver maps HELM_DRIVER's spellings to a driver this package
// reads. An empty value is Helm's default, the secret driver.
func NormalizeDriver(d string) (string, error) {
	switch d {
	case "", "secret", "secrets":
		return DriverSecret, nil
	case "configmap", "configmaps":
		return DriverConfigMap, nil
	}
	return "", fmt.Errorf("helm storage driver %q is not supported: use secret or configmap (HELM_DRIVER, %s)", d, setting.HelmDriver)
}

// Record is one Helm release as stored: the newest revision of a release
// name, with the namespace its record lives in.
type Record struct {
	*rspb.Release
	// StorageNamespace is the namespace of the Secret or ConfigMap holding
	// the record; Release.Namespace is where the workloads went.
	StorageNamespace string
	// Labels are the labels on the record object.
	Labels map[string]string
}

// Ref is "<namespace>/<name>" of the release's workloads.
func (r *Record) Ref() string { return r.Namespace + "/" + r.Name }

// ChartName is the name in the release's Chart.yaml, or "".
func (r *Record) ChartName() string {
	if r.Chart == nil || r.Chart.Metadata == nil {
		return ""
	}
	return r.Chart.Metadata.Name
}

// listRecords returns the newest live revision of every release whose
// record is stored in namespace ("" for all namespaces) and whose record
// labels match selector.
func listRecords(ctx context.Context, kube kubernetes.Interface, driver, namespace string, selector labels.Selector) ([]*Record, error) {
	sel := labels.SelectorFromSet(labels.Set{"owner": "helm"})
	if selector != nil {
		reqs, _ := selector.Requirements()
		sel = sel.Add(reqs...)
	}
	opts := metav1.ListOptions{LabelSelector: sel.String()}
	type object struct {
		ns     string
		labels map[string]string
		data   []byte
	}
	var objects []object
	resource := "secrets"
	switch driver {
	case DriverConfigMap:
		resource = "configmaps"
		list, err := kube.CoreV1().ConfigMaps(namespace).List(ctx, opts)
		if err != nil {
			return nil, accessError(err, "listing Helm release records", "list", resource, namespace)
		}
		for _, o := range list.Items {
			objects = append(objects, object{o.Namespace, o.Labels, []byte(o.Data["release"])})
		}
	default:
		list, err := kube.CoreV1().Secrets(namespace).List(ctx, opts)
		if err != nil {
			return nil, accessError(err, "listing Helm release records", "list", resource, namespace)
		}
		for _, o := range list.Items {
			if o.Type != "helm.sh/release.v1" {
				continue
			}
			objects = append(objects, object{o.Namespace, o.Labels, o.Data["release"]})
		}
	}
	newest := map[string]*Record{}
	for _, o := range objects {
		rel, err := decodeRelease(o.data)
		if err != nil {
			return nil, fmt.Errorf("reading Helm release record %q in namespace %q (%s): %w", o.labels["name"]+".v"+o.labels["version"], o.ns, resource, err)
		}
		if rel.Info != nil && (rel.Info.Status == rspb.StatusUninstalled || rel.Info.Status == rspb.StatusUninstalling) {
			continue
		}
		key := o.ns + "/" + rel.Name
		if cur, ok := newest[key]; ok && cur.Version >= rel.Version {
			continue
		}
		newest[key] = &Record{Release: rel, StorageNamespace: o.ns, Labels: o.labels}
	}
	out := make([]*Record, 0, len(newest))
	for _, r := range newest {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].StorageNamespace != out[j].StorageNamespace {
			return out[i].StorageNamespace < out[j].StorageNamespace
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

var gzipMagic = []byte{0x1f, 0x8b, 0x08}

// decodeRelease reads Helm's record encoding: base64 of (usually gzipped)
// JSON, the same from Helm 3 and Helm 4.
func decodeRelease(data []byte) (*rspb.Release, error) {
	b, err := base64.StdEncoding.DecodeString(string(data))
	if err != nil {
		return nil, fmt.Errorf("decoding base64: %w", err)
	}
	if bytes.HasPrefix(b, gzipMagic) {
		r, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("decompressing: %w", err)
		}
		defer r.Close()
		if b, err = io.ReadAll(r); err != nil {
			return nil, fmt.Errorf("decompressing: %w", err)
		}
	}
	var rel rspb.Release
	if err := json.Unmarshal(b, &rel); err != nil {
		return nil, fmt.Errorf("decoding JSON: %w", err)
	}
	return &rel, nil
}
