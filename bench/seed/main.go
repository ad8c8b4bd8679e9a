// Command seed fills a registry with the benchmark's image set: REPOS
// repositories of TAGS two-platform images each, every image built on base
// layers shared by all images of its platform plus layers of its own,
// filled with deterministic pseudo-random (incompressible) bytes.
//
//	go run ./bench/seed -registry 127.0.0.1:5000 -repos 8 -tags 3
//
// It prints one SOURCE reference per line.
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/sigtest"
)

func main() {
	reg := flag.String("registry", "", "registry host:port to seed")
	repos := flag.Int("repos", 8, "repositories")
	tags := flag.Int("tags", 3, "images (tags) per repository")
	baseMB := flag.Int("base-mb", 40, "size of the shared base layers of one platform, in MB (two layers)")
	ownMB := flag.Int("own-mb", 4, "size of each image's own layer per platform, in MB")
	seed := flag.Uint64("seed", 1, "random seed: the same seed gives the same digests")
	trustedRoot := flag.String("trusted-root", "", "also write the trusted_root.json of an offline Sigstore to this file, so runs with verification on need no network")
	flag.Parse()
	if *reg == "" {
		fmt.Fprintln(os.Stderr, "seed: -registry is required")
		os.Exit(2)
	}
	if *trustedRoot != "" {
		if err := writeTrustedRoot(*trustedRoot); err != nil {
			fmt.Fprintln(os.Stderr, "seed:", err)
			os.Exit(1)
		}
	}
	if err := run(context.Background(), *reg, *repos, *tags, *baseMB, *ownMB, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func writeTrustedRoot(path string) error {
	s, err := sigtest.New()
	if err != nil {
		return err
	}
	data, err := s.TrustedRootJSON()
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

func layer(rng *rand.ChaCha8, size int) v1.Layer {
	b := make([]byte, size)
	_, _ = rng.Read(b)
	return static.NewLayer(b, types.OCILayer)
}

func run(ctx context.Context, reg string, repos, tags, baseMB, ownMB int, seed uint64) error {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	rng := rand.NewChaCha8(key)
	archs := []string{"amd64", "arm64"}
	base := map[string][]v1.Layer{}
	for _, a := range archs {
		base[a] = []v1.Layer{layer(rng, baseMB<<20*3/4), layer(rng, baseMB<<20/4)}
	}
	pusher, err := remote.NewPusher(remote.WithContext(ctx), remote.WithJobs(8))
	if err != nil {
		return err
	}
	for r := 0; r < repos; r++ {
		for t := 0; t < tags; t++ {
			idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
			for _, a := range archs {
				img, err := mutate.AppendLayers(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1),
					append(append([]v1.Layer{}, base[a]...), layer(rng, ownMB<<20))...)
				if err != nil {
					return err
				}
				cf, err := img.ConfigFile()
				if err != nil {
					return err
				}
				cf = cf.DeepCopy()
				cf.OS, cf.Architecture = "linux", a
				if img, err = mutate.ConfigFile(img, cf); err != nil {
					return err
				}
				idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: a}}})
			}
			ref, err := name.ParseReference(fmt.Sprintf("%s/bench/app-%d:v%d", reg, r, t))
			if err != nil {
				return err
			}
			if err := pusher.Push(ctx, ref, idx); err != nil {
				return fmt.Errorf("pushing %s: %w", ref, err)
			}
			fmt.Println(ref.String())
		}
	}
	return nil
}
