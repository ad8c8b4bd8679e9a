package verify_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/sigtest"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/mirror/verify"
)

// tufFixture is a TUF repository publishing a trusted root, served on the
// loopback interface, and what a client fetched from it.
func tufFixture(t *testing.T, expires time.Time) (*sigtest.TUFRepo, verify.TUFAnchor, *verify.TUFMetadata) {
	t.Helper()
	trusted := []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)
	repo, err := sigtest.NewTUFRepo(trusted, expires)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(repo)
	t.Cleanup(srv.Close)
	anchor := verify.TUFAnchor{Root: repo.Anchor, Name: "the test anchor"}
	md, err := verify.FetchTUF(context.Background(), anchor, srv.URL)
	if err != nil {
		t.Fatalf("FetchTUF: %v", err)
	}
	if !bytes.Equal(md.TrustedRoot, trusted) {
		t.Fatalf("FetchTUF fetched trusted root %q, want %q", md.TrustedRoot, trusted)
	}
	return repo, anchor, md
}

func TestFetchTUFRecordsTheChain(t *testing.T) {
	repo, _, md := tufFixture(t, time.Now().Add(time.Hour))
	want := []string{"2.root.json", "3.root.json", verify.TUFSnapshot, verify.TUFTargets, verify.TUFTimestamp}
	if got := slices.Sorted(maps.Keys(md.Files)); !slices.Equal(got, want) {
		t.Fatalf("FetchTUF kept %q, want %q", got, want)
	}
	for name, served := range map[string]string{"2.root.json": "2.root.json", "3.root.json": "3.root.json", verify.TUFTimestamp: "timestamp.json",
		verify.TUFSnapshot: "1.snapshot.json", verify.TUFTargets: "1.targets.json"} {
		if !bytes.Equal(md.Files[name], repo.Files[served]) {
			t.Errorf("FetchTUF kept %s not as %s was served", name, served)
		}
	}
}

func TestFetchTUFRefusesAnotherAnchor(t *testing.T) {
	repo, _, _ := tufFixture(t, time.Now().Add(time.Hour))
	other, err := sigtest.NewTUFRepo([]byte(`{}`), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(repo)
	defer srv.Close()
	_, err = verify.FetchTUF(context.Background(), verify.TUFAnchor{Root: other.Anchor, Name: "another anchor"}, srv.URL)
	if err == nil || !strings.Contains(err.Error(), "anchored at another anchor") || !strings.Contains(err.Error(), "--trusted-root FILE") {
		t.Errorf("FetchTUF with another anchor: %v, want a refusal naming the anchor and --trusted-root", err)
	}
}

func TestCheckTUF(t *testing.T) {
	exported := time.Now().UTC()
	_, anchor, md := tufFixture(t, exported.Add(time.Hour))
	other, err := sigtest.NewTUFRepo([]byte(`{}`), exported.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(md *verify.TUFMetadata)) verify.TUFMetadata {
		c := verify.TUFMetadata{Files: maps.Clone(md.Files), TrustedRoot: bytes.Clone(md.TrustedRoot)}
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name   string
		anchor verify.TUFAnchor
		md     verify.TUFMetadata
		at     time.Time
		file   string // "" when the chain holds
		want   string
	}{
		{name: "holds", anchor: anchor, md: *md, at: exported},
		// Checked at the export's time: the metadata expired since.
		{name: "expired after the export", anchor: anchor, md: *md, at: exported.Add(-time.Minute)},
		{name: "expired at the export", anchor: anchor, md: *md, at: exported.Add(2 * time.Hour), file: verify.TUFTimestamp, want: "timestamp.json had expired by "},
		{name: "another anchor", anchor: verify.TUFAnchor{Root: other.Anchor, Name: "x"}, md: *md, at: exported, file: "2.root.json"},
		// Roots up to the anchor's version are not needed.
		{name: "anchor at a later root", anchor: verify.TUFAnchor{Root: md.Files["2.root.json"], Name: "v2"}, md: *md, at: exported},
		{name: "a root version missing", anchor: anchor, at: exported, file: "2.root.json", want: "is missing: the roots go from version 1 to 3",
			md: edit(func(m *verify.TUFMetadata) { delete(m.Files, "2.root.json") })},
		// Version 1 names other timestamp keys than the final root.
		{name: "no root after the anchor", anchor: anchor, at: exported, file: verify.TUFTimestamp, want: "is not signed by the keys the root names",
			md: edit(func(m *verify.TUFMetadata) { delete(m.Files, "2.root.json"); delete(m.Files, "3.root.json") })},
		{name: "a root not signed by the one before", anchor: anchor, at: exported, file: "3.root.json", want: "is not signed by the keys the root names",
			md: edit(func(m *verify.TUFMetadata) { m.Files["3.root.json"] = other.Files["3.root.json"] })},
		{name: "no timestamp", anchor: anchor, at: exported, file: verify.TUFTimestamp, want: "is missing",
			md: edit(func(m *verify.TUFMetadata) { delete(m.Files, verify.TUFTimestamp) })},
		{name: "snapshot changed", anchor: anchor, at: exported, file: verify.TUFSnapshot,
			md: edit(func(m *verify.TUFMetadata) {
				m.Files[verify.TUFSnapshot] = bytes.Replace(m.Files[verify.TUFSnapshot], []byte(`"version": 1`), []byte(`"version": 2`), 1)
			})},
		{name: "targets signed by no one", anchor: anchor, at: exported, file: verify.TUFTargets,
			md: edit(func(m *verify.TUFMetadata) { m.Files[verify.TUFTargets] = other.Files["1.targets.json"] })},
		{name: "trusted root changed", anchor: anchor, at: exported, file: verify.TUFTarget, want: "does not match the length and hashes targets.json lists",
			md: edit(func(m *verify.TUFMetadata) { m.TrustedRoot[3] ^= 0x20 })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verify.CheckTUF(tc.anchor, tc.md, tc.at)
			if tc.file == "" {
				if err != nil {
					t.Fatalf("CheckTUF = %v, want the chain to hold", err)
				}
				return
			}
			var te *verify.TUFError
			if !errors.As(err, &te) || te.File != tc.file || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckTUF = %v, want a failure at %s saying %q", err, tc.file, tc.want)
			}
		})
	}
}
