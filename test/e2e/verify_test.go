package e2e

import (
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/sigtest"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
)

// TestVerify runs the verify command against a registry holding images
// signed keyless by an offline Sigstore, with its trusted root.
func TestVerify(t *testing.T) {
	needKubectl(t)
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close) // scripts run as parallel subtests, after this function returns
	reg := strings.TrimPrefix(srv.URL, "http://")
	s, err := sigtest.New()
	if err != nil {
		t.Fatal(err)
	}
	other, err := sigtest.New()
	if err != nil {
		t.Fatal(err)
	}
	root, err := s.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	push := func(repo string) name.Digest {
		idx, err := random.Index(128, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		tag, err := name.NewTag(reg + "/" + repo + ":1.0")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.WriteIndex(tag, idx); err != nil {
			t.Fatal(err)
		}
		d, _ := idx.Digest()
		return tag.Context().Digest(d.String())
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	good := push("atlanhq/good")
	must(s.SignClassic(good, verify.DefaultIdentity, verify.DefaultIssuer, sigtest.Payload(good)))
	bundled := push("atlanhq/bundled")
	must(s.SignReferrer(bundled, verify.DefaultIdentity, verify.DefaultIssuer))
	push("atlanhq/unsigned")
	wrongID := push("atlanhq/wrong-identity")
	must(s.SignClassic(wrongID, "https://github.com/someone/else/.github/workflows/x.yaml@refs/heads/main", verify.DefaultIssuer, sigtest.Payload(wrongID)))
	untrusted := push("atlanhq/untrusted")
	must(other.SignClassic(untrusted, verify.DefaultIdentity, verify.DefaultIssuer, sigtest.Payload(untrusted)))

	// The same registry behind TLS with a certificate from an unknown CA.
	up, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(up)
	rp.ErrorLog = log.New(io.Discard, "", 0) // clients that give up mid-request
	tlsSrv := httptest.NewUnstartedServer(rp)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})

	p := params("verify")
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		env.Setenv("REG", reg)
		env.Setenv("TLSREG", strings.TrimPrefix(tlsSrv.URL, "https://"))
		if err := os.WriteFile(filepath.Join(env.WorkDir, "ca.pem"), caPEM, 0o600); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(env.WorkDir, "trusted_root.json"), root, 0o600)
	}
	testscript.Run(t, p)
}
