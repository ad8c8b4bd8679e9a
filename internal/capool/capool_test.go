package capool

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	defer srv.Close()
	good := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(good, pemOf(srv.Certificate()), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read("bucket CA file", good); err != nil {
		t.Errorf("Read(a CA certificate) = %v", err)
	}
	for file, want := range map[string]string{
		bad:                              `bucket CA file "` + bad + `" holds no PEM certificate`,
		filepath.Join(dir, "absent.pem"): `reading bucket CA file "` + filepath.Join(dir, "absent.pem") + `": no such file or directory`,
	} {
		if _, err := Read("bucket CA file", file); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Read(%s) = %v, want an error starting %q", file, err, want)
		}
	}

	// A client configured with Config reaches the server; one with the
	// system roots alone does not.
	data, _ := Read("bucket CA file", good)
	for name, cfg := range map[string]*tls.Config{"with the CA": Config(nil, data), "without": Config(nil)} {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		resp, err := c.Get(srv.URL)
		if err == nil {
			_ = resp.Body.Close()
		}
		if (err == nil) != (name == "with the CA") {
			t.Errorf("%s: Get = %v", name, err)
		}
	}
	// The roots of a base configuration are kept, and the base itself is
	// not changed.
	base := &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS13}
	cfg := Config(base, data)
	if cfg.MinVersion != tls.VersionTLS13 || cfg.RootCAs == base.RootCAs || base.RootCAs.Equal(cfg.RootCAs) {
		t.Errorf("Config(base) = %+v; want base's settings with its own pool", cfg)
	}
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
