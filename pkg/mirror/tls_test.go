package mirror

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestUnknownCA: a registry whose certificate comes from an unknown CA is
// refused, unless --registry-ca-file or --insecure-registry names it.
func TestUnknownCA(t *testing.T) {
	srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := name.ParseReference(host + "/atlanhq/app:1")
	if err := remote.Write(src, img, remote.WithTransport(srv.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	pair := []Pair{{Source: host + "/atlanhq/app:1", Destination: host + "/mirror/app:1"}}

	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Copy(context.Background(), pair)
	if err == nil || !strings.Contains(rep.Images[0].Error, "certificate") || !strings.Contains(rep.Images[0].Error, host) ||
		!strings.Contains(rep.Images[0].Error, "pass that CA's PEM file with --registry-ca-file") {
		t.Fatalf("copy from an unknown CA = %v (%s), want a certificate error naming %s and --registry-ca-file", err, rep.Images[0].Error, host)
	}
	for name, opt := range map[string]Option{"--registry-ca-file": WithCAFile(ca), "--insecure-registry": WithInsecure(host)} {
		c, err := New(opt)
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := c.Copy(context.Background(), pair); err != nil {
			t.Errorf("copy with %s: %v (%s)", name, err, rep.Images[0].Error)
		}
	}
}
