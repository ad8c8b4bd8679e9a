package synccmd

import (
	"strings"
	"testing"
	"time"
)

// TestDescribeBundle: an import names the bundle it reads and when it was
// written, and warns when its latest-releases snapshot is over a week old.
func TestDescribeBundle(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	fresh, stale := now.Add(-3*24*time.Hour), now.Add(-21*24*time.Hour)
	b := BundleInfo{Dir: "/media/usb/bundle", ID: "b-2", Parent: "b-1", Created: now.Add(-3 * 24 * time.Hour), ToolVersion: "v1.4.0", ReleasesFetchedAt: &fresh}

	line, warning := b.describe(now)
	want := `bundle /media/usb/bundle: b-2, written 2026-11-30T12:00:00Z, 3d ago by sdr-mirror v1.4.0, incremental after bundle b-1`
	if line != want || warning != "" {
		t.Errorf("fresh snapshot: %q, warning %q; want %q and no warning", line, warning, want)
	}
	b.ReleasesFetchedAt = nil
	if _, warning = b.describe(now); warning != "" {
		t.Errorf("no snapshot: warning %q, want none", warning)
	}
	b.ReleasesFetchedAt = &stale
	_, warning = b.describe(now)
	if !strings.Contains(warning, "latest-releases snapshot was read 2026-11-12T12:00:00Z, 21d ago") || !strings.Contains(warning, "export a fresh bundle") {
		t.Errorf("stale snapshot: warning %q, want its age and the remedy", warning)
	}
}
