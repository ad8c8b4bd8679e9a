package cronjob_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cli"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// run runs the command line with an empty environment and returns its
// output, error output and exit code.
func run(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := factory.New(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	code = cli.Run(t.Context(), f, args)
	return out.String(), errOut.String(), code
}

func TestManifestsGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"plain", []string{"cronjob", "-n", "atlan", "--image", "registry.example.com/kubectl-sdr-mirror:v1.0.0",
			"--registry-secret", "registry-creds", "--objectstore-secret", "sdr-objectstore", "--atlan-token-secret", "atlan-api",
			"--atlan-url", "https://acme.atlan.com", "--time-zone", "America/New_York", "--active-deadline", "45m", "--", "--prune"}, nil},
		{"ca-bundle", []string{"cronjob", "-n", "atlan", "--image", "img:v1", "--objectstore-secret=", "--ca-bundle-configmap", "company-ca", "--ca-bundle-key", "root-certs.pem"}, nil},
		{"flux-configmap", []string{"cronjob", "-n", "atlan-flux", "--name", "mirror", "--schedule", "@daily", "--image", "img:v1",
			"--objectstore-secret", "sdr-objectstore", "--flux", "--storage-namespace", "flux-system", "--release", "atlan-sdr-eu"}, map[string]string{"HELM_DRIVER": "configmap"}},
		{"json", []string{"cronjob", "-n", "atlan", "--image", "img:v1", "--objectstore-secret=", "-o", "json"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(t, tc.env, tc.args...)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", strings.Join(tc.args, " "), code, errOut)
			}
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("%s =\n%s\nwant (%s)\n%s", strings.Join(tc.args, " "), out, golden, want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad schedule", []string{"--schedule", "hourly"}, `--schedule "hourly": expected exactly 5 fields, found 1: want five cron fields`},
		{"minute 61", []string{"--schedule", "61 * * * *"}, `--schedule "61 * * * *": end of range (61) above maximum (59): 61: want five cron fields`},
		{"unknown sync flag", []string{"--", "--prune", "--bogus"}, "sync flags after --: unknown flag: --bogus"},
		{"http atlan url", []string{"--atlan-url", "http://acme.atlan.com"}, `--atlan-url "http://acme.atlan.com": must be https://<tenant>.atlan.com`},
		{"unknown time zone", []string{"--time-zone", "Europe/Atlantis"}, `--time-zone "Europe/Atlantis": not a time zone in the IANA database`},
		{"bad name", []string{"--name", "Sdr_Mirror"}, `--name "Sdr_Mirror": a lowercase RFC 1123 subdomain`},
		{"dry run alone", []string{"--dry-run"}, "--dry-run asks the API server to validate what --apply sends: pass --apply too"},
		{"namespace after dash", []string{"--", "-A"}, `sync flag "-A" after --: the CronJob syncs the SDR of its own namespace; pass -n to cronjob instead`},
		{"argument before dash", []string{"sync"}, `unexpected argument "sync": sync's flags go after --`},
		{"CA file after dash", []string{"--", "--bucket-ca-file=/etc/ca.pem"}, `sync flag "--bucket-ca-file=/etc/ca.pem" after --: the CronJob's container has no such file; use --ca-bundle-configmap`},
		{"empty CA key", []string{"--ca-bundle-configmap", "company-ca", "--ca-bundle-key", ""}, "--ca-bundle-key must not be empty with --ca-bundle-configmap"},
		{"bad secret name", []string{"--registry-secret", "Registry_Creds"}, `--registry-secret "Registry_Creds": not a valid object name: a lowercase RFC 1123 subdomain`},
		{"bad CA configmap name", []string{"--ca-bundle-configmap", "company ca"}, `--ca-bundle-configmap "company ca": not a valid object name`},
		{"bad CA key", []string{"--ca-bundle-configmap", "company-ca", "--ca-bundle-key", "../ca.crt"}, `--ca-bundle-key "../ca.crt": not a valid key`},
		{"bad driver", []string{"--helm-driver", "sql"}, `helm storage driver "sql" is not supported`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"cronjob", "-n", "atlan", "--image", "img:v1", "--objectstore-secret="}, tc.args...)
			out, errOut, code := run(t, nil, args...)
			if code != 1 || !strings.HasPrefix(errOut, "error: "+tc.want) || strings.Count(errOut, "\n") != 1 || out != "" {
				t.Errorf("%s = exit %d, %q, %q; want exit 1, nothing printed and one line starting %q", strings.Join(args, " "), code, out, errOut, "error: "+tc.want)
			}
		})
	}
}
