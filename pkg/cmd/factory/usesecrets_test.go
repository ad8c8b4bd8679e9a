package factory

import (
	"context"
	"testing"
)

type secretsOf string

func (s secretsOf) GetSecret(context.Context, string, string) ([]byte, error) { return []byte(s), nil }

func TestUseSecrets(t *testing.T) {
	f, _, _ := NewTest(nil)
	f.UseSecrets(nil)
	if f.Secrets != nil {
		t.Fatalf("UseSecrets(nil) set Secrets = %v, want nil", f.Secrets)
	}
	f.UseSecrets(secretsOf("first"))
	f.UseSecrets(secretsOf("second"))
	if f.Secrets != secretsOf("first") {
		t.Errorf("Secrets = %v after two UseSecrets, want the first", f.Secrets)
	}
}
