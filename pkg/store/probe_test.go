package store

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testnet"
)

func s3URL(endpoint string) string {
	return "s3://b?endpoint=http://" + endpoint + "&region=us-east-1&use_path_style=true"
}

// TestProbe: a bucket whose endpoint does not answer fails in one bounded
// request with one line naming the endpoint and what to check; a missing
// object is fine; refused or missing credentials say so.
func TestProbe(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAPROBETEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "probe-secret-PLANTED")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AZURE_STORAGE_ACCOUNT", "devstoreaccount1")
	t.Setenv("AZURE_STORAGE_KEY", "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
	closed := testnet.ClosedPort(t)
	status := func(code int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }))
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}
	missing, denied := status(http.StatusNotFound), status(http.StatusForbidden)

	tests := []struct {
		name    string
		url     string
		env     map[string]string
		timeout time.Duration
		want    string // the whole line; "" for no error
	}{
		{name: "s3 closed port", url: s3URL(closed),
			want: `cannot reach the bucket of "s3://b/sdr/image-map.yaml" at ` + closed + ` (connection refused): check the endpoint's host and port, and a firewall or proxy on the way (HTTPS_PROXY, and NO_PROXY for hosts reached directly)`},
		{name: "azure closed port", url: "azblob://c?protocol=http&domain=" + closed,
			want: `cannot reach the bucket of "azblob://c/sdr/image-map.yaml" at ` + closed + ` (connection refused)`},
		{name: "gcs closed port", url: "gs://b", env: map[string]string{"STORAGE_EMULATOR_HOST": closed},
			want: `cannot reach the bucket of "gs://b/sdr/image-map.yaml" at ` + closed + ` (connection refused)`},
		{name: "s3 silent", url: s3URL(testnet.Silent(t)), timeout: 300 * time.Millisecond,
			want: `(no answer within 300ms): check a firewall or proxy on the way`},
		{name: "s3 object not there yet", url: s3URL(missing)},
		{name: "s3 refuses the credentials", url: s3URL(denied),
			want: `cannot use the bucket of "s3://b/sdr/image-map.yaml" (it refused the credentials): check the bucket credentials`},
		{name: "s3 no credentials", url: s3URL(missing), env: map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""},
			want: `cannot use the bucket of "s3://b/sdr/image-map.yaml" (no credentials found): give the bucket credentials`},
		{name: "mem", url: "mem://"},
		{name: "file", url: "file://" + t.TempDir()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			ctx := context.Background()
			obj, err := OpenBucket(ctx, tc.url, "sdr/image-map.yaml")
			if err != nil {
				t.Fatal(err)
			}
			defer obj.Close()
			start := time.Now()
			err = Probe(ctx, obj, tc.timeout)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Probe took %s, want a bounded few seconds", d)
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Probe(%s) = %v, want nil", tc.url, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Probe(%s) = nil, want %q", tc.url, tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") || strings.Contains(msg, "PLANTED") {
				t.Errorf("Probe(%s) = %q, want one line containing %q and no secret", tc.url, msg, tc.want)
			}
			var ue *UnreachableError
			if !errors.As(err, &ue) {
				t.Errorf("Probe error %T is no *UnreachableError", err)
			}
		})
	}
}

// TestReadFailsFast: a refused connection is not retried by the SDKs, so
// reading from a closed port fails at once rather than after their
// backoff.
func TestReadFailsFast(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAPROBETEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "probe-secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	obj, err := OpenBucket(context.Background(), s3URL(addr), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	_, _, err = obj.Read(context.Background())
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Read from a closed port = %v, want connection refused", err)
	}
	if strings.Contains(err.Error(), "exceeded maximum number of attempts") {
		t.Errorf("Read from a closed port was retried: %v", err)
	}
}
