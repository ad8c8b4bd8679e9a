package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
)

// TestBucketUnknownCA: an S3 server whose certificate comes from an unknown
// CA is refused, with one error line naming the bucket; trusting the CA
// (AWS_CA_BUNDLE, as every AWS client honours it) lets the same command
// through.
func TestBucketUnknownCA(t *testing.T) {
	const key, secret, bucket = "tlskey", "tls-secret-PLANTED-77", "sdr-tls"
	bin := testenv.Path(t, "SDR_MIRROR_VERSITYGW")
	dir := t.TempDir()
	caPEM, certPEM, keyPEM := selfSignedFor127(t)
	for name, data := range map[string][]byte{"ca.pem": caPEM, "cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	root, meta := filepath.Join(dir, "root"), filepath.Join(dir, "meta")
	for _, d := range []string{root, meta, filepath.Join(root, bucket)} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	cmd := exec.Command(bin, "--port", addr, "--quiet", "--cert", filepath.Join(dir, "cert.pem"), "--key", filepath.Join(dir, "key.pem"),
		"posix", "--sidecar", meta, root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+key, "ROOT_SECRET_ACCESS_KEY="+secret)
	testenv.Start(t, "versitygw-tls", cmd, addr, dir)

	url := "s3://" + bucket + "?endpoint=https://" + addr + "&region=us-east-1&use_path_style=true"
	run := func(extra ...string) (string, error) {
		c := exec.Command(filepath.Join(binDir, "kubectl-sdr_mirror"), "map", "set", "atlanhq/a", "reg.example.com/atlan/a",
			"--bucket", url, "--image-map-path", "sdr/image-map.yaml", "-v")
		c.Env = append(os.Environ(), append([]string{"AWS_ACCESS_KEY_ID=" + key, "AWS_SECRET_ACCESS_KEY=" + secret, "HOME=" + dir}, extra...)...)
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		err := c.Run()
		return out.String(), err
	}
	out, err := run()
	if err == nil {
		t.Fatalf("a bucket with an unknown CA was accepted:\n%s", out)
	}
	var errLines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "error: ") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) != 1 || !strings.Contains(errLines[0], "certificate") || !strings.Contains(errLines[0], bucket) {
		t.Fatalf("want one error line about the certificate naming the bucket, got:\n%s", out)
	}
	if strings.Contains(out, secret) {
		t.Fatalf("output carries the storage secret:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(root, bucket, "sdr", "image-map.yaml")); err == nil {
		t.Fatal("the refused run wrote the map")
	}
	if out, err := run("AWS_CA_BUNDLE=" + filepath.Join(dir, "ca.pem")); err != nil {
		t.Fatalf("with the CA trusted the write failed: %v\n%s", err, out)
	}
}

// selfSignedFor127 makes a CA and a server certificate for 127.0.0.1.
func selfSignedFor127(t *testing.T) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sdr-mirror test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, srvKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
