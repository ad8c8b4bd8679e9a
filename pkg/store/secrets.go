package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
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
				return nil, fmt.Errorf("objectstore component %q: metadata %q comes from secret %q key %q, and no cluster is available to read it; run against the cluster, or give the bucket with %s",
					c.Name, it.Name, ref.Name, ref.Key, setting.Bucket)
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
