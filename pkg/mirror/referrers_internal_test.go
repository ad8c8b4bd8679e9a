package mirror

import "testing"

func TestAsReferrersIndex(t *testing.T) {
	const index = "application/vnd.oci.image.index.v1+json"
	tests := []struct {
		name, body, contentType string
		want                    bool
	}{
		{"an index", `{"schemaVersion":2,"mediaType":"` + index + `","manifests":[]}`, index, true},
		{"an index served as JSON", `{"schemaVersion":2,"mediaType":"` + index + `","manifests":[]}`, "application/json", true},
		{"media type only in the header", `{"schemaVersion":2,"manifests":[]}`, index + "; charset=utf-8", true},
		{"no media type anywhere", `{"schemaVersion":2,"manifests":[]}`, "application/json", false},
		{"a sign-in page", "<html><body>Sign in</body></html>", "text/html", false},
		{"a sign-in page labelled an index", "<html><body>Sign in</body></html>", index, false},
		{"a manifest", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}`, index, false},
		{"schema 1", `{"schemaVersion":1,"mediaType":"` + index + `"}`, index, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := asReferrersIndex([]byte(tc.body), tc.contentType); got != tc.want {
				t.Errorf("asReferrersIndex(%q, %q) = %v, want %v", tc.body, tc.contentType, got, tc.want)
			}
		})
	}
}
