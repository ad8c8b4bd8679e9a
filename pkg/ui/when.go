package ui

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
)

// When is a moment and how long before now it was: "2026-12-01T08:00:00Z,
// 2d2h ago".
func When(t, now time.Time) string {
	return fmt.Sprintf("%s, %s ago", t.UTC().Format(time.RFC3339), duration.HumanDuration(now.Sub(t)))
}
