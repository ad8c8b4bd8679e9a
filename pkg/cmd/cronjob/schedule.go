package cronjob

import (
	"fmt"
	"strings"
	"time"

	// Time zones are checked against the zone database built into the
	// binary, so the check does not depend on the host having one.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
)

// checkSchedule parses s as the Kubernetes CronJob controller does (five
// fields, or a macro such as @hourly), so a schedule the API server would
// refuse, such as "61 * * * *", is refused here.
func checkSchedule(s string) error {
	if strings.Contains(s, "TZ=") {
		return fmt.Errorf("--schedule %q: give the time zone with --time-zone, not in the schedule", s)
	}
	if _, err := cron.ParseStandard(s); err != nil {
		// The parser repeats the fields it split as "[a b c]"; the
		// schedule is quoted already.
		reason, _, _ := strings.Cut(strings.TrimSpace(err.Error()), ": [")
		return fmt.Errorf("--schedule %q: %s: want five cron fields (minute hour day-of-month month day-of-week), such as %q, or a macro such as @hourly",
			s, reason, DefaultSchedule)
	}
	return nil
}

// checkTimeZone refuses a zone the cluster would not know.
func checkTimeZone(tz string) error {
	if tz == "" || tz == "Local" {
		return fmt.Errorf("--time-zone %q: give an IANA time zone name such as %q or %q", tz, DefaultTimeZone, "Europe/Berlin")
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return fmt.Errorf("--time-zone %q: not a time zone in the IANA database; use a name such as %q or %q", tz, DefaultTimeZone, "Europe/Berlin")
	}
	return nil
}

// checkDeadline refuses a run time limit Kubernetes cannot express.
func checkDeadline(d time.Duration) error {
	if d < time.Second || d%time.Second != 0 {
		return fmt.Errorf("--active-deadline %s: must be a whole number of seconds, at least 1s, such as %s", d, DefaultActiveDeadline)
	}
	return nil
}
