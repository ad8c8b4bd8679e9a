package inventory

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestOrigins(t *testing.T) {
	if got, want := Names(), []string{"helm", "latest-releases", "file", "bundle", "self"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	want := "helm when the SDR is read from a cluster, latest-releases when --atlan-url is set, file when --images-file is set, bundle when --from-bundle is set"
	if got := DefaultsHelp(); got != want {
		t.Errorf("DefaultsHelp() = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		in   Input
		want []string
	}{
		{Input{}, nil},
		{Input{UsesCluster: true}, []string{"helm"}},
		{Input{AtlanURL: "https://acme.atlan.com", ImagesFile: "-"}, []string{"latest-releases", "file"}},
		{Input{UsesCluster: true, Bundle: &BundleNeeds{}}, []string{"helm", "bundle"}},
		// A bundle stands in for the endpoint the inside cannot reach.
		{Input{AtlanURL: "https://acme.atlan.com", Bundle: &BundleNeeds{}}, []string{"bundle"}},
	} {
		if got := Defaults(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Defaults(%+v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Errorf("Lookup(%q) found an origin", "nope")
	}
}

func TestBundleOrigin(t *testing.T) {
	in := Input{Bundle: &BundleNeeds{Dir: "/media/b", Items: []Item{{Image: "atlanhq/a:1", Why: []string{"latest-releases:a@1"}}, {Image: "atlanhq/b:2"}}}}
	got, err := BundleOrigin{}.Needs(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{Image: "atlanhq/a:1", Why: []string{"latest-releases:a@1"}}, {Image: "atlanhq/b:2", Why: []string{"bundle:/media/b"}}}
	if !reflect.DeepEqual(got.Items, want) {
		t.Errorf("BundleOrigin.Needs() = %+v, want %+v", got.Items, want)
	}
	if _, err := (BundleOrigin{}).Needs(context.Background(), Input{}); err == nil || !strings.Contains(err.Error(), "--from-bundle DIR") {
		t.Errorf("BundleOrigin.Needs() without a bundle: %v, want the flag named", err)
	}
}

func TestReleasesOriginReadsTheBundleSnapshot(t *testing.T) {
	body := []byte(`{"releases":[{"app_id":"1","app_name":"a","version":"1","version_id":"v1","image":"docker.io/atlanhq/a:1"}]}`)
	// No tenant URL: nothing is fetched.
	got, err := ReleasesOrigin{}.Needs(context.Background(), Input{Bundle: &BundleNeeds{Releases: body}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{Image: "docker.io/atlanhq/a:1", Why: []string{"latest-releases:a@1"}}}
	if !reflect.DeepEqual(got.Items, want) {
		t.Errorf("ReleasesOrigin.Needs(snapshot) = %+v, want %+v", got.Items, want)
	}
}

func TestFileOriginReadsAnInventory(t *testing.T) {
	p := filepath.Join(t.TempDir(), "inventory.json")
	inv := `
[{"image":"atlanhq/a:1","why":["helm:atlan/a:Deployment/a"]},
 {"image":"reg.example.com/atlan/b:2","why":["helm:atlan/b:Deployment/b"],"mappedFrom":"atlanhq/b:2"}]`
	if err := os.WriteFile(p, []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := FileOrigin{}.Needs(context.Background(), Input{ImagesFile: p})
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{Image: "atlanhq/a:1", Why: []string{"helm:atlan/a:Deployment/a"}}, {Image: "atlanhq/b:2", Why: []string{"helm:atlan/b:Deployment/b"}}}
	if !reflect.DeepEqual(got.Items, want) {
		t.Errorf("FileOrigin.Needs(images -o json) = %+v, want %+v", got.Items, want)
	}
	if err := os.WriteFile(p, []byte(`[{"image":"Atlan/X:1"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (FileOrigin{}).Needs(context.Background(), Input{ImagesFile: p}); err == nil || !strings.Contains(err.Error(), "entry 0") {
		t.Errorf("FileOrigin.Needs of a bad inventory: %v, want the entry named", err)
	}
}

func TestFileOrigin(t *testing.T) {
	p := filepath.Join(t.TempDir(), "images.txt")
	if err := os.WriteFile(p, []byte("# needed\natlanhq/a:1\n\natlanhq/b:2 # why not\natlanhq/a:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := FileOrigin{}.Needs(context.Background(), Input{ImagesFile: p})
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{Image: "atlanhq/a:1", Why: []string{"file:" + p + ":2"}}, {Image: "atlanhq/b:2", Why: []string{"file:" + p + ":4"}}}
	if !reflect.DeepEqual(got.Items, want) {
		t.Errorf("Needs(%q) = %+v, want %+v", p, got.Items, want)
	}
	// A line that repeats an earlier one is skipped, naming both lines;
	// it is no announced entry.
	wantSkipped := []Skipped{{Image: "atlanhq/a:1", Why: "file:" + p + ":5", Reason: "duplicate of line 2"}}
	if !reflect.DeepEqual(got.Skipped, wantSkipped) {
		t.Errorf("Needs(%q) skipped %+v, want %+v", p, got.Skipped, wantSkipped)
	}
}
