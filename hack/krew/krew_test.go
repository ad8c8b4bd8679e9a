package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// writeArchives writes the six release archives into dir, as goreleaser
// makes them.
func writeArchives(t *testing.T, dir string) {
	t.Helper()
	writeArchivesOf(t, dir, "kubectl-sdr_mirror", "kubectl_complete-sdr_mirror", "LICENSE")
}

// writeArchivesOf writes the six release archives holding names (with
// .exe and .cmd on Windows for the binary and the completion script) into
// dir.
func writeArchivesOf(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, p := range releasePlatforms {
		osName, arch, _ := strings.Cut(p, "/")
		base := filepath.Join(dir, "kubectl-sdr_mirror_"+osName+"_"+arch)
		if osName == "windows" {
			f, err := os.Create(base + ".zip")
			if err != nil {
				t.Fatal(err)
			}
			zw := zip.NewWriter(f)
			for _, n := range names {
				switch n {
				case "kubectl-sdr_mirror":
					n += ".exe"
				case "kubectl_complete-sdr_mirror":
					n += ".cmd"
				}
				w, err := zw.Create(n)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = w.Write([]byte(n))
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			_ = f.Close()
			continue
		}
		f, err := os.Create(base + ".tar.gz")
		if err != nil {
			t.Fatal(err)
		}
		gz := gzip.NewWriter(f)
		tw := tar.NewWriter(gz)
		for _, n := range names {
			if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(n))}); err != nil {
				t.Fatal(err)
			}
			_, _ = tw.Write([]byte(n))
		}
		_ = tw.Close()
		_ = gz.Close()
		_ = f.Close()
	}
}

func TestRenderAndValidate(t *testing.T) {
	dir := t.TempDir()
	writeArchives(t, dir)
	tmpl, err := os.ReadFile(filepath.Join("..", "..", ".krew.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := Render(string(tmpl), "v1.2.3", dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(manifest, dir); err != nil {
		t.Fatalf("Validate(rendered .krew.yaml) = %v\n%s", err, manifest)
	}

	tests := []struct {
		name, old, new, want string
	}{
		{"version without v", "version: v1.2.3", "version: 1.2.3", `spec.version "1.2.3": want a semantic version with a leading v`},
		{"bad name", "name: sdr-mirror", "name: SDR_mirror", `metadata.name "SDR_mirror"`},
		{"no arch selector", "        arch: arm64\n", "", "spec.platforms[1].selector: want matchLabels os and arch"},
		{"wrong bin", "bin: kubectl-sdr_mirror.exe", "bin: kubectl-sdr_mirror", `.bin "kubectl-sdr_mirror": want "kubectl-sdr_mirror.exe"`},
		{"bad sha", "sha256: ", "sha256: 00", `.sha256 "00`},
		{"no uri", "uri: https://", "uri2: https://", "parsing: error unmarshaling JSON"},
		{"unknown field", "  homepage:", "  home_page:", "parsing: error unmarshaling JSON"},
		{"completion script not installed", "    - from: kubectl_complete-sdr_mirror\n      to: .\n", "",
			`spec.platforms[0].files: "kubectl_complete-sdr_mirror" is not installed`},
		{"file not in the archive", "from: LICENSE", "from: NOTICE", `archive "kubectl-sdr_mirror_linux_amd64.tar.gz" has no "NOTICE"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := strings.Replace(string(manifest), tc.old, tc.new, 1)
			if m == string(manifest) {
				t.Fatalf("%q is not in the manifest", tc.old)
			}
			err := Validate([]byte(m), dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate(%s) = %v, want an error with %q", tc.name, err, tc.want)
			}
		})
	}

	// goreleaser's manifest names no files: the archive must still hold the
	// completion script.
	noFiles := regexp.MustCompile(`(?m)^    files:\n(    [- ] .*\n)+`).ReplaceAllString(string(manifest), "")
	if err := Validate([]byte(noFiles), dir); err != nil {
		t.Errorf("Validate(manifest without files) = %v", err)
	}
	bare := t.TempDir()
	writeArchivesOf(t, bare, "kubectl-sdr_mirror", "LICENSE")
	bareManifest, err := Render(string(tmpl), "v1.2.3", bare)
	if err != nil {
		t.Fatal(err)
	}
	bareManifest = []byte(regexp.MustCompile(`(?m)^    files:\n(    [- ] .*\n)+`).ReplaceAllString(string(bareManifest), ""))
	if err := Validate(bareManifest, bare); err == nil || !strings.Contains(err.Error(), `has no "kubectl_complete-sdr_mirror"`) {
		t.Errorf("Validate(archives without the completion script) = %v, want an error naming it", err)
	}

	// An archive that changed after the manifest was written, and one
	// without the binary.
	if err := os.WriteFile(filepath.Join(dir, "kubectl-sdr_mirror_linux_amd64.tar.gz"), []byte("other"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Validate(manifest, dir); err == nil || !strings.Contains(err.Error(), `archive "kubectl-sdr_mirror_linux_amd64.tar.gz" has sha256`) {
		t.Errorf("Validate(changed archive) = %v, want a checksum error", err)
	}
	m := strings.ReplaceAll(string(manifest), "bin: kubectl-sdr_mirror\n", "bin: kubectl-other\n")
	if err := Validate([]byte(m), ""); err == nil || !strings.Contains(err.Error(), `want "kubectl-sdr_mirror"`) {
		t.Errorf("Validate(other bin) = %v, want a bin error", err)
	}
}
