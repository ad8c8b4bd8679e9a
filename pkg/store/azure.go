package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"gocloud.dev/blob"
	"gocloud.dev/blob/azureblob"
)

// azureProvider is Azure Blob Storage; versions are ETags.
var azureProvider = &provider{
	scheme:         "azblob",
	componentTypes: []string{"bindings.azure.blobstorage"},
	openComponent:  openAzure,
	openURL:        openAzureURL,
	version: func(r *blob.Reader) string {
		var resp azblobblob.DownloadStreamResponse
		if r.As(&resp) && resp.ETag != nil {
			return string(*resp.ETag)
		}
		return ""
	},
	precondition: azurePrecondition,
	isConflict: func(err error) bool {
		return bloberror.HasCode(err, bloberror.ConditionNotMet, bloberror.BlobAlreadyExists)
	},
}

func openAzure(ctx context.Context, s *settings, o *openOptions) (*blob.Bucket, string, error) {
	account, err := s.need("storage account", "accountName", "storageAccount")
	if err != nil {
		return nil, "", err
	}
	cont, err := s.need("container", "containerName", "container")
	if err != nil {
		return nil, "", err
	}
	// As Dapr does: a custom endpoint (an emulator, a private domain) is
	// followed by the account name; otherwise the public endpoint.
	var containerURL string
	if ep := strings.TrimSuffix(s.get("endpoint", "storageEndpoint"), "/"); ep != "" {
		containerURL = ep + "/" + account + "/" + cont
	} else {
		containerURL = "https://" + account + ".blob.core.windows.net/" + cont
	}
	var client *container.Client
	switch {
	case s.get("accountKey", "storageAccessKey") != "":
		cred, err := container.NewSharedKeyCredential(account, s.get("accountKey", "storageAccessKey"))
		if err != nil {
			return nil, "", fmt.Errorf("objectstore component %q: metadata \"accountKey\" is not a valid account key: %w", s.component, err)
		}
		client, err = container.NewClientWithSharedKeyCredential(containerURL, cred, o.azureClientOptions())
		if err != nil {
			return nil, "", fmt.Errorf("objectstore component %q: %w", s.component, err)
		}
	case s.get("sasToken") != "":
		client, err = container.NewClientWithNoCredential(containerURL+"?"+strings.TrimPrefix(s.get("sasToken"), "?"), o.azureClientOptions())
		if err != nil {
			return nil, "", fmt.Errorf("objectstore component %q: metadata \"sasToken\" does not form a valid URL", s.component)
		}
	default:
		var cred azcore.TokenCredential
		if id, secret, tenant := s.get("azureClientId"), s.get("azureClientSecret"), s.get("azureTenantId"); id != "" && secret != "" && tenant != "" {
			cred, err = azidentity.NewClientSecretCredential(tenant, id, secret, nil)
		} else {
			cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{TenantID: tenant})
		}
		if err != nil {
			return nil, "", fmt.Errorf("objectstore component %q: Azure credentials: %w; set metadata \"accountKey\" or \"sasToken\", or configure workload identity", s.component, err)
		}
		client, err = container.NewClient(containerURL, cred, o.azureClientOptions())
		if err != nil {
			return nil, "", fmt.Errorf("objectstore component %q: %w", s.component, err)
		}
	}
	b, err := azureblob.OpenBucket(ctx, client, nil)
	if err != nil {
		return nil, "", fmt.Errorf("objectstore component %q: opening Azure container %q: %w", s.component, cont, err)
	}
	return b, "azblob://" + cont + "?account=" + url.QueryEscape(account), nil
}

// openAzureURL follows azureblob's URL opener: the service URL and
// credentials from AZURE_STORAGE_* variables, or Azure's default
// credentials.
func openAzureURL(ctx context.Context, u *url.URL, o *openOptions) (*blob.Bucket, error) {
	sas := os.Getenv("AZURE_STORAGE_SAS_TOKEN")
	if sas != "" {
		for _, p := range []string{"domain", "protocol", "cdn", "localemu", "storage_account"} {
			if u.Query().Has(p) {
				return nil, fmt.Errorf("parameter %q cannot change the service endpoint when AZURE_STORAGE_SAS_TOKEN is set", p)
			}
		}
	}
	opener := &azureblob.URLOpener{
		ServiceURLOptions: *azureblob.NewDefaultServiceURLOptions(),
		MakeClient: func(svcURL azureblob.ServiceURL, name azureblob.ContainerName) (*container.Client, error) {
			containerURL, err := url.JoinPath(string(svcURL), string(name))
			if err != nil {
				return nil, err
			}
			opts := o.azureClientOptions()
			account, key := os.Getenv("AZURE_STORAGE_ACCOUNT"), os.Getenv("AZURE_STORAGE_KEY")
			conn := os.Getenv("AZURE_STORAGE_CONNECTION_STRING")
			if conn == "" {
				conn = os.Getenv("AZURE_STORAGEBLOB_CONNECTIONSTRING")
			}
			switch {
			case account != "" && key != "":
				cred, err := container.NewSharedKeyCredential(account, key)
				if err != nil {
					return nil, errors.New("AZURE_STORAGE_KEY is not a valid account key")
				}
				return container.NewClientWithSharedKeyCredential(containerURL, cred, opts)
			case sas != "":
				return container.NewClientWithNoCredential(containerURL, opts)
			case conn != "":
				return container.NewClientFromConnectionString(conn, string(name), opts)
			}
			var cred azcore.TokenCredential
			cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts.ClientOptions})
			if err != nil {
				return nil, err
			}
			return container.NewClient(containerURL, cred, opts)
		},
	}
	return opener.OpenBucketURL(ctx, u)
}

// azureClientOptions bound the SDK's retries of a failing request to a few
// seconds (its default waits up to minutes) and trust the extra CAs.
func (o *openOptions) azureClientOptions() *container.ClientOptions {
	opts := azureRetryOptions()
	opts.Transport = failFast{&http.Client{Transport: o.transport()}}
	return opts
}

// azureRetryOptions bound the SDK's retries of a failing request to a few
// seconds (its default waits up to minutes).
func azureRetryOptions() *container.ClientOptions {
	return &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: 3, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second},
	}}
}

func azurePrecondition(as func(any) bool, v Version) error {
	var uo *azblob.UploadStreamOptions
	if !as(&uo) {
		return errors.New("azure: cannot reach the upload options to make them conditional")
	}
	ac := &azblobblob.ModifiedAccessConditions{}
	if v.Absent() {
		ac.IfNoneMatch = to.Ptr(azcore.ETagAny)
	} else {
		ac.IfMatch = to.Ptr(azcore.ETag(v.token))
	}
	if uo.AccessConditions == nil {
		uo.AccessConditions = &azblobblob.AccessConditions{}
	}
	uo.AccessConditions.ModifiedAccessConditions = ac
	return nil
}
