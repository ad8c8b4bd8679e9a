package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
)

// inspectingProxy is an HTTPS proxy that opens every CONNECT tunnel as a
// TLS-inspecting proxy does: it answers with a certificate for the
// requested host signed by ca, and sends each request on to upstream
// (https, its certificate also signed by ca). Nothing leaves the machine.
func inspectingProxy(t *testing.T, ca *testenv.TLS, upstream string, tunnels *atomic.Int32) string {
	up, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	client := ca.Client()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "this proxy only tunnels", http.StatusMethodNotAllowed)
			return
		}
		tunnels.Add(1)
		host, _, _ := net.SplitHostPort(r.Host)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
			return
		}
		tconn := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{ca.Certificate(host)}, MinVersion: tls.VersionTLS12})
		br := bufio.NewReader(tconn)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			req.URL.Scheme, req.URL.Host, req.Host, req.RequestURI = "https", up.Host, up.Host, ""
			resp, err := client.Do(req)
			if err != nil {
				resp = &http.Response{StatusCode: http.StatusBadGateway, ProtoMajor: 1, ProtoMinor: 1, Body: http.NoBody}
			}
			err = resp.Write(tconn)
			_ = resp.Body.Close()
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// tlsBucket is one way of naming a bucket served over TLS.
type tlsBucket struct {
	name string
	// args locate the map: --bucket URL or --objectstore-component FILE,
	// with --image-map-path.
	args []string
	// env carries credentials for URL forms, as each provider reads them.
	env []string
	// secrets must never be printed.
	secrets []string
}

// TestBucketUnknownCA: S3 (versitygw), GCS (fake-gcs-server) and Azure
// (Azurite) servers whose certificate comes from an unknown CA, each named
// by URL and by Dapr component. Without the CA the tool refuses with one
// error line naming the bucket and --bucket-ca-file, and writes nothing;
// another CA is refused too; --bucket-ca-file with the right CA lets the
// write through; a file that is not a CA certificate is refused by name.
func TestBucketUnknownCA(t *testing.T) {
	const key, secret = "tlskey", "tls-secret-PLANTED-77"
	srv := testenv.NewTLS(t)
	other := testenv.NewTLS(t) // a CA that did not sign the servers' certificate
	dir := t.TempDir()
	writeFile := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s3ep := testenv.StartVersityGWTLS(t, key, secret, "sdr-tls", srv)
	gcsep := testenv.StartFakeGCSTLS(t, "sdr-tls", srv)
	azep := testenv.StartAzuriteTLS(t, "sdrmirrortls", e2eAzureKey, "sdr-tls", srv)
	azHost := strings.TrimPrefix(azep, "https://")
	var tunnels atomic.Int32

	buckets := []tlsBucket{
		{name: "s3-url", args: []string{"--bucket", "s3://sdr-tls?endpoint=" + s3ep + "&region=us-east-1&use_path_style=true"},
			env: []string{"AWS_ACCESS_KEY_ID=" + key, "AWS_SECRET_ACCESS_KEY=" + secret}, secrets: []string{secret}},
		{name: "s3-component", args: []string{"--objectstore-component", writeFile("s3.yaml", component("bindings.aws.s3", map[string]string{
			"bucket": "sdr-tls", "region": "us-east-1", "endpoint": s3ep, "forcePathStyle": "true", "accessKey": key, "secretKey": secret}))},
			secrets: []string{secret}},
		// A gs:// URL always names Google's endpoint: here it is reached
		// through a TLS-inspecting proxy whose CA the machine does not trust.
		{name: "gcs-url-through-proxy", args: []string{"--bucket", "gs://sdr-tls?anonymous=true"},
			env: []string{"HTTPS_PROXY=" + inspectingProxy(t, srv, gcsep, &tunnels), "NO_PROXY=", "no_proxy="}},
		{name: "gcs-component", args: []string{"--objectstore-component", writeFile("gcs.yaml", component("bindings.gcp.bucket", map[string]string{
			"bucket": "sdr-tls", "endpoint": gcsep}))}},
		{name: "azure-url", args: []string{"--bucket", "azblob://sdr-tls?localemu=true&protocol=https&domain=" + azHost},
			env: []string{"AZURE_STORAGE_ACCOUNT=sdrmirrortls", "AZURE_STORAGE_KEY=" + e2eAzureKey}, secrets: []string{e2eAzureKey}},
		{name: "azure-component", args: []string{"--objectstore-component", writeFile("azure.yaml", component("bindings.azure.blobstorage", map[string]string{
			"accountName": "sdrmirrortls", "containerName": "sdr-tls", "endpoint": azep, "accountKey": e2eAzureKey}))},
			secrets: []string{e2eAzureKey}},
	}
	t.Cleanup(func() {
		if tunnels.Load() == 0 {
			t.Error("the gs:// bucket was not reached through the inspecting proxy")
		}
	})
	images := writeFile("images.txt", "atlanhq/a:1.0\n")
	notPEM := writeFile("not-a-ca.pem", "this is not a certificate\n")
	for _, b := range buckets {
		t.Run(b.name, func(t *testing.T) {
			mapKey := "sdr/" + b.name + "/image-map.yaml"
			run := func(env []string, args ...string) (string, error) {
				c := exec.Command(filepath.Join(binDir, "kubectl-sdr_mirror"), append(append(args, b.args...), "--image-map-path", mapKey, "-v")...)
				c.Env = append(os.Environ(), append([]string{"HOME=" + dir}, append(b.env, env...)...)...)
				var out bytes.Buffer
				c.Stdout, c.Stderr = &out, &out
				err := c.Run()
				for _, s := range b.secrets {
					if strings.Contains(out.String(), s) {
						t.Fatalf("output carries a planted secret:\n%s", out.String())
					}
				}
				return out.String(), err
			}
			set := []string{"map", "set", "atlanhq/a", "reg.example.com/atlan/a"}
			refused := func(out string, err error, want ...string) {
				t.Helper()
				if err == nil {
					t.Fatalf("the command was accepted:\n%s", out)
				}
				var errLines []string
				for _, l := range strings.Split(out, "\n") {
					if strings.HasPrefix(l, "error: ") {
						errLines = append(errLines, l)
					}
				}
				if len(errLines) != 1 {
					t.Fatalf("want one error line, got:\n%s", out)
				}
				t.Logf("refused: %s", errLines[0])
				for _, w := range want {
					if !strings.Contains(errLines[0], w) {
						t.Fatalf("the error line lacks %q:\n%s", w, out)
					}
				}
			}

			out, err := run(nil, set...)
			refused(out, err, "sdr-tls", "certificate", "--bucket-ca-file")
			out, err = run(nil, append(set, "--bucket-ca-file", other.CA)...)
			refused(out, err, "sdr-tls", "certificate", "--bucket-ca-file")
			out, err = run(nil, append(set, "--bucket-ca-file", notPEM)...)
			refused(out, err, notPEM, "no PEM certificate")

			// Nothing was written by the refused runs.
			out, err = run(nil, "map", "get", "--raw", "--bucket-ca-file", srv.CA)
			refused(out, err, "sdr-tls", "does not exist")

			if out, err := run(nil, append(set, "--bucket-ca-file", srv.CA)...); err != nil {
				t.Fatalf("with --bucket-ca-file the write failed: %v\n%s", err, out)
			}
			out, err = run(nil, "map", "get", "--raw", "--bucket-ca-file", srv.CA)
			if err != nil || !strings.Contains(out, `"atlanhq/a": "reg.example.com/atlan/a"`) {
				t.Fatalf("map get after the write = %v:\n%s", err, out)
			}
			// diff and sync open the bucket the same way.
			out, err = run(nil, "diff", "--offline", "--images-file", images)
			refused(out, err, "sdr-tls", "--bucket-ca-file")
			out, err = run(nil, "diff", "--offline", "--images-file", images, "--bucket-ca-file", srv.CA)
			if err != nil || !strings.Contains(out, "reg.example.com/atlan/a:1.0") {
				t.Fatalf("diff with --bucket-ca-file = %v:\n%s", err, out)
			}
			if b.name == "s3-url" {
				// The CA trusted the way every AWS client reads it works too.
				if out, err := run([]string{"AWS_CA_BUNDLE=" + srv.CA}, "map", "set", "atlanhq/b", "reg.example.com/atlan/b"); err != nil {
					t.Fatalf("with AWS_CA_BUNDLE the write failed: %v\n%s", err, out)
				}
			}
		})
	}
}
