package sdr

import (
	"context"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ReleaseNames returns the names of the Helm releases whose records are
// stored in namespace, read from the records' labels only (for shell
// completion: nothing is decoded).
func ReleaseNames(ctx context.Context, kube kubernetes.Interface, driver, namespace string) ([]string, error) {
	driver, err := NormalizeDriver(driver)
	if err != nil {
		return nil, err
	}
	opts := metav1.ListOptions{LabelSelector: "owner=helm"}
	seen := map[string]bool{}
	if driver == DriverConfigMap {
		list, err := kube.CoreV1().ConfigMaps(namespace).List(ctx, opts)
		if err != nil {
			return nil, accessError(err, "listing Helm release records", "list", "configmaps", namespace)
		}
		for _, o := range list.Items {
			seen[o.Labels["name"]] = true
		}
	} else {
		list, err := kube.CoreV1().Secrets(namespace).List(ctx, opts)
		if err != nil {
			return nil, accessError(err, "listing Helm release records", "list", "secrets", namespace)
		}
		for _, o := range list.Items {
			seen[o.Labels["name"]] = true
		}
	}
	delete(seen, "")
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}
