package verify

import (
	"context"
	"crypto"
	"fmt"
	"os"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"

	// The KMS providers --key accepts, as cosign does.
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)

// kmsSchemes are the key URIs read from a KMS.
const kmsSchemes = "awskms://, gcpkms://, azurekms://, hashivault://"

// loadKey reads the public key ref names: a PEM file, or a KMS key URI
// whose public key is fetched once and then used locally for every image.
func loadKey(ctx context.Context, ref string) (signature.Verifier, error) {
	if strings.Contains(ref, "://") {
		sv, err := kms.Get(ctx, ref, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("reading public key %q from its KMS (%s takes a PEM file or a %s URI): %w", ref, setting.Key, kmsSchemes, err)
		}
		pub, err := sv.PublicKey(sigopts.WithContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("reading public key %q from its KMS (the credentials need permission to get the public key): %w", ref, err)
		}
		return loadVerifier(ref, pub)
	}
	pem, err := os.ReadFile(ref)
	if err != nil {
		return nil, fmt.Errorf("reading public key %q: %w", ref, err)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pem)
	if err != nil {
		return nil, fmt.Errorf("reading public key %q: not a PEM public key (cosign.pub): %w", ref, err)
	}
	return loadVerifier(ref, pub)
}

func loadVerifier(ref string, pub crypto.PublicKey) (signature.Verifier, error) {
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("reading public key %q: %w", ref, err)
	}
	return v, nil
}
