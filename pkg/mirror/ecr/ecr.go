// Package ecr creates the Amazon ECR repositories a sync pushes into.
// Unlike most registries, ECR refuses a push to a repository that does not
// exist (404 NAME_UNKNOWN), unless the account has a repository creation
// template applied to CREATE_ON_PUSH; see the README's registry recipes.
package ecr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// Permissions are the IAM actions Create needs on the repositories.
const Permissions = "ecr:DescribeRepositories and ecr:CreateRepository"

// hostPattern matches an ECR registry host: ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn].
var hostPattern = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)

// Registry is one account's registry in one region.
type Registry struct {
	Host    string
	Account string
	Region  string
}

// ParseHost reports whether host is an ECR registry, and which.
func ParseHost(host string) (Registry, bool) {
	m := hostPattern.FindStringSubmatch(host)
	if m == nil {
		return Registry{}, false
	}
	return Registry{Host: host, Account: m[1], Region: m[2]}, true
}

// Tag mutability of the repositories created.
const (
	// Mutable lets every tag be written again.
	Mutable = "mutable"
	// Immutable refuses to write an image tag again, but keeps the tags
	// starting sha256- writable: cosign's signature tags and the
	// referrers fallback tag change when a signature or referrer is
	// added.
	Immutable = "immutable"
)

// MutableTags is the exclusion filter of Immutable.
const MutableTags = "sha256-*"

// Settings are the settings of the repositories created.
type Settings struct {
	// TagMutability is Mutable (the default when empty) or Immutable.
	TagMutability string
	// ScanOnPush turns on basic scanning of each pushed image.
	ScanOnPush bool
}

// Check reports a setting that is not one of the values above.
func (s Settings) Check() error {
	switch s.TagMutability {
	case "", Mutable, Immutable:
		return nil
	}
	return fmt.Errorf("%s %q: want %s or %s", setting.ECRTagMutability, s.TagMutability, Mutable, Immutable)
}

// Options configure the ECR client.
type Options struct {
	Settings
	// Endpoint is an ECR API endpoint other than AWS's public one (a VPC
	// endpoint; a test server).
	Endpoint string
	// HTTPClient carries the requests; nil is the SDK's.
	HTTPClient *http.Client
	// Credentials, when set, replace the default chain (environment,
	// shared files, web identity, instance and pod roles).
	Credentials aws.CredentialsProvider
}

// Creator creates missing repositories in one registry.
type Creator struct {
	reg    Registry
	client *ecr.Client
	input  ecr.CreateRepositoryInput
}

// New returns a Creator for reg, with the AWS credentials of the default
// chain unless o names others.
func New(ctx context.Context, reg Registry, o Options) (*Creator, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(reg.Region)}
	if o.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(o.HTTPClient))
	}
	if o.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(o.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS settings for ECR registry %s: %w", reg.Host, err)
	}
	client := ecr.NewFromConfig(cfg, func(eo *ecr.Options) {
		if o.Endpoint != "" {
			eo.BaseEndpoint = aws.String(o.Endpoint)
		}
	})
	in := ecr.CreateRepositoryInput{
		RegistryId:                 aws.String(reg.Account),
		ImageTagMutability:         types.ImageTagMutabilityMutable,
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: o.ScanOnPush},
	}
	if o.TagMutability == Immutable {
		in.ImageTagMutability = types.ImageTagMutabilityImmutableWithExclusion
		in.ImageTagMutabilityExclusionFilters = []types.ImageTagMutabilityExclusionFilter{
			{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String(MutableTags)},
		}
	}
	return &Creator{reg: reg, client: client, input: in}, nil
}

func (c *Creator) ensure(ctx context.Context, repo string) (bool, error) {
	_, err := c.client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{
		RegistryId: aws.String(c.reg.Account), RepositoryNames: []string{repo},
	})
	var notFound *types.RepositoryNotFoundException
	switch {
	case err == nil:
		return false, nil
	case !errors.As(err, &notFound):
		return false, c.wrap("checking", repo, "ecr:DescribeRepositories", err)
	}
	in := c.input
	in.RepositoryName = aws.String(repo)
	_, err = c.client.CreateRepository(ctx, &in)
	var exists *types.RepositoryAlreadyExistsException
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exists):
		return false, nil
	}
	return false, c.wrap("creating", repo, "ecr:CreateRepository", err)
}

// wrap names the repository and, for a refusal, the IAM action to grant.
func (c *Creator) wrap(doing, repo, action string, err error) error {
	msg := err.Error()
	var api smithy.APIError
	if errors.As(err, &api) {
		msg = api.ErrorCode() + ": " + api.ErrorMessage()
		if api.ErrorCode() == "AccessDeniedException" || strings.Contains(api.ErrorMessage(), "not authorized") {
			return fmt.Errorf("%s ECR repository %q in %s: %s; grant the push identity %s on arn:aws:ecr:%s:%s:repository/%s, or create the repository first",
				doing, repo, c.reg.Host, msg, Permissions, c.reg.Region, c.reg.Account, repo)
		}
	}
	return fmt.Errorf("%s ECR repository %q in %s (needs %s): %s", doing, repo, c.reg.Host, action, msg)
}

// Create makes sure each repository of this registry exists (HOST/PATH;
// repositories of other registries are left alone), and returns those it
// created and, by repository, those it could not check or create: the
// plan's RepositoryCreator.
func (c *Creator) Create(ctx context.Context, repos []string) ([]string, map[string]error) {
	var created []string
	failed := map[string]error{}
	for _, repo := range repos {
		path, ok := strings.CutPrefix(repo, c.reg.Host+"/")
		if !ok {
			continue
		}
		made, err := c.ensure(ctx, path)
		switch {
		case err != nil:
			failed[repo] = err
		case made:
			created = append(created, repo)
		}
	}
	return created, failed
}
