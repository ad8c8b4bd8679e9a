package store

import (
	"context"
	"strings"
	"testing"
)

func TestParseComponent(t *testing.T) {
	const s3 = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: objectstore
  namespace: sdr
spec:
  type: bindings.aws.s3
  version: v1
  metadata:
    - name: bucket
      value: sdr-bucket
    - name: forcePathStyle
      value: true
    - name: secretKey
      secretKeyRef:
        name: sdr-objectstore
        key: secret-key
`
	c, err := ParseComponent([]byte(s3))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "objectstore" || c.Namespace != "sdr" || c.Type != "bindings.aws.s3" || len(c.Metadata) != 3 {
		t.Fatalf("ParseComponent() = %+v", c)
	}
	if got := c.Metadata[1].Value; got != "true" {
		t.Errorf("boolean value = %q, want %q", got, "true")
	}
	if r := c.Metadata[2].SecretKeyRef; r == nil || r.Name != "sdr-objectstore" || r.Key != "secret-key" {
		t.Errorf("secretKeyRef = %+v", r)
	}

	// JSON, as a manifest object marshalled by cluster code, works too.
	j, err := ParseComponent([]byte(`{"apiVersion":"dapr.io/v1alpha1","kind":"Component","metadata":{"name":"objectstore"},` +
		`"spec":{"type":"bindings.gcp.bucket","metadata":[{"name":"bucket","value":"b"},{"name":"port","value":9000}]}}`))
	if err != nil || j.Type != "bindings.gcp.bucket" || j.Metadata[1].Value != "9000" {
		t.Errorf("ParseComponent(JSON) = %+v, %v", j, err)
	}

	for _, tc := range []struct{ name, in, want string }{
		{"object value", strings.Replace(s3, "value: sdr-bucket", "value: {a: b}", 1), "value must be a string, number or boolean"},
		{"not a component", "apiVersion: v1\nkind: ConfigMap\n", `kind "ConfigMap"`},
		{"ref without key", strings.Replace(s3, "        key: secret-key\n", "", 1), `metadata "secretKey": secretKeyRef needs both name and key`},
		{"not YAML", "spec: [", "parsing Dapr component"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseComponent([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseComponent(%q) = %v, want an error with %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestOpenComponentErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		c    Component
		want string
	}{
		{"unsupported type", Component{Name: "objectstore", Type: "bindings.redis"}, `type "bindings.redis" is not supported; use one of bindings.aws.s3`},
		{"no bucket", Component{Name: "objectstore", Type: "bindings.aws.s3", Metadata: []MetadataItem{{Name: "region", Value: "eu-west-1"}}}, `no bucket; set metadata "bucket"`},
		{"no container", Component{Name: "objectstore", Type: "bindings.azure.blobstorage", Metadata: []MetadataItem{{Name: "accountName", Value: "acct"}}}, `no container; set metadata "containerName"`},
		{"bad boolean", Component{Name: "objectstore", Type: "bindings.aws.s3", Metadata: []MetadataItem{{Name: "bucket", Value: "b"}, {Name: "forcePathStyle", Value: "maybe"}}}, `metadata "forcePathStyle" is "maybe", want true or false`},
		{"secret without a cluster", Component{Name: "objectstore", Type: "bindings.aws.s3", Metadata: []MetadataItem{{Name: "secretKey", SecretKeyRef: &SecretKeyRef{Name: "s", Key: "k"}}}}, `metadata "secretKey" comes from secret "s" key "k"`},
		{"local storage without a path", Component{Name: "objectstore", Type: "bindings.localstorage"}, `no root path; set metadata "rootPath"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := OpenComponent(ctx, &tc.c, "m.yaml", nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("OpenComponent(%s) = %v, want an error with %q", tc.c.Type, err, tc.want)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	old := []byte("images:\n  \"a\": \"b\"\n")
	edited := []byte("images:\n  \"a\": \"b\"\n  \"c\": \"d\"\n")
	want := "--- m.yaml (stored)\n+++ m.yaml (edited)\n@@ -1,2 +1,3 @@\n images:\n   \"a\": \"b\"\n+  \"c\": \"d\"\n"
	if got := Diff("m.yaml", old, edited); got != want {
		t.Errorf("Diff() = %q, want %q", got, want)
	}
	if got := Diff("m.yaml", old, old); got != "" {
		t.Errorf("Diff(equal) = %q, want empty", got)
	}
	if got := Diff("m.yaml", nil, edited); !strings.HasPrefix(got, "--- /dev/null\n") {
		t.Errorf("Diff(absent) = %q, want it from /dev/null", got)
	}
}
