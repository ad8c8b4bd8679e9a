package cli

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

// TestFlagCompletion completes the flags that take names, namespaces and
// releases from a fake cluster.
func TestFlagCompletion(t *testing.T) {
	record := func(ns, name string, v int, cm bool) runtime.Object {
		meta := metav1.ObjectMeta{Namespace: ns, Name: "sh.helm.release.v1." + name, Labels: map[string]string{"owner": "helm", "name": name, "version": string(rune('0' + v))}}
		if cm {
			return &corev1.ConfigMap{ObjectMeta: meta}
		}
		return &corev1.Secret{ObjectMeta: meta, Type: "helm.sh/release.v1"}
	}
	objects := []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "atlan"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "flux-system"}},
		record("atlan", "atlan-sdr-acme", 1, false),
		record("atlan", "teradata", 2, false),
		record("flux-system", "atlan-sdr-eu", 1, false),
		record("atlan", "mysql", 1, true),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "atlan", Name: "not-a-release"}},
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"namespace", []string{"diff", "-n", ""}, []string{"atlan", "flux-system"}},
		{"storage namespace", []string{"sync", "--storage-namespace", ""}, []string{"atlan", "flux-system"}},
		{"releases", []string{"sync", "-n", "atlan", "--release", ""}, []string{"atlan-sdr-acme", "teradata"}},
		{"releases in storage namespace", []string{"diff", "-n", "atlan", "--storage-namespace", "flux-system", "--release", ""}, []string{"atlan-sdr-eu"}},
		{"configmap releases", []string{"cronjob", "-n", "atlan", "--helm-driver", "configmap", "--release", ""}, []string{"mysql"}},
		{"from", []string{"diff", "--from", ""}, []string{"helm", "latest-releases", "file", "bundle", "self"}},
		{"release block", []string{"sync", "--release-block", ""}, []string{"auto", "keep", "remove"}},
		{"helm driver", []string{"images", "--helm-driver", ""}, []string{"secret", "configmap"}},
		{"color", []string{"diff", "--color", ""}, []string{"auto", "always", "never"}},
		{"output", []string{"cronjob", "-o", ""}, []string{"table", "json", "yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, out, errOut := newFactory(nil)
			kube := fake.NewClientset(objects...)
			f.KubeClients = func() (kubernetes.Interface, dynamic.Interface, error) {
				return kube, dynfake.NewSimpleDynamicClient(runtime.NewScheme()), nil
			}
			args := append([]string{"__complete"}, tc.args...)
			if code := Run(context.Background(), f, args); code != 0 {
				t.Fatalf("Run(%q) = %d: %s", args, code, errOut)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			got := lines[:len(lines)-1] // the last line is the directive
			for i := range got {
				got[i], _, _ = strings.Cut(got[i], "\t")
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("completion of %q = %q, want %q", tc.args, got, tc.want)
			}
		})
	}
}
