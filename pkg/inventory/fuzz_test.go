package inventory

import (
	"strings"
	"testing"
	"unicode"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
)

func FuzzParseReleases(f *testing.F) {
	f.Add([]byte(goodReleases))
	f.Add([]byte(`{"releases":[{"app_id":"a","app_name":"x\u001b[2J","version":"1","image":"atlanhq/../x:1"}]}`))
	f.Add([]byte(`{"releases":[1,"x",null,{}]}`))
	f.Add([]byte(`{"releases":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rs, skipped, err := ParseReleases(body, DefaultAllowedSources)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		for _, r := range rs {
			ref, err := imagemap.ParseReference(r.Image)
			if err != nil {
				t.Fatalf("accepted an unparsable image %q: %v", r.Image, err)
			}
			if !Allowed(ref, DefaultAllowedSources) {
				t.Fatalf("accepted an image from outside the allowed sources: %q", r.Image)
			}
			if r.AppID == "" || r.AppName == "" || r.Version == "" {
				t.Fatalf("accepted a release with a missing field: %+v", r)
			}
		}
		for _, s := range skipped {
			for _, text := range []string{s.App, s.Image, s.Reason} {
				if strings.IndexFunc(text, unicode.IsControl) >= 0 {
					t.Fatalf("skipped entry carries a control character: %q", text)
				}
			}
		}
	})
}

func FuzzReadImagesFile(f *testing.F) {
	f.Add("# c\natlanhq/a:1\n\n  atlanhq/b@sha256:" + strings.Repeat("a", 64) + " # x\n")
	f.Add("Atlan/X\n")
	f.Fuzz(func(t *testing.T, in string) {
		images, err := ReadImagesFile(strings.NewReader(in), "images.txt")
		if err != nil {
			if !strings.HasPrefix(err.Error(), `images file "images.txt": `) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error does not name the file on one line: %q", err)
			}
			return
		}
		for _, im := range images {
			if _, err := imagemap.ParseReference(im.Image); err != nil {
				t.Fatalf("accepted %q: %v", im.Image, err)
			}
		}
	})
}

func FuzzReadInventoryJSON(f *testing.F) {
	f.Add([]byte(`[{"image":"atlanhq/a:1","why":["helm:atlan/a:Deployment/a"]},{"image":"reg.example.com/atlan/b:2","mappedFrom":"atlanhq/b:2"}]`))
	f.Add([]byte(`[{"image":"Atlan/X"}]`))
	f.Add([]byte(`[1,null]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		items, err := ReadInventoryJSON(in, "inventory.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), `images file "inventory.json": `) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error does not name the file on one line: %q", err)
			}
			return
		}
		for _, it := range items {
			if _, err := imagemap.ParseReference(it.Image); err != nil {
				t.Fatalf("accepted %q: %v", it.Image, err)
			}
			if len(it.Why) == 0 {
				t.Fatalf("accepted %q with no reason", it.Image)
			}
			for _, w := range it.Why {
				if strings.IndexFunc(w, unicode.IsControl) >= 0 {
					t.Fatalf("reason carries a control character: %q", w)
				}
			}
		}
	})
}
