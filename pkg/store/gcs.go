package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"gocloud.dev/blob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/gcp"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// gcsProvider is Google Cloud Storage; versions are object generations.
var gcsProvider = &provider{
	scheme:         "gs",
	componentTypes: []string{"bindings.gcp.bucket", "bindings.gcs"},
	openComponent:  openGCS,
	openURL:        openGCSURL,
	version: func(r *blob.Reader) string {
		var sr *storage.Reader
		if r.As(&sr) && sr.Attrs.Generation != 0 {
			return strconv.FormatInt(sr.Attrs.Generation, 10)
		}
		return ""
	},
	precondition: gcsPrecondition,
	isConflict: func(err error) bool {
		var ge *googleapi.Error
		return errors.As(err, &ge) && ge.Code == 412
	},
}

// gcsServiceAccountFields are the Dapr metadata names that together form a
// service-account key file.
var gcsServiceAccountFields = []string{
	"type", "project_id", "private_key_id", "private_key", "client_email", "client_id",
	"auth_uri", "token_uri", "auth_provider_x509_cert_url", "client_x509_cert_url",
}

func openGCS(ctx context.Context, s *settings, o *openOptions) (*blob.Bucket, string, error) {
	bucket, err := s.need("bucket", "bucket")
	if err != nil {
		return nil, "", err
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
			return nil, "", fmt.Errorf("objectstore component %q: the service-account metadata (client_email, private_key, …) do not form a valid key: %w", s.component, err)
		}
		if client, err = gcp.NewHTTPClient(o.transport(), creds.TokenSource); err != nil {
			return nil, "", fmt.Errorf("objectstore component %q: %w", s.component, err)
		}
	case endpoint != "":
		// An emulator or private endpoint without a key: no authentication.
		client = &gcp.HTTPClient{Client: http.Client{Transport: o.transport()}}
		opts = append(opts, option.WithoutAuthentication())
	default:
		creds, err := gcp.DefaultCredentials(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("objectstore component %q: no service-account metadata and no application default credentials: %w; set metadata \"client_email\" and \"private_key\", or configure workload identity", s.component, err)
		}
		if client, err = gcp.NewHTTPClient(o.transport(), gcp.CredentialsTokenSource(creds)); err != nil {
			return nil, "", fmt.Errorf("objectstore component %q: %w", s.component, err)
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
		return nil, "", fmt.Errorf("objectstore component %q: opening GCS bucket %q: %w", s.component, bucket, err)
	}
	boundGCSRetries(b)
	name := "gs://" + bucket
	if endpoint != "" {
		name += "?endpoint=" + url.QueryEscape(endpoint)
	}
	return b, name, nil
}

// openGCSURL follows gcsblob's URL opener: application default
// credentials, or none for STORAGE_EMULATOR_HOST, anonymous=true and
// access_id=-.
func openGCSURL(ctx context.Context, u *url.URL, o *openOptions) (*blob.Bucket, error) {
	q := u.Query()
	anon, _ := strconv.ParseBool(q.Get("anonymous"))
	anon = anon || q.Get("access_id") == "-" || os.Getenv("STORAGE_EMULATOR_HOST") != ""
	var client *gcp.HTTPClient
	if anon {
		client = gcp.NewAnonymousHTTPClient(o.transport())
	} else {
		creds, err := gcp.DefaultCredentials(ctx)
		if err != nil {
			return nil, fmt.Errorf("no application default credentials: %w; configure them, or use %s with the service-account key", err, setting.ObjectstoreComponent)
		}
		if client, err = gcp.NewHTTPClient(o.transport(), gcp.CredentialsTokenSource(creds)); err != nil {
			return nil, err
		}
	}
	// The client option comes last and so replaces the one the opener
	// would pick (it uses http.DefaultClient for an emulator).
	opener := &gcsblob.URLOpener{Client: client, Options: gcsblob.Options{
		ClientOptions: []option.ClientOption{option.WithHTTPClient(&client.Client)},
	}}
	b, err := opener.OpenBucketURL(ctx, u)
	if err != nil {
		return nil, err
	}
	boundGCSRetries(b)
	return b, nil
}

// boundGCSRetries limits the GCS client's retries of a failing request
// (by default it retries until the context ends).
func boundGCSRetries(b *blob.Bucket) {
	var c *storage.Client
	if b.As(&c) {
		c.SetRetry(storage.WithMaxAttempts(4), storage.WithBackoff(gax.Backoff{Initial: 200 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2}))
	}
}

func gcsPrecondition(as func(any) bool, v Version) error {
	// The driver hands out a pointer to its handle so that the handle
	// returned by If replaces it before the writer is created.
	var ohp **storage.ObjectHandle
	if !as(&ohp) {
		return errors.New("gcs: cannot reach the object handle to make the upload conditional")
	}
	if v.Absent() {
		*ohp = (*ohp).If(storage.Conditions{DoesNotExist: true})
	} else {
		gen, err := strconv.ParseInt(v.token, 10, 64)
		if err != nil {
			return fmt.Errorf("gcs: version %q is not a generation", v.token)
		}
		*ohp = (*ohp).If(storage.Conditions{GenerationMatch: gen})
	}
	return nil
}
