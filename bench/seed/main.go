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
	next := flag.String("next", "", "also push a next release, bench/app-0:v<tags> on the same base layers, and write to this file its reference (first line) and then the digest and size of every blob it adds (index, manifests, configs, own layers); it is not printed with the others")
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
	if err := run(context.Background(), *reg, *repos, *tags, *baseMB, *ownMB, *seed, *next); err != nil {
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

func run(ctx context.Context, reg string, repos, tags, baseMB, ownMB int, seed uint64, next string) error {
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
	push := func(r, t int, rng *rand.ChaCha8) (name.Reference, v1.ImageIndex, error) {
		idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
		for _, a := range archs {
			img, err := mutate.AppendLayers(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1),
				append(append([]v1.Layer{}, base[a]...), layer(rng, ownMB<<20))...)
			if err != nil {
				return nil, nil, err
			}
			cf, err := img.ConfigFile()
			if err != nil {
				return nil, nil, err
			}
			cf = cf.DeepCopy()
			cf.OS, cf.Architecture = "linux", a
			if img, err = mutate.ConfigFile(img, cf); err != nil {
				return nil, nil, err
			}
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: a}}})
		}
		ref, err := name.ParseReference(fmt.Sprintf("%s/bench/app-%d:v%d", reg, r, t))
		if err != nil {
			return nil, nil, err
		}
		if err := pusher.Push(ctx, ref, idx); err != nil {
			return nil, nil, fmt.Errorf("pushing %s: %w", ref, err)
		}
		return ref, idx, nil
	}
	for r := 0; r < repos; r++ {
		for t := 0; t < tags; t++ {
			ref, _, err := push(r, t, rng)
			if err != nil {
				return err
			}
			fmt.Println(ref.String())
		}
	}
	if next == "" {
		return nil
	}
	// Its own layers from another stream: new bytes, whatever the set's size.
	key[8] = 1
	ref, idx, err := push(0, tags, rand.NewChaCha8(key))
	if err != nil {
		return err
	}
	return writeNext(next, ref, idx)
}

// writeNext writes the next release's reference and the blobs it adds to
// the set: everything but the base layers.
func writeNext(path string, ref name.Reference, idx v1.ImageIndex) error {
	out := ref.String() + "\n"
	add := func(d v1.Hash, size int64) { out += fmt.Sprintf("%s %d\n", d, size) }
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return err
	}
	add(d, int64(len(raw)))
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, m := range im.Manifests {
		add(m.Digest, m.Size)
		img, err := idx.Image(m.Digest)
		if err != nil {
			return err
		}
		mf, err := img.Manifest()
		if err != nil {
			return err
		}
		add(mf.Config.Digest, mf.Config.Size)
		own := mf.Layers[len(mf.Layers)-1]
		add(own.Digest, own.Size)
	}
	return os.WriteFile(path, []byte(out), 0o600)
}
