// Package depcheck asserts the layering rule: each domain package imports
// only what its allowlist names, so domain packages never print, exit or
// style, and a new dependency is a decision made in this file.
package depcheck

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/sdr-mirror/kubectl-sdr-mirror/"

// frontEnd are the packages that may import anything: the commands, the
// root command and styling. Every other package under pkg/ is a domain
// package and must have an allowlist below.
var frontEnd = []string{"pkg/cmd", "pkg/cli", "pkg/ui"}

// allowed lists, per domain package, the non-standard imports it may have:
// packages of this module by exact path, others by module prefix.
var allowed = map[string][]string{
	"pkg/setting":  {},
	"pkg/imagemap": {"github.com/google/go-containerregistry/pkg/name", "go.yaml.in/yaml/"},
	"pkg/inventory": {module + "pkg/setting", module + "pkg/imagemap", module + "pkg/sdr", "k8s.io/apimachinery/pkg/labels", "k8s.io/client-go/kubernetes",
		"helm.sh/helm/v3/pkg/release", "helm.sh/helm/v3/pkg/releaseutil", "sigs.k8s.io/yaml"},
	"pkg/sdr": {module + "pkg/setting", module + "pkg/imagemap", module + "pkg/store",
		"helm.sh/helm/v3/pkg/", "k8s.io/apimachinery/", "k8s.io/client-go/", "sigs.k8s.io/yaml"},
	"pkg/plan": {module + "pkg/setting", module + "pkg/imagemap", module + "pkg/inventory", module + "pkg/mirror", module + "pkg/store"},
	"pkg/mirror": {module + "pkg/setting", module + "internal/capool",
		"github.com/google/go-containerregistry/", "github.com/docker/cli/cli/config", "golang.org/x/sync/"},
	"pkg/mirror/ecr":    {module + "pkg/setting", "github.com/aws/aws-sdk-go-v2/", "github.com/aws/smithy-go"},
	"pkg/mirror/verify": {module + "pkg/setting", module + "pkg/mirror", module + "pkg/imagemap", "github.com/google/go-containerregistry/", "github.com/sigstore/", "github.com/theupdateframework/go-tuf/v2/"},
	"pkg/bundle":        {module + "pkg/imagemap", "github.com/google/go-containerregistry/", "golang.org/x/sync/", "golang.org/x/sys/"},
	"pkg/airgap":        {module + "pkg/setting", module + "pkg/bundle", module + "pkg/mirror", module + "pkg/mirror/verify", "github.com/google/go-containerregistry/pkg/name"},
	"pkg/syncer": {module + "pkg/setting", module + "pkg/airgap", module + "pkg/bundle", "github.com/google/go-containerregistry/pkg/name", "github.com/google/go-containerregistry/pkg/v1", "github.com/google/go-containerregistry/pkg/v1/remote", "golang.org/x/sync/", module + "pkg/imagemap", module + "pkg/inventory", module + "pkg/mirror", module + "pkg/mirror/verify",
		module + "pkg/plan", module + "pkg/sdr", module + "pkg/store"},
	"pkg/store": {module + "pkg/setting", module + "pkg/imagemap", module + "internal/capool",
		"gocloud.dev/", "cloud.google.com/go/storage", "github.com/Azure/azure-sdk-for-go/sdk/", "github.com/aws/aws-sdk-go-v2/",
		"github.com/aws/smithy-go", "github.com/googleapis/gax-go/", "golang.org/x/oauth2/", "google.golang.org/api/", "github.com/pmezard/go-difflib/", "sigs.k8s.io/yaml"},
}

// forbidden may not be reached even indirectly from a domain package.
var forbidden = []string{
	"github.com/spf13/cobra",
	"github.com/spf13/pflag",
	"github.com/charmbracelet/",
	"github.com/muesli/termenv",
	module + "pkg/ui",
	module + "pkg/cli",
	module + "pkg/cmd",
}

type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

func list(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json=ImportPath,Dir,GoFiles,Imports,Deps", module+"pkg/...").Output()
	if err != nil {
		t.Fatalf("go list %spkg/...: %v", module, err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages under pkg/")
	}
	return pkgs
}

func isFrontEnd(rel string) bool {
	for _, f := range frontEnd {
		if rel == f || strings.HasPrefix(rel, f+"/") {
			return true
		}
	}
	return false
}

func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func permitted(imp string, allow []string) bool {
	for _, a := range allow {
		if imp == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(imp, a)) ||
			(!strings.HasPrefix(a, module) && strings.HasPrefix(imp, a+"/")) {
			return true
		}
	}
	return false
}

// TestDomainImports: every domain package has an allowlist, imports only
// what it names, and reaches no CLI, styling or terminal package.
func TestDomainImports(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range list(t) {
		rel := strings.TrimPrefix(p.ImportPath, module)
		if isFrontEnd(rel) {
			continue
		}
		seen[rel] = true
		allow, ok := allowed[rel]
		if !ok {
			t.Errorf("%s is a domain package without an allowlist: add it to allowed in internal/depcheck", rel)
			continue
		}
		for _, imp := range p.Imports {
			if !isStd(imp) && !permitted(imp, allow) {
				t.Errorf("%s imports %s, which its allowlist does not name", rel, imp)
			}
		}
		for _, dep := range p.Deps {
			for _, bad := range forbidden {
				if strings.HasPrefix(dep, bad) {
					t.Errorf("%s depends on %s; domain packages must not reach CLI, styling or terminal packages", rel, dep)
				}
			}
		}
	}
	for rel := range allowed {
		if !seen[rel] {
			t.Errorf("allowlist names %s, which go list does not find: remove it", rel)
		}
	}
}

// flagName is a command-line flag written into a string: "--target",
// "pass -n".
var flagName = regexp.MustCompile(`(^|[\s(/,])(--[a-z][a-z-]+|-[nA])\b`)

// TestDomainNamesNoFlags: no string in a domain package's code names a flag.
// A domain error names the setting that fixes it with pkg/setting, and the
// command layer spells it (as a flag, in this tool).
func TestDomainNamesNoFlags(t *testing.T) {
	for _, p := range list(t) {
		rel := strings.TrimPrefix(p.ImportPath, module)
		if isFrontEnd(rel) {
			continue
		}
		for _, name := range p.GoFiles {
			path := filepath.Join(p.Dir, name)
			file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				if m := flagName.FindStringSubmatch(lit.Value); m != nil {
					t.Errorf("%s/%s: %s names the flag %s; name a setting.Name instead", rel, name, lit.Value, m[2])
				}
				return true
			})
		}
	}
}

// light are the commands that reach neither a cluster nor a bucket, and
// the packages they are built from; clusterFree may open a bucket but
// never reach a cluster. Their tests link neither client-go nor Helm (nor,
// for light, the storage SDKs), which keeps `go test ./pkg/...` under a
// minute: each test binary that links them takes seconds to link.
var (
	light       = []string{"pkg/cmd/core", "pkg/cmd/version", "pkg/cmd/copy", "pkg/cmd/verify", "pkg/cmd/verifyflags", "pkg/cmd/registryflags", "pkg/airgap"}
	clusterFree = []string{"pkg/cmd/mapflags", "pkg/cmd/resolve"}
)

// cluster is what neither may reach, even indirectly; bucket is what light
// may not reach besides.
var (
	cluster = []string{"k8s.io/client-go/", "helm.sh/helm/", module + "pkg/sdr", module + "pkg/syncer", module + "pkg/cmd/factory"}
	bucket  = []string{"gocloud.dev/", module + "pkg/store"}
)

// TestLightCommands: the light and cluster-free command packages stay so.
func TestLightCommands(t *testing.T) {
	rules := map[string][]string{}
	for _, rel := range light {
		rules[rel] = append(slices.Clone(cluster), bucket...)
	}
	for _, rel := range clusterFree {
		rules[rel] = cluster
	}
	seen := map[string]bool{}
	for _, p := range list(t) {
		rel := strings.TrimPrefix(p.ImportPath, module)
		heavy, ok := rules[rel]
		if !ok {
			continue
		}
		seen[rel] = true
		for _, dep := range p.Deps {
			for _, bad := range heavy {
				if dep == bad || (strings.HasSuffix(bad, "/") && strings.HasPrefix(dep, bad)) {
					t.Errorf("%s depends on %s, which it must not reach (light, clusterFree): a command without a cluster takes *core.Factory", rel, dep)
				}
			}
		}
	}
	for rel := range rules {
		if !seen[rel] {
			t.Errorf("depcheck names %s, which go list does not find", rel)
		}
	}
}
