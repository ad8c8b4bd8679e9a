package plan

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/imagemap"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/inventory"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror"
)

// fakeRegistry answers digests from a table; "!err" values are errors.
type fakeRegistry map[string]string

func (f fakeRegistry) Check(_ context.Context, pairs []mirror.Pair) []mirror.Inspection {
	out := make([]mirror.Inspection, len(pairs))
	for i, p := range pairs {
		in := mirror.Inspection{Source: p.Source, Destination: p.Destination}
		src, ok := f[p.Source]
		if ref, err := imagemap.ParseReference(p.Source); err == nil && ref.Digest != "" {
			src, ok = ref.Digest, true
		}
		switch {
		case !ok:
			in.Err = fmt.Errorf("source %q: not found", p.Source)
		case src == "!err":
			in.Err = fmt.Errorf("source registry: reading %q: UNAUTHORIZED: authentication required", p.Source)
		default:
			in.Digest, in.SourceDigest, in.DestinationDigest = src, src, f[p.Destination]
		}
		out[i] = in
	}
	return out
}

const (
	d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

const testMap = `images:
  "atlanhq/ok-app": "reg.example.com/atlan/ok-app"
  "atlanhq/missing-app": "reg.example.com/atlan/missing-app"
  "atlanhq/drift-app:1.0": "reg.example.com/atlan/drift-app:1.0-patched"
  "atlanhq/tagged-app:1.0": "reg.example.com/team/tagged-app:1.0"
  "atlanhq/old-app": "reg.example.com/atlan/old-app"
  "docker.io/atlanhq/normal-app": "reg.example.com/atlan/normal-app"
`

func TestBuild(t *testing.T) {
	m, err := imagemap.Parse([]byte(testMap))
	if err != nil {
		t.Fatal(err)
	}
	reg := fakeRegistry{
		"atlanhq/ok-app:1.0":                          d1,
		"reg.example.com/atlan/ok-app:1.0":            d1,
		"atlanhq/missing-app:2.0":                     d1,
		"atlanhq/drift-app:1.0":                       d1,
		"reg.example.com/atlan/drift-app:1.0-patched": d2,
		"atlanhq/new-app:3.0":                         d1,
		"atlanhq/present-app:3.0":                     d2,
		"reg.example.com/atlan/present-app:3.0":       d2,
		"atlanhq/tagged-app:2.0":                      d1,
		"atlanhq/broken-app:1.0":                      "!err",
		"atlanhq/normal-app:1.0":                      d1,
		"reg.example.com/atlan/pinned@" + d1:          d1,
		"reg.example.com/atlan/ok-app:deployed":       d1,
		"atlanhq/ok-app:deployed":                     d1,
	}
	needs := []inventory.Item{
		{Image: "atlanhq/ok-app:1.0", Why: []string{"latest-releases:ok@1.0"}},
		{Image: "atlanhq/ok-app:1.0", Why: []string{"helm:sdr/atlan-sdr-prod:Deployment/ok"}},
		{Image: "atlanhq/missing-app:2.0"},
		{Image: "atlanhq/drift-app:1.0"},
		{Image: "atlanhq/new-app:3.0"},
		{Image: "atlanhq/present-app:3.0"},
		{Image: "atlanhq/tagged-app:2.0"},
		{Image: "atlanhq/broken-app:1.0"},
		{Image: "atlanhq/normal-app:1.0"},
		{Image: "atlanhq/pinned@" + d1},
		{Image: "reg.example.com/atlan/ok-app:deployed", MappedFrom: "atlanhq/ok-app:deployed", Why: []string{"helm:sdr/x:Job/y"}},
	}
	p, err := Build(context.Background(), needs, m, WithTarget("reg.example.com/atlan/"), WithRegistry(reg), WithMapURL("s3://b/map.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// An unmapped image resolves to itself, as resolve shows it; where
	// sync would mirror it is proposed.
	want := map[string]struct {
		state    State
		rule     imagemap.Rule
		resolved string
		proposed string
		entry    string // "source=destination" of the entry to add
	}{
		"atlanhq/ok-app:1.0":      {OK, imagemap.RuleRepo, "reg.example.com/atlan/ok-app:1.0", "", ""},
		"atlanhq/ok-app:deployed": {OK, imagemap.RuleRepo, "reg.example.com/atlan/ok-app:deployed", "", ""},
		"atlanhq/missing-app:2.0": {Missing, imagemap.RuleRepo, "reg.example.com/atlan/missing-app:2.0", "", ""},
		"atlanhq/drift-app:1.0":   {Drift, imagemap.RuleExact, "reg.example.com/atlan/drift-app:1.0-patched", "", ""},
		"atlanhq/new-app:3.0":     {Unmapped, imagemap.RuleNone, "atlanhq/new-app:3.0", "reg.example.com/atlan/new-app:3.0", "atlanhq/new-app=reg.example.com/atlan/new-app"},
		"atlanhq/present-app:3.0": {Unmapped, imagemap.RuleNone, "atlanhq/present-app:3.0", "reg.example.com/atlan/present-app:3.0", "atlanhq/present-app=reg.example.com/atlan/present-app"},
		// An existing exact entry decides where other tags of that repo go.
		"atlanhq/tagged-app:2.0": {Unmapped, imagemap.RuleNone, "atlanhq/tagged-app:2.0", "reg.example.com/team/tagged-app:2.0", "atlanhq/tagged-app=reg.example.com/team/tagged-app"},
		"atlanhq/broken-app:1.0": {Error, imagemap.RuleNone, "atlanhq/broken-app:1.0", "reg.example.com/atlan/broken-app:1.0", "atlanhq/broken-app=reg.example.com/atlan/broken-app"},
		"atlanhq/normal-app:1.0": {Unmapped, imagemap.RuleNone, "atlanhq/normal-app:1.0", "reg.example.com/atlan/normal-app:1.0", "atlanhq/normal-app=reg.example.com/atlan/normal-app"},
		"atlanhq/pinned@" + d1:   {Unmapped, imagemap.RuleNone, "atlanhq/pinned@" + d1, "reg.example.com/atlan/pinned@" + d1, "atlanhq/pinned=reg.example.com/atlan/pinned"},
	}
	if len(p.Images) != len(want) {
		t.Fatalf("plan has %d images, want %d: %+v", len(p.Images), len(want), p.Images)
	}
	for _, it := range p.Images {
		w, ok := want[it.Source]
		if !ok {
			t.Errorf("unexpected image %q", it.Source)
			continue
		}
		if it.State != w.state || it.Rule != w.rule || it.Resolved != w.resolved || it.Proposed != w.proposed {
			t.Errorf("%s = %s %s %q -> %q, want %s %s %q -> %q (%s)", it.Source, it.State, it.Rule, it.Resolved, it.Proposed,
				w.state, w.rule, w.resolved, w.proposed, it.Error)
		}
		got := ""
		if it.Entry != nil {
			got = it.Entry.Source + "=" + it.Entry.Destination
		}
		if got != w.entry {
			t.Errorf("%s entry = %q, want %q", it.Source, got, w.entry)
		}
	}
	byName := map[string]Item{}
	for _, it := range p.Images {
		byName[it.Source] = it
	}
	if w := byName["atlanhq/ok-app:1.0"].Why; strings.Join(w, ",") != "helm:sdr/atlan-sdr-prod:Deployment/ok,latest-releases:ok@1.0" {
		t.Errorf("merged why = %v", w)
	}
	if it := byName["atlanhq/present-app:3.0"]; it.NeedsCopy(false) || !it.Mirrored() {
		t.Errorf("unmapped image already at its destination with the same digest: NeedsCopy %v, Mirrored %v; want false, true", it.NeedsCopy(false), it.Mirrored())
	}
	if it := byName["atlanhq/new-app:3.0"]; !it.NeedsCopy(false) || it.Mirrored() {
		t.Errorf("unmapped image absent from the target: NeedsCopy %v, Mirrored %v; want true, false", it.NeedsCopy(false), it.Mirrored())
	}
	if it := byName["atlanhq/drift-app:1.0"]; it.NeedsCopy(false) || !it.NeedsCopy(true) {
		t.Errorf("drift is copied only with --overwrite")
	}
	if it := byName["atlanhq/broken-app:1.0"]; !strings.Contains(it.Error, "UNAUTHORIZED") || !strings.Contains(it.Error, "atlanhq/broken-app:1.0") {
		t.Errorf("error state carries %q", it.Error)
	}
	if it := byName["atlanhq/normal-app:1.0"]; !strings.Contains(it.Warning, `"docker.io/atlanhq/normal-app"`) {
		t.Errorf("normalisation warning = %q", it.Warning)
	}
	var stale []string
	for _, s := range p.Stale {
		stale = append(stale, s.Source)
	}
	if strings.Join(stale, ",") != "atlanhq/tagged-app:1.0,atlanhq/old-app,docker.io/atlanhq/normal-app" {
		t.Errorf("stale = %v", stale)
	}
	if p.Summary[OK] != 2 || p.Summary[Unmapped] != 5 || p.Summary[Missing] != 1 || p.Summary[Drift] != 1 || p.Summary[Error] != 1 {
		t.Errorf("summary = %v", p.Summary)
	}
	if p.InSync() {
		t.Error("InSync() = true with work to do")
	}
}

func TestBuildOffline(t *testing.T) {
	m, _ := imagemap.Parse([]byte(testMap))
	p, err := Build(context.Background(), []inventory.Item{{Image: "atlanhq/ok-app:1.0"}, {Image: "atlanhq/new-app:1"}}, m, WithTarget("reg.example.com/atlan"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Images[0].State != Unmapped || p.Images[1].State != Unchecked {
		t.Errorf("offline states = %s, %s; want unmapped, unchecked", p.Images[0].State, p.Images[1].State)
	}
}

func TestBuildKeepPath(t *testing.T) {
	p, err := Build(context.Background(), []inventory.Item{{Image: "ghcr.io/atlanhq/sub/app:1"}}, imagemap.New(), WithTarget("reg.example.com/mirror"), WithKeepPath(true))
	if err != nil {
		t.Fatal(err)
	}
	if e := p.Images[0].Entry; e == nil || e.Destination != "reg.example.com/mirror/atlanhq/sub/app" {
		t.Errorf("--keep-path entry = %+v", e)
	}
}

func TestBuildWithoutMapUsesPrefix(t *testing.T) {
	reg := fakeRegistry{"atlanhq/a:1": d1, "reg.example.com/atlan/a:1": d1, "atlanhq/b:1": d1}
	p, err := Build(context.Background(), []inventory.Item{{Image: "atlanhq/a:1"}, {Image: "atlanhq/b:1"}}, nil, WithTarget("reg.example.com/atlan"), WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	if p.Map != nil || p.Images[0].State != OK || p.Images[0].Rule != imagemap.RulePrefix || p.Images[1].State != Missing || p.Images[1].Entry != nil {
		t.Errorf("prefix plan = %+v", p.Images)
	}
}

func TestBuildErrors(t *testing.T) {
	if _, err := Build(context.Background(), nil, nil); err == nil || !strings.Contains(err.Error(), "--target") {
		t.Errorf("Build(no map, no target) = %v", err)
	}
	if _, err := Build(context.Background(), []inventory.Item{{Image: "Bad Ref"}}, imagemap.New(), WithTarget("reg.example.com/atlan")); err == nil {
		t.Error("Build(bad ref) succeeded")
	}
	if _, err := Build(context.Background(), []inventory.Item{{Image: "atlanhq/x:1"}}, imagemap.New(), WithTarget("file:///srv/mirror")); err == nil || !strings.Contains(err.Error(), `target "file:///srv/mirror": a registry prefix has no scheme`) {
		t.Errorf("Build(file:// target) = %v", err)
	}
}

// The states' help text is generated from StateRules; diff's help shows it
// and must not change by accident.
func TestStatesHelp(t *testing.T) {
	want := `  ok          the resolved image is in the target registry with the source's digest
  unmapped    no map entry: the SDR would pull the blocked public image (sync copies and maps it)
  missing     mapped, but the destination does not exist (sync copies it)
  drift       the destination holds another digest (sync copies only with --overwrite)
  unverified  the source's signature check failed (never copied or mapped)
  error       a registry or auth error, with its cause
  unchecked   mapped; registries not consulted (--offline)
  skipped     found but not mirrored: outside --allowed-source, not a valid reference, or listed twice (the detail says which)`
	if got := StatesHelp(); got != want {
		t.Errorf("StatesHelp() =\n%s\nwant\n%s", got, want)
	}
	wantOrder := []State{Error, Unverified, Drift, Missing, Unmapped, Unchecked, OK, Skipped}
	if !slices.Equal(States, wantOrder) {
		t.Errorf("States = %q, want %q", States, wantOrder)
	}
}

func TestNeedsWork(t *testing.T) {
	for _, tc := range []struct {
		state            State
		plain, overwrite bool
	}{
		{OK, false, false}, {Unmapped, true, true}, {Missing, true, true}, {Drift, false, true},
		{Unverified, false, false}, {Error, false, false}, {Unchecked, false, false}, {Skipped, false, false},
	} {
		if got := tc.state.NeedsWork(false); got != tc.plain {
			t.Errorf("%s.NeedsWork(false) = %v, want %v", tc.state, got, tc.plain)
		}
		if got := tc.state.NeedsWork(true); got != tc.overwrite {
			t.Errorf("%s.NeedsWork(true) = %v, want %v", tc.state, got, tc.overwrite)
		}
	}
}
