package store

import (
	"slices"
	"testing"
)

// TestProvidersListed keeps the lists users see (in errors and help) in
// step with the registered providers.
func TestProvidersListed(t *testing.T) {
	want := []string{}
	for _, p := range providers {
		want = append(want, p.componentTypes...)
		if got := providerForScheme(p.scheme); got != p {
			t.Errorf("providerForScheme(%q) = %v, want the %s provider", p.scheme, got, p.scheme)
		}
		if !slices.Contains(SupportedSchemes, p.scheme) {
			t.Errorf("SupportedSchemes = %q, want it to list %q", SupportedSchemes, p.scheme)
		}
	}
	want = append(want, "bindings.localstorage")
	got := slices.Clone(ComponentTypes)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ComponentTypes = %q, want %q (every provider's types and bindings.localstorage)", got, want)
	}
	if got, want := SupportedSchemes, []string{"s3", "gs", "azblob", "file", "mem"}; !slices.Equal(got, want) {
		t.Errorf("SupportedSchemes = %q, want %q", got, want)
	}
}
