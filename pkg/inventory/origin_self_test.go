package inventory

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
)

func TestSelfOrigin(t *testing.T) {
	got, err := SelfOrigin{}.Needs(context.Background(), Input{Version: "v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{Image: "ghcr.io/sdr-mirror/kubectl-sdr-mirror:v1.2.3", Why: []string{"self:the image the CronJob runs"}}}
	if !reflect.DeepEqual(got.Items, want) {
		t.Errorf("Needs(v1.2.3) = %+v, want %+v", got.Items, want)
	}
	// A development build has no published image: an error, not a guess.
	for _, v := range []string{"", "(devel)", "v1.2.3+dirty"} {
		if _, err := (SelfOrigin{}).Needs(context.Background(), Input{Version: v}); err == nil {
			t.Errorf("Needs(%q) = no error, want one", v)
		} else if want := `self: this build's version "` + v + `" is not a release`; !strings.Contains(err.Error(), want) {
			t.Errorf("Needs(%q) error = %q, want one saying %q", v, err, want)
		}
	}
	// Its own image is outside Atlan's sources: SelfSource, which
	// cronjob's help passes to --allowed-source, admits it.
	ref, err := imagemap.ParseReference(want[0].Image)
	if err != nil {
		t.Fatal(err)
	}
	if Allowed(ref, DefaultAllowedSources) || !Allowed(ref, []string{SelfSource}) {
		t.Errorf("Allowed(%s): by default %v, by %s %v; want false, true", ref, Allowed(ref, DefaultAllowedSources), SelfSource, Allowed(ref, []string{SelfSource}))
	}
}
