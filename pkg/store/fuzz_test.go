package store

import (
	"strings"
	"testing"
)

func FuzzParseComponent(f *testing.F) {
	f.Add([]byte("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: objectstore\nspec:\n  type: bindings.aws.s3\n  metadata:\n  - name: bucket\n    value: b\n  - name: accessKey\n    secretKeyRef: {name: s, key: k}\n"))
	f.Add([]byte(`{"spec":{"type":"bindings.localstorage","metadata":[{"name":"rootPath","value":"/x"}]}}`))
	f.Add([]byte("spec: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseComponent(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		if c == nil {
			t.Fatal("nil component without an error")
		}
	})
}
