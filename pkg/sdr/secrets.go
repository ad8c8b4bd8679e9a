package sdr

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// ErrForbidden is wrapped by errors for reads the credentials may not do.
var ErrForbidden = errors.New("forbidden")

// accessError says what was being read and, when the API server refused,
// which permission is missing.
func accessError(err error, doing, verb, resource, namespace string) error {
	where := fmt.Sprintf("in namespace %q", namespace)
	if namespace == "" {
		where = "in all namespaces"
	}
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("%s %s: %w: the credentials lack permission %q on %q %s; grant it with a Role and RoleBinding (or ClusterRole for all namespaces)",
			doing, where, ErrForbidden, verb, resource, where)
	}
	if apierrors.IsUnauthorized(err) {
		return fmt.Errorf("%s %s: the API server rejected the credentials (401); check the kubeconfig's user and token", doing, where)
	}
	return fmt.Errorf("%s %s: %w", doing, where, err)
}

// SecretGetter reads one key of a Kubernetes Secret (or its equivalent), as
// a Dapr secretKeyRef names it.
type SecretGetter = store.SecretGetter

// KubeSecrets reads secretKeyRef values from Secrets in one namespace, the
// SDR's.
type KubeSecrets struct {
	Client    kubernetes.Interface
	Namespace string
}

// GetSecret returns the value of key in Secret name. The value is never
// part of an error.
func (s KubeSecrets) GetSecret(ctx context.Context, name, key string) ([]byte, error) {
	sec, err := s.Client.CoreV1().Secrets(s.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading secret %q in namespace %q: it does not exist; create it or fix the objectstore component's secretKeyRef", name, s.Namespace)
		}
		return nil, accessError(err, fmt.Sprintf("reading secret %q", name), "get", "secrets", s.Namespace)
	}
	if v, ok := sec.Data[key]; ok {
		return v, nil
	}
	if v, ok := sec.StringData[key]; ok {
		return []byte(v), nil
	}
	return nil, fmt.Errorf("reading secret %q in namespace %q: it has no key %q; fix the objectstore component's secretKeyRef", name, s.Namespace, key)
}
