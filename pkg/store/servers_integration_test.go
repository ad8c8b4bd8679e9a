//go:build integration

package store

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
)

// The suite against real S3 (versitygw), Azure (Azurite) and GCS
// (fake-gcs-server) servers on 127.0.0.1.
func init() {
	serverBackends = append(serverBackends, namedBackend{"s3", s3Backend}, namedBackend{"azure", azureBackend}, namedBackend{"gcs", gcsBackend})
}

func s3Backend(t *testing.T) *backend {
	endpoint := testenv.StartVersityGW(t, plantedAccessKey, plantedSecretKey, "sdr-bucket")
	b := &backend{
		name: "s3",
		component: &Component{Name: "objectstore", Type: "bindings.aws.s3", Metadata: []MetadataItem{
			{Name: "bucket", Value: "sdr-bucket"},
			{Name: "region", Value: "us-east-1"},
			{Name: "endpoint", Value: strings.TrimPrefix(endpoint, "http://")},
			{Name: "disableSSL", Value: "true"},
			{Name: "forcePathStyle", Value: "true"},
			{Name: "accessKey", SecretKeyRef: ref("sdr-s3", "access-key")},
			{Name: "secretKey", SecretKeyRef: ref("sdr-s3", "secret-key")},
		}},
		secrets: map[string]string{"sdr-s3/access-key": plantedAccessKey, "sdr-s3/secret-key": plantedSecretKey},
		planted: []string{plantedAccessKey, plantedSecretKey},
	}
	b.open = func(t *testing.T, key string) Object { return fromComponent(t, b, b.component, key) }
	b.openFailing = func(t *testing.T, key string) Object {
		return fromComponent(t, b, withEndpoint(b.component, failingProxy(t, endpoint, key, false)), key)
	}
	return b
}

func azureBackend(t *testing.T) *backend {
	endpoint := testenv.StartAzurite(t, plantedAzureAcct, plantedAzureKey, "sdr-container")
	b := &backend{
		name: "azure",
		component: &Component{Name: "objectstore", Type: "bindings.azure.blobstorage", Metadata: []MetadataItem{
			{Name: "accountName", Value: plantedAzureAcct},
			{Name: "containerName", Value: "sdr-container"},
			{Name: "endpoint", Value: endpoint},
			{Name: "accountKey", SecretKeyRef: ref("sdr-azure", "key")},
		}},
		secrets: map[string]string{"sdr-azure/key": plantedAzureKey},
		planted: []string{plantedAzureKey},
	}
	b.open = func(t *testing.T, key string) Object { return fromComponent(t, b, b.component, key) }
	b.openFailing = func(t *testing.T, key string) Object {
		return fromComponent(t, b, withEndpoint(b.component, failingProxy(t, endpoint, key, false)), key)
	}
	return b
}

func gcsBackend(t *testing.T) *backend {
	endpoint := testenv.StartFakeGCS(t, "sdr-bucket")
	// A service-account key whose token endpoint is local: the client signs
	// a JWT with the planted private key and gets the planted token.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": plantedGCSToken, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(tokens.Close)
	b := &backend{
		name: "gcs",
		component: &Component{Name: "objectstore", Type: "bindings.gcp.bucket", Metadata: []MetadataItem{
			{Name: "bucket", Value: "sdr-bucket"},
			{Name: "project_id", Value: "sdr-project"},
			{Name: "endpoint", Value: endpoint},
			{Name: "type", Value: "service_account"},
			{Name: "client_email", Value: "sdr-mirror@sdr-project.iam.gserviceaccount.com"},
			{Name: "private_key_id", SecretKeyRef: ref("sdr-gcs", "private_key_id")},
			{Name: "private_key", SecretKeyRef: ref("sdr-gcs", "private_key")},
			{Name: "token_uri", Value: tokens.URL},
		}},
		secrets: map[string]string{"sdr-gcs/private_key": pemKey, "sdr-gcs/private_key_id": "sdrMirrorPlantedKeyId42"},
		planted: []string{pemKey, "sdrMirrorPlantedKeyId42", plantedGCSToken,
			// the base64 body of the key, line by line
			strings.Split(pemKey, "\n")[1]},
	}
	b.open = func(t *testing.T, key string) Object { return fromComponent(t, b, b.component, key) }
	b.openFailing = func(t *testing.T, key string) Object {
		return fromComponent(t, b, withEndpoint(b.component, failingProxy(t, endpoint, key, true)), key)
	}
	return b
}

// TestOpenBucketURLsServers opens the servers through gocloud URLs, with
// credentials from each provider's default chain.
func TestOpenBucketURLsServers(t *testing.T) {
	t.Run("s3", func(t *testing.T) {
		b := s3Backend(t)
		ep := "http://" + b.component.Metadata[2].Value
		t.Setenv("AWS_ACCESS_KEY_ID", plantedAccessKey)
		t.Setenv("AWS_SECRET_ACCESS_KEY", plantedSecretKey)
		t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
		checkOpenBucketURL(t, "s3://sdr-bucket?region=us-east-1&use_path_style=true&endpoint="+url.QueryEscape(ep))
	})
	t.Run("gs", func(t *testing.T) {
		b := gcsBackend(t)
		t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(b.component.Metadata[2].Value, "http://"))
		checkOpenBucketURL(t, "gs://sdr-bucket")
	})
	t.Run("azblob", func(t *testing.T) {
		b := azureBackend(t)
		t.Setenv("AZURE_STORAGE_ACCOUNT", plantedAzureAcct)
		t.Setenv("AZURE_STORAGE_KEY", plantedAzureKey)
		checkOpenBucketURL(t, "azblob://sdr-container?protocol=http&localemu=true&domain="+strings.TrimPrefix(b.component.Metadata[2].Value, "http://"))
	})
}
