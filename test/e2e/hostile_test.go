package e2e

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
)

// Secrets planted in the inputs; none may appear in any output.
const (
	plantedToken    = "atlan-token-PLANTED-7c41e9"
	plantedPassword = "registry-password-PLANTED-93ab"
	plantedKey      = "storage-key-PLANTED-5d2f"
)

// hostileCase is one broken or hostile input: the command, the files it
// reads, and the one error line it must give.
type hostileCase struct {
	name  string
	files map[string]string // relative path -> content, written before the run
	args  []string          // $DIR, $BUCKET, $REL_<name> are replaced
	stdin string
	err   string // regexp the error line must match
}

// TestHostileInputs feeds the binary a catalogue of broken and hostile
// inputs. Each must give one error line naming the input, exit non-zero,
// write nothing, and print no planted secret at any verbosity.
func TestHostileInputs(t *testing.T) {
	bin := filepath.Join(binDir, "kubectl-sdr_mirror")
	releases := hostileReleaseServers(t)
	validMap := "images:\n  \"atlanhq/a\": \"reg.example.com/atlan/a\"\n"
	mapSet := []string{"map", "set", "atlanhq/new", "reg.example.com/atlan/new", "--bucket", "file://$BUCKET", "--image-map-path", "m.yaml"}
	diffReleases := func(server string) []string {
		return []string{"diff", "--offline", "--atlan-url", "$REL_" + server, "--atlan-timeout", "1s",
			"--bucket", "file://$BUCKET", "--image-map-path", "m.yaml", "--target", "reg.example.com/atlan"}
	}
	cases := []hostileCase{
		// Image maps: refused before any write.
		{name: "map duplicate keys", files: map[string]string{"bucket/m.yaml": "images:\n  \"atlanhq/a\": \"r/a\"\n  \"atlanhq/a\": \"r/b\"\n"}, args: mapSet, err: `line 3: images: key "atlanhq/a" is defined again`},
		{name: "map alias value", files: map[string]string{"bucket/m.yaml": "images:\n  \"atlanhq/a\": &x \"r/a\"\n  \"atlanhq/b\": *x\n"}, args: mapSet, err: `line 3: .*found an alias`},
		{name: "map merge key", files: map[string]string{"bucket/m.yaml": "base: &b {\"atlanhq/a\": \"r/a\"}\nimages:\n  <<: *b\n"}, args: mapSet, err: `line 1: anchors and aliases are not allowed|line 3: images: merge keys`},
		{name: "map billion laughs", files: map[string]string{"bucket/m.yaml": "images: {}\na: &a [\"lol\",\"lol\",\"lol\"]\nb: &b [*a,*a,*a]\nc: &c [*b,*b,*b]\nd: [*c,*c,*c]\n"}, args: mapSet, err: `anchors and aliases are not allowed in an image map`},
		{name: "map huge", files: map[string]string{"bucket/m.yaml": "images:\n" + strings.Repeat("  \"atlanhq/a\": \"r/a\"\n", 500000)}, args: mapSet, err: `reading image map ".*m.yaml": .*over the 8 MiB an image map may have`},
		{name: "map number value", files: map[string]string{"bucket/m.yaml": "images:\n  \"atlanhq/a:1\": 1.5\n"}, args: mapSet, err: `line 2: images: value of "atlanhq/a:1" must be an image reference string, found the value 1.5`},
		{name: "map images is a list", files: map[string]string{"bucket/m.yaml": "images:\n  - atlanhq/a\n"}, args: mapSet, err: `line 2: "images" must be a mapping`},
		{name: "map release unknown field", files: map[string]string{"bucket/m.yaml": validMap + "release:\n  name: x\n  namespace: y\n"}, args: mapSet, err: `line 5: release: unknown field "namespace"`},
		{name: "map release wrong type", files: map[string]string{"bucket/m.yaml": validMap + "release: [x]\n"}, args: mapSet, err: `line 3: "release" must be a mapping`},
		{name: "map two documents", files: map[string]string{"bucket/m.yaml": validMap + "---\n" + validMap}, args: mapSet, err: `more than one YAML document`},
		{name: "map broken syntax", files: map[string]string{"bucket/m.yaml": "images:\n\t\"atlanhq/a\": \"r/a\"\n"}, args: mapSet, err: `reading image map ".*m.yaml": line 2: found character that cannot start any token`},
		{name: "map scalar root", files: map[string]string{"bucket/m.yaml": "just a string\n"}, args: mapSet, err: `line 1: the map must be a YAML mapping`},
		{name: "map bare key with tag", files: map[string]string{"bucket/m.yaml": "images:\n  \"atlanhq/a\": \"r/a:1.0\"\n"}, args: mapSet, err: `line 2: images: "atlanhq/a" is a bare repository key`},
		{name: "map control characters in key", files: map[string]string{"bucket/m.yaml": "images:\n  \"atlanhq/a\\u0007\": \"r/a\"\n"}, args: mapSet, err: `line 2: images: key: invalid image reference .*control`},
		// latest-releases responses.
		{name: "releases huge", args: diffReleases("HUGE"), err: `over the \d+-byte limit`},
		{name: "releases slow", args: diffReleases("SLOW"), err: `fetching http://127\.0\.0\.1:\d+/api/service/marketplace/latest-releases: .*Timeout`},
		{name: "releases malformed", args: diffReleases("MALFORMED"), err: `latest-releases response is not the expected JSON document`},
		{name: "releases html", args: diffReleases("HTML"), err: `not JSON; check --atlan-url`},
		{name: "releases unauthorized", args: diffReleases("UNAUTHORIZED"), err: `401 Unauthorized; check ATLAN_API_TOKEN`},
		{name: "releases path traversal", args: diffReleases("TRAVERSAL"), err: `1 latest-releases entry was skipped`},
		{name: "releases control characters", args: diffReleases("CONTROL"), err: `1 latest-releases entry was skipped`},
		{name: "releases foreign registry", args: diffReleases("FOREIGN"), err: `1 latest-releases entry was skipped`},
		{name: "releases missing fields", args: diffReleases("MISSING"), err: `1 latest-releases entry was skipped`},
		// Values and config files.
		{name: "config not yaml", files: map[string]string{"config.yaml": "deployment_name: [\n"}, args: []string{"diff", "--offline", "--config", "$DIR/config.yaml", "--images-file", "$DIR/images.txt"}, err: `reading SDR config ".*config.yaml"`},
		{name: "config objectstore wrong type", files: map[string]string{"config.yaml": "deployment_name: x\ncontainer_registry:\n  image_map_path: m.yaml\n  password: " + plantedPassword + "\nobjectstore: 42\n"}, args: []string{"diff", "--offline", "--config", "$DIR/config.yaml", "--images-file", "$DIR/images.txt"}, err: `objectstore is not a Dapr component`},
		{name: "config without map or base", files: map[string]string{"config.yaml": "deployment_name: x\n"}, args: []string{"diff", "--offline", "--config", "$DIR/config.yaml", "--images-file", "$DIR/images.txt"}, err: `image map key not found: .*pass --image-map-path`},
		{name: "values file missing", args: []string{"diff", "--offline", "--values", "$DIR/nope.yaml", "--images-file", "$DIR/images.txt"}, err: `nope.yaml`},
		{name: "values file malformed", files: map[string]string{"values.yaml": "sdr: {config: [\n"}, args: []string{"diff", "--offline", "--values", "$DIR/values.yaml", "--images-file", "$DIR/images.txt"}, err: `values.yaml`},
		{name: "component malformed", files: map[string]string{"component.yaml": "spec: {type: bindings.aws.s3, metadata: [{name: accessKey, value: " + plantedKey + "}, {name: bucket\n"}, args: []string{"map", "get", "--objectstore-component", "$DIR/component.yaml", "--image-map-path", "m.yaml"}, err: `--objectstore-component ".*component.yaml"`},
		// Image references and flags.
		{name: "reference uppercase", args: []string{"resolve", "Atlanhq/App:1"}, err: `image argument: invalid image reference "Atlanhq/App:1"`},
		{name: "reference control character", args: []string{"resolve", "atlanhq/app:1\x1b[2J"}, err: `invalid image reference "atlanhq/app:1\\x1b\[2J": contains a space, control or non-ASCII character`},
		{name: "reference too long", args: []string{"resolve", "atlanhq/" + strings.Repeat("a", 300) + ":1"}, err: `invalid image reference .*255`},
		{name: "reference short digest", args: mapSetWith("atlanhq/a@sha256:abc", "r/a"), err: `map set: source: invalid image reference "atlanhq/a@sha256:abc"`},
		{name: "reference path traversal", args: mapSetWith("atlanhq/../../etc/passwd:1", "r/a:1"), err: `invalid image reference "atlanhq/../../etc/passwd:1"`},
		{name: "images file bad line", files: map[string]string{"bad.txt": "atlanhq/a:1\nAtlanhq/B\n"}, args: []string{"diff", "--offline", "--from", "file", "--images-file", "$DIR/bad.txt", "--bucket", "file://$BUCKET", "--image-map-path", "m.yaml", "--target", "reg.example.com/r"}, err: `images file ".*bad.txt": line 2: invalid image reference "Atlanhq/B"`},
		{name: "two mirrors for one host", args: []string{"copy", "atlanhq/a:1", "r/a:1", "--registry-mirror", "docker.io=m1:5000", "--registry-mirror", "docker.io=m2:5000"}, err: `docker.io`},
		{name: "images file line too long", files: map[string]string{"long.txt": "atlanhq/a:1\n" + strings.Repeat("a", 5000) + "\n"}, args: []string{"diff", "--offline", "--from", "file", "--images-file", "$DIR/long.txt", "--bucket", "file://$BUCKET", "--image-map-path", "m.yaml", "--target", "reg.example.com/r"}, err: `images file ".*long.txt": line 2: longer than 4096 bytes`},
		{name: "target a file URL", args: []string{"diff", "--offline", "--from", "file", "--images-file", "-", "--bucket", "file://$BUCKET", "--image-map-path", "m.yaml", "--target", "file:///srv/mirror"}, err: `--target "file:///srv/mirror": a registry prefix has no scheme; want HOST\[:PORT\]/PATH in lower case`},
		{name: "target with a tag", args: []string{"sync", "--dry-run", "--from", "file", "--images-file", "-", "--bucket", "file://$BUCKET", "--image-map-path", "m.yaml", "--target", "reg.example.com/atlan:v1"}, err: `--target "reg.example.com/atlan:v1": a registry prefix has no tag`},
		{name: "atlan url plain http", args: []string{"diff", "--offline", "--atlan-url", "http://acme.atlan.com", "--bucket", "file://$BUCKET", "--image-map-path", "m.yaml", "--target", "reg.example.com/r"}, err: `--atlan-url "http://acme.atlan.com": use https`},
		{name: "bucket URL fragment", args: []string{"map", "get", "--bucket", "file:///tmp/a#b", "--image-map-path", "m.yaml"}, err: `'#' starts a URL fragment; write it as %23`},
		{name: "bucket CA file not a certificate", files: map[string]string{"ca.pem": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"}, args: append(slices.Clone(mapSet), "--bucket-ca-file", "$DIR/ca.pem"), err: `bucket CA file ".*ca.pem" holds no PEM certificate`},
		{name: "bucket CA file missing", args: append(slices.Clone(mapSet), "--bucket-ca-file", "$DIR/nope.pem"), err: `reading bucket CA file ".*nope.pem": no such file or directory`},
		{name: "registry CA file not a certificate", files: map[string]string{"ca.pem": "key: " + plantedKey + "\n"}, args: []string{"copy", "atlanhq/a:1", "127.0.0.1:1/a:1", "--registry-ca-file", "$DIR/ca.pem"}, err: `registry CA file ".*ca.pem" holds no PEM certificate`},
		{name: "bucket scheme", args: []string{"map", "get", "--bucket", "ftp://x/y", "--image-map-path", "m.yaml"}, err: `scheme "ftp" is not supported`},
		{name: "allowed source invalid", args: []string{"diff", "--offline", "--atlan-url", "$REL_MALFORMED", "--allowed-source", "Not Valid", "--bucket", "file://$BUCKET", "--image-map-path", "m.yaml", "--target", "reg.example.com/r"}, err: `--allowed-source "Not Valid"`},
	}
	if len(cases) < 30 {
		t.Fatalf("the catalogue has %d cases, want at least 30", len(cases))
	}
	tried := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bucket := filepath.Join(dir, "bucket")
			if err := os.MkdirAll(bucket, 0o700); err != nil {
				t.Fatal(err)
			}
			files := map[string]string{"images.txt": "atlanhq/a:1\n", "bucket/m.yaml": validMap}
			for k, v := range tc.files {
				files[k] = v
			}
			for k, v := range files {
				if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshot(t, dir)
			for _, verbose := range []bool{false, true} {
				args := expandArgs(tc.args, dir, bucket, releases)
				if verbose {
					args = append(args, "-v")
				}
				cmd := exec.Command(bin, args...)
				cmd.Env = append(os.Environ(), "ATLAN_API_TOKEN="+plantedToken, "HOME="+dir, "KUBECONFIG="+filepath.Join(dir, "no-kubeconfig"))
				cmd.Stdin = strings.NewReader(tc.stdin)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				if err == nil {
					t.Fatalf("%v succeeded, want a non-zero exit\nstdout:\n%s\nstderr:\n%s", tc.args, stdout.String(), stderr.String())
				}
				var errLines []string
				for _, l := range strings.Split(stderr.String(), "\n") {
					if strings.HasPrefix(l, "error: ") {
						errLines = append(errLines, l)
					}
				}
				if len(errLines) != 1 {
					t.Fatalf("want exactly one error line, got %d:\n%s", len(errLines), stderr.String())
				}
				if !regexp.MustCompile(tc.err).MatchString(errLines[0]) {
					t.Errorf("error line %q does not match %q", errLines[0], tc.err)
				}
				for _, secret := range []string{plantedToken, plantedPassword, plantedKey} {
					if strings.Contains(stdout.String()+stderr.String(), secret) {
						t.Errorf("output carries a planted secret (verbose=%v):\n%s%s", verbose, stdout.String(), stderr.String())
					}
				}
				tried++
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("files changed: a refused input must write nothing\nbefore: %s\nafter:  %s", before, after)
			}
		})
	}
	t.Logf("hostile inputs tried: %d cases, %d runs", len(cases), tried)
}

func mapSetWith(src, dst string) []string {
	return []string{"map", "set", src, dst, "--bucket", "file://$BUCKET", "--image-map-path", "m.yaml"}
}

func expandArgs(args []string, dir, bucket string, releases map[string]string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		a = strings.ReplaceAll(a, "$BUCKET", bucket)
		a = strings.ReplaceAll(a, "$DIR", dir)
		for k, v := range releases {
			a = strings.ReplaceAll(a, "$REL_"+k, v)
		}
		out[i] = a
	}
	return out
}

// snapshot hashes every file under dir, names and contents.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// hostileReleaseServers starts one latest-releases server per misbehaviour
// and returns their URLs by name. They stop with the test.
func hostileReleaseServers(t *testing.T) map[string]string {
	entry := func(image string) string {
		return fmt.Sprintf(`{"app_id":"a1","app_name":"teradata","version":"1","version_id":"v1","image":%q}`, image)
	}
	good := entry("atlanhq/atlan-teradata-app:1.0")
	bodies := map[string]func(w http.ResponseWriter, r *http.Request){
		"HUGE": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"releases":[`+strings.Repeat(good+",", 200000)+good+`]}`)
		},
		"SLOW": func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		},
		"MALFORMED": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"releases":[{"app_id":`)
		},
		"HTML": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>sign in</html>")
		},
		"UNAUTHORIZED": func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "token "+plantedToken+" rejected", http.StatusUnauthorized)
		},
		"TRAVERSAL": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"releases":[`+good+`,`+entry("atlanhq/../../etc/passwd:1")+`]}`)
		},
		"CONTROL": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"releases":[`+good+`,{"app_id":"a2","app_name":"evil\u001b]0;pwned\u0007","version":"1","image":"atlanhq/x:1\u001b[2J"}]}`)
		},
		"FOREIGN": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"releases":[`+good+`,`+entry("evil.example.com/atlanhq/x:1")+`]}`)
		},
		"MISSING": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"releases":[`+good+`,{"app_id":"a2","image":"atlanhq/x:1"}]}`)
		},
	}
	out := map[string]string{}
	for name, h := range bodies {
		mux := http.NewServeMux()
		mux.HandleFunc(inventory.LatestReleasesPath, h)
		s := httptest.NewServer(mux)
		t.Cleanup(s.Close)
		out[name] = s.URL
	}
	return out
}
