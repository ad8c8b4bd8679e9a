package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
)

// Distinctive credentials planted in the servers and components; none may
// appear in anything the binary prints.
const (
	e2eAccessKey = "AKIDE2EPLANTEDSDRMIRROR"
	e2eSecretKey = "e2ePlantedS3Secret/sdrMirror+7a6b5c" //nolint:gosec // a planted test value
	e2eGCSToken  = "ya29.e2ePlantedGcsAccessToken-9z8y"  //nolint:gosec // a planted test value
	e2eKeyID     = "e2ePlantedGcsPrivateKeyId77"
)

var e2eAzureKey = base64.StdEncoding.EncodeToString([]byte("e2e-planted-azure-account-key-sdr-mirror"))

type provider struct {
	name string
	// component returns the objectstore Component YAML; wrong gives one
	// whose credentials are refused.
	component func(wrong bool) string
	planted   []string
}

func component(typ string, meta map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: objectstore\n  namespace: sdr\nspec:\n  type: %s\n  version: v1\n  metadata:\n", typ)
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		v, _ := json.Marshal(meta[k])
		fmt.Fprintf(&b, "    - name: %s\n      value: %s\n", k, v)
	}
	return b.String()
}

func s3Provider(t *testing.T) provider {
	ep := testenv.StartVersityGW(t, e2eAccessKey, e2eSecretKey, "sdr-bucket")
	return provider{name: "s3", planted: []string{e2eAccessKey, e2eSecretKey}, component: func(wrong bool) string {
		secret := e2eSecretKey
		if wrong {
			secret += "Wrong"
		}
		return component("bindings.aws.s3", map[string]string{"bucket": "sdr-bucket", "region": "us-east-1",
			"endpoint": ep, "forcePathStyle": "true", "accessKey": e2eAccessKey, "secretKey": secret})
	}}
}

func azureProvider(t *testing.T) provider {
	ep := testenv.StartAzurite(t, "sdrmirrore2e", e2eAzureKey, "sdr-container")
	return provider{name: "azure", planted: []string{e2eAzureKey}, component: func(wrong bool) string {
		key := e2eAzureKey
		if wrong {
			key = base64.StdEncoding.EncodeToString([]byte("e2e-planted-azure-account-key-WRONG-value"))
		}
		return component("bindings.azure.blobstorage", map[string]string{"accountName": "sdrmirrore2e",
			"containerName": "sdr-container", "endpoint": ep, "accountKey": key})
	}}
}

func gcsProvider(t *testing.T) provider {
	ep := testenv.StartFakeGCS(t, "sdr-bucket")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	// The token endpoint grants the planted token, or refuses under /deny,
	// echoing the signed assertion (a JWT starting "eyJhbGciOi") as real
	// servers sometimes do.
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/deny" {
			_ = r.ParseForm()
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": "invalid_grant", "error_description": "bad assertion " + r.Form.Get("assertion")})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": e2eGCSToken, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(tokens.Close)
	return provider{name: "gcs", planted: []string{e2eGCSToken, e2eKeyID, strings.Split(pemKey, "\n")[1],
		"eyJhbGciOi"}, component: func(wrong bool) string {
		uri := tokens.URL + "/token"
		if wrong {
			uri = tokens.URL + "/deny"
		}
		return component("bindings.gcp.bucket", map[string]string{"bucket": "sdr-bucket", "project_id": "sdr-project",
			"endpoint": ep, "type": "service_account", "client_email": "mirror@sdr-project.iam.gserviceaccount.com",
			"private_key_id": e2eKeyID, "private_key": pemKey, "token_uri": uri})
	}}
}

// TestObjectStoreCommands runs map and resolve with -v against real S3,
// Azure and GCS servers opened from a Dapr objectstore component, and
// checks that no credential appears in anything printed.
func TestObjectStoreCommands(t *testing.T) {
	bin := filepath.Join(binDir, "kubectl-sdr_mirror")
	for _, setup := range []func(*testing.T) provider{s3Provider, azureProvider, gcsProvider} {
		p := setup(t)
		t.Run(p.name, func(t *testing.T) {
			dir := t.TempDir()
			comp := filepath.Join(dir, "objectstore.yaml")
			wrong := filepath.Join(dir, "wrong.yaml")
			if err := os.WriteFile(comp, []byte(p.component(false)), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(wrong, []byte(p.component(true)), 0o600); err != nil {
				t.Fatal(err)
			}
			var printed []string
			run := func(wantOK bool, args ...string) (string, string) {
				t.Helper()
				cmd := exec.Command(bin, append(args, "-v")...)
				cmd.Env = append(os.Environ(), "NO_COLOR=1")
				var out, errOut bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errOut
				err := cmd.Run()
				printed = append(printed, out.String(), errOut.String())
				if (err == nil) != wantOK {
					t.Fatalf("%v: err = %v, want success %v\nstdout:\n%s\nstderr:\n%s", args, err, wantOK, &out, &errOut)
				}
				return out.String(), errOut.String()
			}
			loc := []string{"--objectstore-component", comp, "--image-map-path", "sdr/image-map.yaml"}

			out, stderr := run(true, append([]string{"map", "set", "atlanhq/atlan-teradata-app", "registry.example.com/atlan/atlan-teradata-app"}, loc...)...)
			if !strings.Contains(out, "added atlanhq/atlan-teradata-app") || !strings.Contains(stderr, "level=DEBUG") {
				t.Errorf("map set: stdout %q, stderr %q; want the change and debug logs", out, stderr)
			}
			out, stderr = run(true, append([]string{"map", "set", "atlanhq/atlan-postgres-app", "registry.example.com/atlan/atlan-postgres-app", "--dry-run"}, loc...)...)
			if !strings.Contains(out, `+  "atlanhq/atlan-postgres-app": "registry.example.com/atlan/atlan-postgres-app"`) ||
				!strings.Contains(stderr, "dry run: nothing was written") {
				t.Errorf("map set --dry-run: stdout %q, stderr %q; want the diff", out, stderr)
			}
			out, _ = run(true, append([]string{"map", "get", "-o", "json"}, loc...)...)
			if !strings.Contains(out, `"atlanhq/atlan-teradata-app"`) || strings.Contains(out, "atlan-postgres-app") {
				t.Errorf("map get after a dry run = %s; want only the entry that was set", out)
			}
			out, _ = run(true, append([]string{"resolve", "atlanhq/atlan-teradata-app:3.1.4", "-o", "json"}, loc...)...)
			if !strings.Contains(out, `"resolved": "registry.example.com/atlan/atlan-teradata-app:3.1.4"`) {
				t.Errorf("resolve = %s", out)
			}
			run(true, append([]string{"map", "rm", "atlanhq/atlan-teradata-app", "--dry-run"}, loc...)...)
			run(true, append([]string{"map", "validate"}, loc...)...)

			// Refused credentials: an error, without the credentials.
			_, stderr = run(false, "map", "set", "atlanhq/x", "reg/x", "--objectstore-component", wrong, "--image-map-path", "sdr/image-map.yaml")
			if !strings.Contains(stderr, "error:") {
				t.Errorf("map set with wrong credentials: stderr %q, want an error", stderr)
			}

			for _, s := range p.planted {
				for _, text := range printed {
					if strings.Contains(text, s) {
						t.Errorf("output shows credential %q:\n%s", s, text)
					}
				}
			}
		})
	}
}

// TestObjectStoreSecretKeyRefNeedsCluster: a component whose credentials
// come from a Secret cannot be opened from a file without a cluster; the
// error names the secret.
func TestObjectStoreSecretKeyRefNeedsCluster(t *testing.T) {
	dir := t.TempDir()
	comp := filepath.Join(dir, "c.yaml")
	yaml := `apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: objectstore}
spec:
  type: bindings.aws.s3
  metadata:
    - {name: bucket, value: sdr-bucket}
    - {name: region, value: eu-west-1}
    - name: secretKey
      secretKeyRef: {name: sdr-objectstore, key: secret-key}
`
	if err := os.WriteFile(comp, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "kubectl-sdr_mirror"), "map", "get", "--objectstore-component", comp, "--image-map-path", "m.yaml")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `metadata "secretKey" comes from secret "sdr-objectstore" key "secret-key"`) {
		t.Errorf("map get with a secretKeyRef component = %v, %s; want an error naming the secret", err, out)
	}
}
