// Command sign signs images keyless with an offline Sigstore, as Atlan's
// signing workflow would (the verifier's default identity and issuer), in
// the classic cosign "sha256-<digest>.sig" layout, and writes the trusted
// root that verifies them. It reads one image reference per line on
// standard input and signs each by the digest its tag points at.
//
//	go run ./bench/seed -registry R ... | go run ./bench/sign -trusted-root trusted_root.json
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/sigtest"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
)

func main() {
	rootPath := flag.String("trusted-root", "", "write the trusted_root.json that verifies the signatures here")
	flag.Parse()
	if *rootPath == "" {
		fmt.Fprintln(os.Stderr, "sign: -trusted-root is required")
		os.Exit(2)
	}
	if err := run(*rootPath); err != nil {
		fmt.Fprintln(os.Stderr, "sign:", err)
		os.Exit(1)
	}
}

func run(rootPath string) error {
	s, err := sigtest.New()
	if err != nil {
		return err
	}
	root, err := s.TrustedRootJSON()
	if err != nil {
		return err
	}
	if err := os.WriteFile(rootPath, root, 0o600); err != nil {
		return err
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		ref, err := name.ParseReference(line)
		if err != nil {
			return err
		}
		desc, err := remote.Head(ref)
		if err != nil {
			return fmt.Errorf("reading %s: %w", ref, err)
		}
		d := ref.Context().Digest(desc.Digest.String())
		if err := s.SignClassic(d, verify.DefaultIdentity, verify.DefaultIssuer, sigtest.Payload(d)); err != nil {
			return fmt.Errorf("signing %s: %w", ref, err)
		}
	}
	return sc.Err()
}
