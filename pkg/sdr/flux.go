package sdr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// HelmReleaseGVR is Flux's HelmRelease resource.
var HelmReleaseGVR = schema.GroupVersionResource{Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"}

// maxReleaseNameLength is Helm's limit on release names; Flux shortens
// longer generated names.
const maxReleaseNameLength = 53

// FluxRelease is a Flux HelmRelease and the Helm release it produces.
type FluxRelease struct {
	// Name and Namespace of the HelmRelease object.
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Chart is the chart name (or chartRef name) it installs.
	Chart string `json:"chart"`
	// ReleaseName and StorageNamespace locate the Helm release record;
	// TargetNamespace is where the workloads go.
	ReleaseName      string `json:"releaseName"`
	StorageNamespace string `json:"storageNamespace"`
	TargetNamespace  string `json:"targetNamespace"`
}

// FluxReleaseName is the Helm release name helm-controller uses:
// spec.releaseName, else [<targetNamespace>-]<name>, shortened when longer
// than 53 characters to its first 40, "-", and the first 12 hex digits of
// its SHA-256.
func FluxReleaseName(name, targetNamespace, releaseName string) string {
	n := releaseName
	if n == "" {
		n = name
		if targetNamespace != "" {
			n = targetNamespace + "-" + name
		}
	}
	if len(n) <= maxReleaseNameLength {
		return n
	}
	sum := sha256.Sum256([]byte(n))
	return n[:40] + "-" + hex.EncodeToString(sum[:])[:12]
}

// fluxReleaseFrom reads the fields that locate the Helm release.
func fluxReleaseFrom(u *unstructured.Unstructured) FluxRelease {
	str := func(fields ...string) string {
		v, _, _ := unstructured.NestedString(u.Object, fields...)
		return v
	}
	target := str("spec", "targetNamespace")
	f := FluxRelease{
		Name:            u.GetName(),
		Namespace:       u.GetNamespace(),
		ReleaseName:     FluxReleaseName(u.GetName(), target, str("spec", "releaseName")),
		TargetNamespace: target,
	}
	if f.TargetNamespace == "" {
		f.TargetNamespace = u.GetNamespace()
	}
	switch {
	case str("status", "storageNamespace") != "":
		f.StorageNamespace = str("status", "storageNamespace")
	case str("spec", "storageNamespace") != "":
		f.StorageNamespace = str("spec", "storageNamespace")
	default:
		f.StorageNamespace = u.GetNamespace()
	}
	if c := str("spec", "chart", "spec", "chart"); c != "" {
		f.Chart = path.Base(strings.TrimSuffix(c, "/"))
	} else {
		f.Chart = str("spec", "chartRef", "name")
	}
	return f
}

// listFluxReleases lists HelmReleases in all namespaces, or in namespace
// when the credentials may not list cluster-wide. A cluster without the
// HelmRelease resource, or credentials that may not read it, give none;
// note says why.
func listFluxReleases(ctx context.Context, dyn dynamic.Interface, namespace string) (out []FluxRelease, note string, err error) {
	list, err := dyn.Resource(HelmReleaseGVR).Namespace("").List(ctx, metav1.ListOptions{})
	if apierrors.IsForbidden(err) && namespace != "" {
		list, err = dyn.Resource(HelmReleaseGVR).Namespace(namespace).List(ctx, metav1.ListOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, "no Flux HelmRelease resource in the cluster", nil
	case apierrors.IsForbidden(err):
		return nil, "not looking for a Flux HelmRelease: the credentials may not list helmreleases.helm.toolkit.fluxcd.io", nil
	case err != nil:
		return nil, "", accessError(err, "listing Flux HelmReleases", "list", "helmreleases.helm.toolkit.fluxcd.io", "")
	}
	for i := range list.Items {
		out = append(out, fluxReleaseFrom(&list.Items[i]))
	}
	return out, "", nil
}
