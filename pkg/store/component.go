package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob/azureblob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcp"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"
	"sigs.k8s.io/yaml"
)

// SecretGetter returns one key of a secret the objectstore component refers
// to with secretKeyRef. In a cluster it reads the Kubernetes Secret called
// name in the SDR's namespace and returns the decoded value of key. It must
// not log or wrap the value, and its errors must not contain it; a missing
// secret or key is an error naming both.
type SecretGetter interface {
	GetSecret(ctx context.Context, name, key string) ([]byte, error)
}

// SecretGetterFunc adapts a function to SecretGetter.
type SecretGetterFunc func(ctx context.Context, name, key string) ([]byte, error)

// GetSecret calls f.
func (f SecretGetterFunc) GetSecret(ctx context.Context, name, key string) ([]byte, error) {
	return f(ctx, name, key)
}

// Component is a Dapr binding component, as the SDR declares its object
// store ("objectstore"): a type such as bindings.aws.s3 and metadata items.
type Component struct {
	Name      string
	Namespace string
	Type      string
	Metadata  []MetadataItem
}

// MetadataItem is one {name, value} or {name, secretKeyRef} entry.
type MetadataItem struct {
	Name string `json:"name"`
	// Value is the inline value; numbers and booleans are kept as text.
	Value        string        `json:"value,omitempty"`
	SecretKeyRef *SecretKeyRef `json:"secretKeyRef,omitempty"`
}

// UnmarshalJSON accepts a string, number or boolean value.
func (it *MetadataItem) UnmarshalJSON(b []byte) error {
	var raw struct {
		Name         string          `json:"name"`
		Value        json.RawMessage `json:"value"`
		SecretKeyRef *SecretKeyRef   `json:"secretKeyRef"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	it.Name, it.SecretKeyRef, it.Value = raw.Name, raw.SecretKeyRef, ""
	if len(raw.Value) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw.Value, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case string:
		it.Value = v
	case bool, float64:
		it.Value = strings.TrimSpace(string(raw.Value))
	case nil:
	default:
		return fmt.Errorf("metadata %q: value must be a string, number or boolean", raw.Name)
	}
	return nil
}

// SecretKeyRef names a key of a secret in the component's namespace.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// ComponentTypes are the Dapr binding types OpenComponent understands.
var ComponentTypes = []string{
	"bindings.aws.s3", "bindings.s3", "bindings.azure.blobstorage",
	"bindings.gcp.bucket", "bindings.gcs", "bindings.localstorage",
}

// ParseComponent reads a Dapr Component manifest (apiVersion
// dapr.io/v1alpha1, kind Component) as YAML or JSON, so an object found in
// a release manifest can be passed marshalled. Values stay unresolved
// until OpenComponent.
func ParseComponent(data []byte) (*Component, error) {
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Spec struct {
			Type     string         `json:"type"`
			Metadata []MetadataItem `json:"metadata"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parsing Dapr component: %w", err)
	}
	if m.Kind != "Component" || !strings.HasPrefix(m.APIVersion, "dapr.io/") {
		return nil, fmt.Errorf("parsing Dapr component: kind %q apiVersion %q, want kind Component of dapr.io/v1alpha1", m.Kind, m.APIVersion)
	}
	c := &Component{Name: m.Metadata.Name, Namespace: m.Metadata.Namespace, Type: m.Spec.Type, Metadata: m.Spec.Metadata}
	for _, it := range c.Metadata {
		if it.SecretKeyRef != nil && (it.SecretKeyRef.Name == "" || it.SecretKeyRef.Key == "") {
			return nil, fmt.Errorf("Dapr component %q: metadata %q: secretKeyRef needs both name and key", c.Name, it.Name) //nolint:staticcheck // Dapr is a proper noun
		}
	}
	return c, nil
}

// settings are a component's metadata with secrets resolved; secret holds
// every value that must not be shown.
type settings struct {
	component string
	values    map[string]string // lower-cased names
	secrets   []string
}

// sensitive metadata names: inline values of these are secrets too.
var sensitive = map[string]bool{
	"accesskey": true, "secretkey": true, "sessiontoken": true,
	"accountkey": true, "storageaccesskey": true, "sastoken": true, "azureclientsecret": true,
	"private_key": true, "private_key_id": true,
}

func resolve(ctx context.Context, c *Component, secrets SecretGetter) (*settings, error) {
	s := &settings{component: c.Name, values: map[string]string{}}
	for _, it := range c.Metadata {
		v := it.Value
		if ref := it.SecretKeyRef; ref != nil {
			if secrets == nil {
				return nil, fmt.Errorf("objectstore component %q: metadata %q comes from secret %q key %q, and no cluster is available to read it; run against the cluster, or give the bucket with --bucket",
					c.Name, it.Name, ref.Name, ref.Key)
			}
			b, err := secrets.GetSecret(ctx, ref.Name, ref.Key)
			if err != nil {
				return nil, fmt.Errorf("objectstore component %q: metadata %q: %w", c.Name, it.Name, scrubSecrets(err, s.secrets))
			}
			v = string(b)
			s.secrets = append(s.secrets, v)
		} else if sensitive[strings.ToLower(it.Name)] && v != "" {
			s.secrets = append(s.secrets, v)
		}
		s.values[strings.ToLower(it.Name)] = v
	}
	return s, nil
}

// get returns the first non-empty value among names (Dapr has renamed some).
func (s *settings) get(names ...string) string {
	for _, n := range names {
		if v := s.values[strings.ToLower(n)]; v != "" {
			return v
		}
	}
	return ""
}

func (s *settings) bool(name string) (bool, error) {
	v := s.get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("objectstore component %q: metadata %q is %q, want true or false", s.component, name, v)
	}
	return b, nil
}

func (s *settings) need(what string, names ...string) (string, error) {
	if v := s.get(names...); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("objectstore component %q: no %s; set metadata %q", s.component, what, names[0])
}

// OpenComponent opens the object at key in the bucket a Dapr objectstore
// component describes, with the credentials it names: S3 static keys or
// the default chain, an Azure account key, SAS token or default
// credentials, GCS service-account fields or application default
// credentials. secrets resolves secretKeyRef items; it may be nil when the
// component has none. Credentials go straight into the client, never into
// a URL or the environment, and are removed from every error.
func OpenComponent(ctx context.Context, c *Component, key string, secrets SecretGetter, opts ...Option) (Object, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("objectstore component %q: no object key; pass --image-map-path", c.Name)
	}
	s, err := resolve(ctx, c, secrets)
	if err != nil {
		return nil, err
	}
	var obj Object
	switch c.Type {
	case "bindings.aws.s3", "bindings.s3":
		obj, err = openS3(ctx, s, key, o)
	case "bindings.azure.blobstorage":
		obj, err = openAzure(ctx, s, key, o)
	case "bindings.gcp.bucket", "bindings.gcs":
		obj, err = openGCS(ctx, s, key, o)
	case "bindings.localstorage":
		var root string
		if root, err = s.need("root path", "rootPath"); err == nil {
			obj, err = FileBucket(root, key)
		}
	default:
		return nil, fmt.Errorf("objectstore component %q: type %q is not supported; use one of %s", c.Name, c.Type, strings.Join(ComponentTypes, ", "))
	}
	if err != nil {
		return nil, scrubSecrets(err, s.secrets)
	}
	return obj, nil
}

func openS3(ctx context.Context, s *settings, key string, o *openOptions) (Object, error) {
	bucket, err := s.need("bucket", "bucket")
	if err != nil {
		return nil, err
	}
	pathStyle, err := s.bool("forcePathStyle")
	if err != nil {
		return nil, err
	}
	noSSL, err := s.bool("disableSSL")
	if err != nil {
		return nil, err
	}
	insecure, err := s.bool("insecureSSL")
	if err != nil {
		return nil, err
	}
	endpoint := s.get("endpoint")
	if endpoint != "" && !strings.Contains(endpoint, "://") {
		scheme := "https://"
		if noSSL {
			scheme = "http://"
		}
		endpoint = scheme + endpoint
	}
	region := s.get("region")
	if region == "" && endpoint != "" {
		region = "us-east-1" // S3-compatible servers accept any region
	}
	opts := []func(*config.LoadOptions) error{}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if ak := s.get("accessKey"); ak != "" {
		sk, err := s.need("secret key for accessKey", "secretKey")
		if err != nil {
			return nil, err
		}
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(ak, sk, s.get("sessionToken"))))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("objectstore component %q: loading AWS configuration: %w", s.component, err)
	}
	cfg.HTTPClient = o.awsHTTPClient(cfg.HTTPClient, insecure)
	if cfg.Region == "" {
		return nil, fmt.Errorf("objectstore component %q: no AWS region; set metadata \"region\"", s.component)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = pathStyle
	})
	b, err := s3blob.OpenBucket(ctx, client, bucket, nil)
	if err != nil {
		return nil, fmt.Errorf("objectstore component %q: opening S3 bucket %q: %w", s.component, bucket, err)
	}
	name := "s3://" + bucket
	if endpoint != "" {
		name += "?endpoint=" + url.QueryEscape(endpoint)
	}
	return newBucketObject(b, providerS3, name, key, s.secrets, o), nil
}

func openAzure(ctx context.Context, s *settings, key string, o *openOptions) (Object, error) {
	account, err := s.need("storage account", "accountName", "storageAccount")
	if err != nil {
		return nil, err
	}
	cont, err := s.need("container", "containerName", "container")
	if err != nil {
		return nil, err
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
			return nil, fmt.Errorf("objectstore component %q: metadata \"accountKey\" is not a valid account key: %w", s.component, err)
		}
		client, err = container.NewClientWithSharedKeyCredential(containerURL, cred, o.azureClientOptions())
		if err != nil {
			return nil, fmt.Errorf("objectstore component %q: %w", s.component, err)
		}
	case s.get("sasToken") != "":
		client, err = container.NewClientWithNoCredential(containerURL+"?"+strings.TrimPrefix(s.get("sasToken"), "?"), o.azureClientOptions())
		if err != nil {
			return nil, fmt.Errorf("objectstore component %q: metadata \"sasToken\" does not form a valid URL", s.component)
		}
	default:
		var cred azcore.TokenCredential
		if id, secret, tenant := s.get("azureClientId"), s.get("azureClientSecret"), s.get("azureTenantId"); id != "" && secret != "" && tenant != "" {
			cred, err = azidentity.NewClientSecretCredential(tenant, id, secret, nil)
		} else {
			cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{TenantID: tenant})
		}
		if err != nil {
			return nil, fmt.Errorf("objectstore component %q: Azure credentials: %w; set metadata \"accountKey\" or \"sasToken\", or configure workload identity", s.component, err)
		}
		client, err = container.NewClient(containerURL, cred, o.azureClientOptions())
		if err != nil {
			return nil, fmt.Errorf("objectstore component %q: %w", s.component, err)
		}
	}
	b, err := azureblob.OpenBucket(ctx, client, nil)
	if err != nil {
		return nil, fmt.Errorf("objectstore component %q: opening Azure container %q: %w", s.component, cont, err)
	}
	return newBucketObject(b, providerAzure, "azblob://"+cont+"?account="+url.QueryEscape(account), key, s.secrets, o), nil
}

// azureRetryOptions bound the SDK's retries of a failing request to a few
// seconds (its default waits up to minutes).
func azureRetryOptions() *container.ClientOptions {
	return &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: 3, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second},
	}}
}

// gcsServiceAccountFields are the Dapr metadata names that together form a
// service-account key file.
var gcsServiceAccountFields = []string{
	"type", "project_id", "private_key_id", "private_key", "client_email", "client_id",
	"auth_uri", "token_uri", "auth_provider_x509_cert_url", "client_x509_cert_url",
}

func openGCS(ctx context.Context, s *settings, key string, o *openOptions) (Object, error) {
	bucket, err := s.need("bucket", "bucket")
	if err != nil {
		return nil, err
	}
	endpoint := strings.TrimSuffix(s.get("endpoint"), "/")
	var opts []option.ClientOption
	var client *gcp.HTTPClient
	switch {
	case s.get("private_key") != "" || s.get("client_email") != "":
		sa := map[string]string{}
		for _, f := range gcsServiceAccountFields {
			if v := s.get(f); v != "" {
				sa[f] = v
			}
		}
		if sa["type"] == "" {
			sa["type"] = "service_account"
		}
		raw, _ := json.Marshal(sa)
		creds, err := google.CredentialsFromJSONWithType(ctx, raw, google.ServiceAccount, storage.ScopeReadWrite)
		if err != nil {
			return nil, fmt.Errorf("objectstore component %q: the service-account metadata (client_email, private_key, …) do not form a valid key: %w", s.component, err)
		}
		if client, err = gcp.NewHTTPClient(o.transport(), creds.TokenSource); err != nil {
			return nil, fmt.Errorf("objectstore component %q: %w", s.component, err)
		}
	case endpoint != "":
		// An emulator or private endpoint without a key: no authentication.
		client = &gcp.HTTPClient{Client: http.Client{Transport: o.transport()}}
		opts = append(opts, option.WithoutAuthentication())
	default:
		creds, err := gcp.DefaultCredentials(ctx)
		if err != nil {
			return nil, fmt.Errorf("objectstore component %q: no service-account metadata and no application default credentials: %w; set metadata \"client_email\" and \"private_key\", or configure workload identity", s.component, err)
		}
		if client, err = gcp.NewHTTPClient(o.transport(), gcp.CredentialsTokenSource(creds)); err != nil {
			return nil, fmt.Errorf("objectstore component %q: %w", s.component, err)
		}
	}
	if endpoint != "" {
		if !strings.Contains(endpoint, "://") {
			endpoint = "https://" + endpoint
		}
		opts = append(opts, option.WithEndpoint(endpoint+"/storage/v1/"))
	}
	b, err := gcsblob.OpenBucket(ctx, client, bucket, &gcsblob.Options{ClientOptions: opts})
	if err != nil {
		return nil, fmt.Errorf("objectstore component %q: opening GCS bucket %q: %w", s.component, bucket, err)
	}
	boundGCSRetries(b)
	name := "gs://" + bucket
	if endpoint != "" {
		name += "?endpoint=" + url.QueryEscape(endpoint)
	}
	return newBucketObject(b, providerGCS, name, key, s.secrets, o), nil
}

// redactedError keeps the chain of an error whose message had secrets
// replaced.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// jwt matches a signed JSON Web Token, such as the assertion a service
// account exchanges for an access token; a token server may echo it.
var jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)

// bearer matches an Authorization header value.
var bearer = regexp.MustCompile(`(?i)(bearer|sharedkey|AWS4-HMAC-SHA256)\s+[^\s"',]+`)

// scrubSecrets removes every credential from err's message — the given
// secret values, signed tokens and authorization headers — and makes it one
// line: provider errors span lines and may carry an XML or JSON body.
func scrubSecrets(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	out := msg
	for _, s := range secrets {
		if len(s) >= 4 {
			out = strings.ReplaceAll(out, s, "REDACTED")
		}
	}
	out = jwt.ReplaceAllString(out, "REDACTED")
	out = bearer.ReplaceAllString(out, "$1 REDACTED")
	if i := strings.Index(out, "<?xml"); i >= 0 {
		out = strings.TrimSpace(out[:i])
	}
	out = strings.Join(strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == '\r' || r == '\t' }), " ")
	out = dashes.ReplaceAllString(out, " ")
	out = strings.Join(strings.Fields(out), " ")
	if out == msg {
		return err
	}
	return &redactedError{msg: out, err: err}
}

var dashes = regexp.MustCompile(`-{8,}`)
