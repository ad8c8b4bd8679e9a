package mirror_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

func TestParseMirrors(t *testing.T) {
	tests := []struct {
		in      []string
		want    map[string]string
		wantErr string
	}{
		{[]string{"docker.io=proxy:5000"}, map[string]string{"index.docker.io": "proxy:5000"}, ""},
		{[]string{"docker.io=a:5000", "index.docker.io=b:5000"}, nil, "two mirrors"},
		{[]string{"ghcr.io=m:1", "ghcr.io=m:1"}, map[string]string{"ghcr.io": "m:1"}, ""},
		{[]string{"ghcr.io"}, nil, "want SOURCEHOST=MIRRORHOST"},
	}
	for _, tc := range tests {
		got, err := mirror.ParseMirrors(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseMirrors(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("ParseMirrors(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
}
