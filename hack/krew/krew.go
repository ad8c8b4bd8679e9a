package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"sigs.k8s.io/yaml"
)

// Plugin is a krew manifest, krew.googlecontainertools.github.com/v1alpha2.
type Plugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string     `json:"version"`
		Homepage         string     `json:"homepage"`
		ShortDescription string     `json:"shortDescription"`
		Description      string     `json:"description"`
		Caveats          string     `json:"caveats"`
		Platforms        []Platform `json:"platforms"`
	} `json:"spec"`
}

// Platform is one archive of a krew manifest.
type Platform struct {
	Selector struct {
		MatchLabels      map[string]string `json:"matchLabels"`
		MatchExpressions []any             `json:"matchExpressions"`
	} `json:"selector"`
	URI    string `json:"uri"`
	SHA256 string `json:"sha256"`
	Bin    string `json:"bin"`
	Files  []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"files"`
}

// The platforms every release ships.
var releasePlatforms = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}

var (
	// krew's plugin names: lowercase words joined by dashes; the binary
	// is kubectl-<name with dashes as underscores>.
	nameRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	// Semantic version with the leading v krew requires.
	versionRE = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	shaRE     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Validate checks a manifest against krew's rules and, when archives is
// not empty, each platform's archive in that directory.
func Validate(data []byte, archives string) error {
	var p Plugin
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return fmt.Errorf("parsing: %w", err)
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" {
		bad("apiVersion %q: want krew.googlecontainertools.github.com/v1alpha2", p.APIVersion)
	}
	if p.Kind != "Plugin" {
		bad("kind %q: want Plugin", p.Kind)
	}
	if !nameRE.MatchString(p.Metadata.Name) {
		bad("metadata.name %q: want lowercase words joined by dashes", p.Metadata.Name)
	}
	if !versionRE.MatchString(p.Spec.Version) {
		bad("spec.version %q: want a semantic version with a leading v, such as v1.2.3", p.Spec.Version)
	}
	if p.Spec.ShortDescription == "" {
		bad("spec.shortDescription is empty")
	}
	if u, err := url.Parse(p.Spec.Homepage); p.Spec.Homepage != "" && (err != nil || u.Scheme != "https") {
		bad("spec.homepage %q: want an https URL", p.Spec.Homepage)
	}
	if len(p.Spec.Platforms) == 0 {
		bad("spec.platforms is empty")
	}
	seen := map[string]bool{}
	for i, pl := range p.Spec.Platforms {
		where := fmt.Sprintf("spec.platforms[%d]", i)
		osName, arch := pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"]
		if osName == "" || arch == "" {
			bad("%s.selector: want matchLabels os and arch", where)
			continue
		}
		key := osName + "/" + arch
		if seen[key] {
			bad("%s: %s appears twice", where, key)
		}
		seen[key] = true
		if u, err := url.Parse(pl.URI); pl.URI == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			bad("%s.uri %q: want an http(s) URL", where, pl.URI)
		}
		if !shaRE.MatchString(pl.SHA256) {
			bad("%s.sha256 %q: want 64 lowercase hex digits", where, pl.SHA256)
		}
		wantBin := "kubectl-" + strings.ReplaceAll(p.Metadata.Name, "-", "_")
		completion := "kubectl_complete-" + strings.ReplaceAll(p.Metadata.Name, "-", "_")
		if osName == "windows" {
			wantBin += ".exe"
			completion += ".cmd"
		}
		if pl.Bin != wantBin {
			bad("%s.bin %q: want %q", where, pl.Bin, wantBin)
		}
		want := []string{pl.Bin, completion}
		if len(pl.Files) > 0 {
			installed := map[string]bool{}
			want = nil
			for j, f := range pl.Files {
				if f.From == "" || f.To == "" {
					bad("%s.files[%d]: want from and to", where, j)
				}
				want = append(want, f.From)
				if path.Clean(f.To) == "." {
					installed[path.Clean(f.From)] = true
				}
			}
			// krew links bin, and kubectl runs the completion script, only
			// when the files put them in the plugin's directory.
			for _, need := range []string{pl.Bin, completion} {
				if !installed[need] {
					bad("%s.files: %q is not installed (want from: %s, to: .)", where, need, need)
				}
			}
		}
		if archives != "" && pl.URI != "" && pl.Bin != "" {
			if err := checkArchive(filepath.Join(archives, path.Base(pl.URI)), pl.SHA256, want); err != nil {
				bad("%s: %w", where, err)
			}
		}
	}
	for _, want := range releasePlatforms {
		if !seen[want] {
			bad("spec.platforms: no %s", want)
		}
	}
	return errors.Join(errs...)
}

// checkArchive checks file's SHA-256 and that it holds each of names at
// its top: the binary and kubectl's completion script, or the manifest's
// files.
func checkArchive(file, sum string, want []string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading the archive: %w", err)
	}
	got := sha256.Sum256(data)
	if hex.EncodeToString(got[:]) != sum {
		return fmt.Errorf("archive %q has sha256 %s, the manifest says %s", filepath.Base(file), hex.EncodeToString(got[:]), sum)
	}
	names, err := archiveNames(file, data)
	if err != nil {
		return fmt.Errorf("reading archive %q: %w", filepath.Base(file), err)
	}
	has := map[string]bool{}
	for _, n := range names {
		has[path.Clean(strings.TrimPrefix(n, "./"))] = true
	}
	var missing []string
	for _, w := range want {
		if !has[path.Clean(w)] {
			missing = append(missing, fmt.Sprintf("%q", w))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("archive %q has no %s (it has %s)", filepath.Base(file), strings.Join(missing, ", "), strings.Join(names, ", "))
	}
	return nil
}

func archiveNames(file string, data []byte) ([]string, error) {
	var names []string
	if strings.HasSuffix(file, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, err
		}
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		return names, nil
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		names = append(names, h.Name)
	}
}

// Render expands a krew-release-bot template: {{ .TagName }}, and
// {{ addURIAndSha URL .TagName }}, which writes the uri line and the sha256
// line of the archive; the archive is read from dir by its base name
// instead of being downloaded.
func Render(tmpl, tag, dir string) ([]byte, error) {
	funcs := template.FuncMap{
		"addURIAndSha": func(uriTemplate, tag string) (string, error) {
			var b strings.Builder
			t, err := template.New("uri").Parse(uriTemplate)
			if err != nil {
				return "", err
			}
			if err := t.Execute(&b, map[string]string{"TagName": tag}); err != nil {
				return "", err
			}
			uri := b.String()
			data, err := os.ReadFile(filepath.Join(dir, path.Base(uri)))
			if err != nil {
				return "", fmt.Errorf("archive of %q: %w", uri, err)
			}
			sum := sha256.Sum256(data)
			return fmt.Sprintf("uri: %s\n    sha256: %s", uri, hex.EncodeToString(sum[:])), nil
		},
	}
	t, err := template.New(".krew.yaml").Funcs(funcs).Parse(tmpl) //nolint:gosec // the template is the repository's own .krew.yaml
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, map[string]string{"TagName": tag}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
