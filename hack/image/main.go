// Command image builds the project's container image without a container
// runtime: FROM scratch, one layer holding the static binary, the CA bundle
// of the build host, a passwd entry for the non-root user and /tmp, and a
// config that runs the binary as that user. With several binaries it
// pushes an index of the platforms to --tag.
//
//	go run ./hack/image --tag REGISTRY/REPO:TAG [--insecure] \
//	    --binary linux/amd64=bin/image/linux-amd64/kubectl-sdr_mirror ...
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Layout of the image.
const (
	entrypoint = "/kubectl-sdr_mirror"
	uid        = 65532
	user       = "nonroot"
	caBundle   = "/etc/ssl/certs/ca-certificates.crt"
	source     = "https://github.com/sdr-mirror/kubectl-sdr-mirror"
)

type binaries []string

func (b *binaries) String() string     { return strings.Join(*b, ",") }
func (b *binaries) Set(s string) error { *b = append(*b, s); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		bins     binaries
		tag      = flag.String("tag", "", "image reference to push to")
		insecure = flag.Bool("insecure", false, "push over plain HTTP")
		version  = flag.String("version", "", "version label")
		ca       = flag.String("ca-bundle", caBundle, "PEM CA bundle copied into the image as "+caBundle)
	)
	flag.Var(&bins, "binary", "OS/ARCH=PATH of a static binary (repeatable)")
	flag.Parse()
	if *tag == "" || len(bins) == 0 {
		return errors.New("usage: image --tag REF --binary OS/ARCH=PATH [--binary ...] [--insecure] [--version V]")
	}
	var opts []name.Option
	if *insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(*tag, opts...)
	if err != nil {
		return fmt.Errorf("--tag %q: %w", *tag, err)
	}
	caData, err := os.ReadFile(*ca)
	if err != nil {
		return fmt.Errorf("reading the CA bundle: %w; install ca-certificates or pass --ca-bundle", err)
	}
	var adds []mutate.IndexAddendum
	for _, b := range bins {
		plat, path, ok := strings.Cut(b, "=")
		osName, arch, ok2 := strings.Cut(plat, "/")
		if !ok || !ok2 {
			return fmt.Errorf("--binary %q: want OS/ARCH=PATH", b)
		}
		img, err := build(path, caData, v1.Platform{OS: osName, Architecture: arch}, *version)
		if err != nil {
			return err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: osName, Architecture: arch}}})
	}
	auth := remote.WithAuthFromKeychain(authn.DefaultKeychain)
	if len(adds) == 1 {
		img := adds[0].Add.(v1.Image)
		if err := remote.Write(ref, img, auth); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
		d, _ := img.Digest()
		fmt.Printf("%s@%s\n", ref.Context(), d)
		return nil
	}
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), types.OCIImageIndex)
	if err := remote.WriteIndex(ref, idx, auth); err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, _ := idx.Digest()
	fmt.Printf("%s@%s\n", ref.Context(), d)
	return nil
}

// build makes the image of one platform.
func build(path string, caData []byte, plat v1.Platform, version string) (v1.Image, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the binary: %w; run make image, which builds it", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// A fixed time keeps the layer reproducible.
	mtime := time.Unix(0, 0)
	dirs := []string{"etc/", "etc/ssl/", "etc/ssl/certs/"}
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: mtime}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: mtime}); err != nil {
		return nil, err
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{strings.TrimPrefix(entrypoint, "/"), 0o755, bin},
		{strings.TrimPrefix(caBundle, "/"), 0o644, caData},
		{"etc/passwd", 0o644, fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/tmp:/sbin/nologin\n", user, uid, uid, user)},
		{"etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\n%s:x:%d:\n", user, uid)},
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: mtime}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = plat.OS, plat.Architecture
	cfg.Created = v1.Time{Time: mtime}
	cfg.Config.Entrypoint = []string{entrypoint}
	cfg.Config.User = fmt.Sprintf("%d:%d", uid, uid)
	cfg.Config.WorkingDir = "/tmp"
	cfg.Config.Env = []string{"HOME=/tmp", "SSL_CERT_FILE=" + caBundle}
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.source":   source,
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.title":    "kubectl-sdr-mirror",
		"org.opencontainers.image.licenses": "Apache-2.0",
	}
	return mutate.ConfigFile(img, cfg)
}
