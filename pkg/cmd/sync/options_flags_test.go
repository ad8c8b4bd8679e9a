package synccmd_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	synccmd "github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/sync"
)

func newFactory() *factory.Factory {
	return factory.New(genericiooptions.NewTestIOStreamsDiscard(), func(string) (string, bool) { return "", false })
}

func TestSyncFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		check   func(*synccmd.SyncOptions) bool
		wantErr string
	}{
		{"defaults", nil, func(o *synccmd.SyncOptions) bool {
			return o.From == nil && o.Verify.Enabled && o.Concurrency > 0 && o.PruneMax == "10%" && !o.Prune &&
				reflect.DeepEqual(o.AllowedSources, []string{"docker.io/atlanhq", "ghcr.io/atlanhq"})
		}, ""},
		{"everything", []string{"--from", "file,latest-releases", "--images-file", "-", "--overwrite", "--prune", "--prune-max", "3",
			"--confirm-prune", "--dry-run", "--verify=false", "--concurrency", "2", "--keep-path", "--why", "--release-block", "keep"},
			func(o *synccmd.SyncOptions) bool {
				return reflect.DeepEqual(o.From, []string{"file", "latest-releases"}) && o.ImagesFile == "-" && o.Overwrite && o.Prune &&
					o.PruneMax == "3" && o.ConfirmPrune && o.DryRun && !o.Verify.Enabled && o.Concurrency == 2 && o.KeepPath && o.Why &&
					o.Block.Mode == "keep"
			}, ""},
		{"unknown --from", []string{"--from", "bogus"}, nil, `--from "bogus": must be one of helm, latest-releases, file`},
		{"--from file without a file", []string{"--from", "file"}, nil, "--from file needs --images-file FILE (or - for standard input)"},
		{"--from helm with --config", []string{"--from", "helm", "--config", "c.yaml"}, nil, "--from helm reads the cluster; it cannot be combined with --config or --values"},
		{"bad --prune-max", []string{"--prune-max", "ten"}, nil, `--prune-max "ten": must be a count`},
		{"bad --release-block", []string{"--release-block", "maybe"}, nil, ""},
		{"bad --concurrency", []string{"--concurrency", "0"}, nil, "--concurrency 0: must be at least 1"},
		{"--target with a tag", []string{"--target", "registry.example.com/atlan:v1"}, nil,
			`--target "registry.example.com/atlan:v1": a registry prefix has no tag; want HOST[:PORT]/PATH in lower case, e.g. registry.example.com/atlan`},
		{"--target a file URL", []string{"--target", "file:///srv/mirror"}, nil, `--target "file:///srv/mirror": a registry prefix has no scheme; want HOST[:PORT]/PATH`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *synccmd.SyncOptions
			cmd := synccmd.NewCmdSync(newFactory(), func(o *synccmd.SyncOptions) error { got = o; return nil })
			cmd.SetArgs(tc.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tc.check == nil {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) || got != nil {
					t.Fatalf("sync %q: error %v, want one starting %q and runF not called", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil || got == nil || !tc.check(got) {
				t.Errorf("sync %q: error %v, options %+v", tc.args, err, got)
			}
		})
	}
}

func TestDiffFlags(t *testing.T) {
	var got *synccmd.DiffOptions
	cmd := synccmd.NewCmdDiff(newFactory(), nil, func(o *synccmd.DiffOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--offline", "--detailed-exitcode", "--atlan-url", "https://acme.atlan.com", "--allowed-source", "ghcr.io/atlanhq",
		"--show-map-diff", "--target", "registry.example.com:5000/atlan/"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got == nil || !got.Offline || !got.DetailedExitCode || got.AtlanURL != "https://acme.atlan.com" ||
		!reflect.DeepEqual(got.AllowedSources, []string{"ghcr.io/atlanhq"}) || !got.ShowMapDiff {
		t.Errorf("diff options = %+v", got)
	}
}

// TestTargetRefused: diff refuses a --target that is no registry prefix
// with one line naming the flag and the expected form, before reading
// anything.
func TestTargetRefused(t *testing.T) {
	for _, target := range []string{"file:///srv/mirror", "s3://bucket/mirror", "https://registry.example.com/atlan",
		"Registry.Example.com/Atlan", "registry.example.com/atlan:v1", "registry.example.com/atlan@sha256:" + strings.Repeat("a", 64)} {
		called := false
		cmd := synccmd.NewCmdDiff(newFactory(), nil, func(*synccmd.DiffOptions) error { called = true; return nil })
		cmd.SetArgs([]string{"--target", target})
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if err == nil || called || !strings.HasPrefix(err.Error(), `--target "`+target+`": `) ||
			!strings.HasSuffix(err.Error(), "; want HOST[:PORT]/PATH in lower case, e.g. registry.example.com/atlan") || strings.Contains(err.Error(), "\n") {
			t.Errorf("diff --target %q: error %v, run %v; want one line naming --target and the form", target, err, called)
		}
	}
}
