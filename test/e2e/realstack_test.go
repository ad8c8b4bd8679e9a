package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/fixture"
	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testenv"
	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/testsdr"
)

// The real-stack SDR: its namespace, release and bucket.
const (
	realNamespace = "atlan-real"
	realRelease   = "atlan-sdr-real"
	realBucket    = "sdr-real"
	realS3Key     = "AKIAREALSTACK"
	realS3Secret  = "realstack-s3-secret-value"
	realRegUser   = "mirror"
	realRegPass   = "realstack-reg-s3cret"
)

// TestRealStack runs diff and sync through kubectl and helm against real
// components only: an SDR installed by helm into kube-apiserver, its Dapr
// objectstore (bindings.aws.s3, keys in a Kubernetes Secret) on versitygw,
// a Distribution registry standing in for Docker Hub (reached through
// --registry-mirror) with images signed keyless by an offline Sigstore, a
// Distribution destination with htpasswd and TLS, and the latest-releases
// endpoint. Nothing is given by flag that the SDR's values say. It runs
// twice, on two real implementations: Debian's Distribution 2.8 and
// Distribution v3.1.2. Neither serves the OCI referrers API (v3.1.2 routes
// no /referrers/ endpoint; it answers 404 page not found), so referrers
// travel through the sha256-<hex> fallback tag on both; the API path is
// covered against go-containerregistry's registry, which serves it.
func TestRealStack(t *testing.T) {
	needKubectl(t)
	env := testsdr.Install(t)
	linkHelm(t)
	for _, impl := range []struct {
		name, bin, namespace string
		referrersAPI         bool
	}{
		{"distribution2.8", "SDR_MIRROR_REGISTRY_BIN", realNamespace, false},
		{"distribution3", "SDR_MIRROR_REGISTRY3_BIN", realNamespace + "-v3", false},
	} {
		t.Run(impl.name, func(t *testing.T) {
			realStack(t, env, testenv.Path(t, impl.bin), impl.namespace, impl.referrersAPI)
		})
	}
}

// realStack is one run of the real-stack script, with regBin serving both
// registries and the SDR in namespace.
func realStack(t *testing.T, env *testsdr.Env, regBin, namespace string, referrersAPI bool) {
	s3 := testenv.StartVersityGW(t, realS3Key, realS3Secret, realBucket)
	dir := t.TempDir()
	hub, hubPID, err := testenv.StartRegistry(regBin, filepath.Join(dir, "hub"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.StopRegistry(hubPID) })
	dst, dstPID, err := testenv.StartRegistry(regBin, filepath.Join(dir, "dst"), "--htpasswd", realRegUser+":"+realRegPass, "--tls")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.StopRegistry(dstPID) })
	ca, err := os.ReadFile(filepath.Join(dir, "dst", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}

	f, err := fixture.Start(dir, fixture.WithSourceRegistry(hub), fixture.WithDestRegistry(dst))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	// The SDR chart's own images (found in its release) and two announced
	// apps, one of them unsigned.
	digests, err := f.Publish(
		fixture.App{Name: "atlan-sdr", Version: "1.4.0", NotAnnounced: true},
		fixture.App{Name: "atlan-sdr-init", Version: "1.4.0", NotAnnounced: true},
		fixture.App{Name: "atlan-sdr-migrate", Version: "1.4.0", NotAnnounced: true},
		fixture.App{Name: "atlan-sdr-reconciler", Version: "1.4.0", NotAnnounced: true},
		fixture.App{Name: "atlan-teradata-app", Version: "3.1.4", Attested: true},
		fixture.App{Name: "atlan-sketchy-app", Version: "0.9.0", Unsigned: true},
	)
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.ReadFile(f.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}

	env.Run(t, "", "create", "namespace", namespace)
	env.Run(t, "", "-n", namespace, "create", "secret", "generic", "sdr-objectstore",
		"--from-literal=access-key="+realS3Key, "--from-literal=secret-key="+realS3Secret)
	env.InstallSDR(t, namespace, realRelease, fmt.Sprintf(`
sdr:
  deploymentName: real
  config:
    imageMapPath: sdr/image-map.yaml
    containerRegistryBase: %s/atlan
objectstore:
  type: bindings.aws.s3
  metadata:
  - name: bucket
    value: %s
  - name: endpoint
    value: %s
  - name: region
    value: us-east-1
  - name: forcePathStyle
    value: "true"
  - name: accessKey
    secretKeyRef: {name: sdr-objectstore, key: access-key}
  - name: secretKey
    secretKeyRef: {name: sdr-objectstore, key: secret-key}
`, dst, realBucket, s3))

	p := params("realstack")
	setup := p.Setup
	p.Setup = func(e *testscript.Env) error {
		if err := setup(e); err != nil {
			return err
		}
		e.Setenv("KUBECONFIG", env.Kubeconfig)
		if err := installHelmPlugin(e); err != nil {
			return err
		}
		e.Setenv("NS", namespace)
		e.Setenv("HUB", hub)
		e.Setenv("DST", dst)
		e.Setenv("S3", s3)
		e.Setenv("ATLAN_URL", f.AtlanURL)
		e.Setenv("ATLAN_API_TOKEN", f.Token)
		for app, d := range digests {
			e.Setenv(envName(app)+"_DIGEST", d)
		}
		auth := base64.StdEncoding.EncodeToString([]byte(realRegUser + ":" + realRegPass))
		for file, data := range map[string][]byte{
			"trusted_root.json": root,
			"ca.pem":            ca,
			"auth.json":         []byte(`{"auths":{"` + dst + `":{"auth":"` + auth + `"}}}`),
		} {
			if err := os.WriteFile(filepath.Join(e.WorkDir, file), data, 0o600); err != nil {
				return err
			}
		}
		return nil
	}
	p.Condition = func(cond string) (bool, error) {
		if cond == "referrers-api" {
			return referrersAPI, nil
		}
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	p.Cmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
		// referrers REPO@DIGEST: the referrers the destination holds for
		// the digest, one "api ARTIFACT-TYPE" line each when its
		// referrers API answers with an OCI index, else one "tag
		// ARTIFACT-TYPE" line each from the sha256-<hex> fallback tag.
		"referrers": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: referrers REPO@DIGEST")
			}
			lines, err := destReferrers(args[0], ca)
			ts.Check(err)
			for _, l := range lines {
				fmt.Fprintln(ts.Stdout(), l)
			}
		},
		// publish NAME VERSION: a new signed release Atlan announces.
		"publish": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 2 {
				ts.Fatalf("usage: publish NAME VERSION")
			}
			d, err := f.Publish(fixture.App{Name: args[0], Version: args[1]})
			ts.Check(err)
			ts.Setenv(envName(args[0])+"_DIGEST", d[args[0]])
		},
		// status N PROG ARGS...: run PROG, which must exit with status N.
		"status": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) < 2 {
				ts.Fatalf("usage: status N PROG ARGS...")
			}
			want, err := strconv.Atoi(args[0])
			ts.Check(err)
			got := 0
			if err := ts.Exec(args[1], args[2:]...); err != nil {
				var exit *exec.ExitError
				if !errors.As(err, &exit) {
					ts.Fatalf("%s: %v", args[1], err)
				}
				got = exit.ExitCode()
			}
			if got != want {
				ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
			}
		},
		// digest REF: the digest the destination registry holds for REF,
		// read with the registry's CA and credentials, independently of
		// the tool.
		"digest": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 1 {
				ts.Fatalf("usage: digest REF")
			}
			d, err := destDigest(args[0], ca)
			if neg {
				if err == nil {
					ts.Fatalf("%s exists with digest %s", args[0], d)
				}
				return
			}
			ts.Check(err)
			fmt.Fprintln(ts.Stdout(), d)
		},
	}
	testscript.Run(t, p)
}

// destDigest reads ref's digest from the authenticated TLS destination.
func destDigest(ref string, ca []byte) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	desc, err := remote.Head(r, remote.WithTransport(tr),
		remote.WithAuth(&authn.Basic{Username: realRegUser, Password: realRegPass}))
	if err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}

// destReferrers lists the referrers of ref at the authenticated TLS
// destination, reading the referrers API and, when the registry has none,
// the fallback tag, independently of the tool.
func destReferrers(ref string, ca []byte) ([]string, error) {
	d, err := name.NewDigest(ref)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	get := func(path string) (*http.Response, []byte, error) {
		req, err := http.NewRequest(http.MethodGet, "https://"+d.RegistryStr()+"/v2/"+d.RepositoryStr()+path, nil)
		if err != nil {
			return nil, nil, err
		}
		req.SetBasicAuth(realRegUser, realRegPass)
		req.Header.Set("Accept", string(types.OCIImageIndex))
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}
	how := "api"
	resp, body, err := get("/referrers/" + d.DigestStr())
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), string(types.OCIImageIndex)) {
		how = "tag"
		if resp, body, err = get("/manifests/" + strings.Replace(d.DigestStr(), ":", "-", 1)); err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: no referrers API and no fallback tag (%s)", ref, resp.Status)
		}
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(body, &idx); err != nil {
		return nil, fmt.Errorf("%s: referrers (%s): %w", ref, how, err)
	}
	var lines []string
	for _, m := range idx.Manifests {
		lines = append(lines, how+" "+m.ArtifactType)
	}
	return lines, nil
}

// envName turns an app name into a script variable prefix:
// atlan-teradata-app -> ATLAN_TERADATA_APP.
func envName(app string) string {
	out := []byte{}
	for _, c := range []byte(app) {
		switch {
		case c == '-':
			out = append(out, '_')
		case c >= 'a' && c <= 'z':
			out = append(out, c-'a'+'A')
		default:
			out = append(out, c)
		}
	}
	return string(out)
}
