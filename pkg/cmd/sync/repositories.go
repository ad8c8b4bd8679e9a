package synccmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/factory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/ecr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/plan"
)

// RepoFlags are sync's flags for creating destination repositories.
type RepoFlags struct {
	Create bool
	ecr.Settings
}

// AddFlags registers --create-repositories and its ECR settings.
func (r *RepoFlags) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&r.Create, "create-repositories", false,
		"create the ECR repositories images are copied into, before the copy (AWS credentials from the default chain; needs "+ecr.Permissions+"); other registries create them on push or need them made first")
	fs.StringVar(&r.TagMutability, "ecr-tag-mutability", ecr.Mutable,
		"tag mutability of the ECR repositories --create-repositories creates: mutable, or immutable (tags matching "+ecr.MutableTags+", cosign's and the referrers fallback's, stay writable)")
	fs.BoolVar(&r.ScanOnPush, "ecr-scan-on-push", false, "turn on basic scanning on push in the ECR repositories --create-repositories creates")
}

// Validate checks the ECR settings.
func (r *RepoFlags) Validate() error { return r.Check() }

// Creator is the repository creator for target's registry: an ECR
// Creator, or nil (with a warning when --create-repositories was given)
// for a registry that is not ECR.
func (r *RepoFlags) Creator(ctx context.Context, f *factory.Factory, target string) (plan.RepositoryCreator, error) {
	if !r.Create {
		return nil, nil
	}
	if target == "" {
		return nil, errors.New("--create-repositories creates repositories under --target: pass --target ACCOUNT.dkr.ecr.REGION.amazonaws.com/PREFIX")
	}
	host, _, _ := strings.Cut(target, "/")
	reg, ok := ecr.ParseHost(host)
	if !ok {
		f.Warnf("--create-repositories creates ECR repositories; %q is not ECR, so nothing is created (most registries create repositories on push; Harbor projects and Artifact Registry repositories are made in the registry)", host)
		return nil, nil
	}
	c, err := ecr.New(ctx, reg, ecr.Options{Settings: r.Settings})
	if err != nil {
		return nil, fmt.Errorf("--create-repositories: %w", err)
	}
	return c, nil
}
