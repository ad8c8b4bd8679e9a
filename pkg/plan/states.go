package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// State is where a needed image stands.
type State string

// The states of docs/plan.md, plus unchecked for --offline plans and
// skipped for images found but left out.
const (
	OK         State = "ok"         // resolved image exists in the target with the source's digest
	Unmapped   State = "unmapped"   // no map entry: the SDR would pull the blocked source
	Missing    State = "missing"    // mapped (or prefixed), but the destination does not exist
	Drift      State = "drift"      // destination exists with another digest
	Unverified State = "unverified" // the source's signature check failed
	Error      State = "error"      // a registry or auth error
	Unchecked  State = "unchecked"  // mapped; registries not consulted (offline)
	Skipped    State = "skipped"    // found, but not mirrored; the reason says why
)

// Work says whether sync has something to do for a state.
type Work int

// The kinds of work.
const (
	NoWork            Work = iota // nothing is verified, copied or mapped
	AlwaysWork                    // verified, copied when absent, mapped when unmapped
	WorkWithOverwrite             // like AlwaysWork, but only with --overwrite
)

// Severity is how a state is shown: green, yellow, red or faint.
type Severity int

// The severities.
const (
	SeverityOK Severity = iota
	SeverityWarn
	SeverityBad
	// SeverityNote is for rows shown for the record, not as a problem.
	SeverityNote
)

// Exit is a state's effect on the exit code.
type Exit int

// The effects on the exit code.
const (
	// InSync leaves the exit code at 0.
	InSync Exit = iota
	// WorkToDo makes diff --detailed-exitcode exit 2 and sync fail.
	WorkToDo
	// Failed makes diff and sync fail.
	Failed
)

// StateRule is everything the commands decide from a state.
type StateRule struct {
	State State
	// Meaning is the line diff's help shows for the state; a %s in it
	// reads as Setting (see Describe).
	Meaning  string
	Setting  setting.Name
	Work     Work
	Severity Severity
	Exit     Exit
	// rank orders states for display, worst first.
	rank int
}

// StateRules is the table of states, in the order diff's help lists them.
var StateRules = []StateRule{
	{State: OK, Meaning: "the resolved image is in the target registry with the source's digest",
		Work: NoWork, Severity: SeverityOK, Exit: InSync, rank: 6},
	{State: Unmapped, Meaning: "no map entry: the SDR would pull the blocked public image (sync copies and maps it)",
		Work: AlwaysWork, Severity: SeverityWarn, Exit: WorkToDo, rank: 4},
	{State: Missing, Meaning: "mapped, but the destination does not exist (sync copies it)",
		Work: AlwaysWork, Severity: SeverityWarn, Exit: WorkToDo, rank: 3},
	{State: Drift, Meaning: "the destination holds another digest (sync copies only with %s)", Setting: setting.Overwrite,
		Work: WorkWithOverwrite, Severity: SeverityBad, Exit: WorkToDo, rank: 2},
	{State: Unverified, Meaning: "the source's signature check failed (never copied or mapped)",
		Work: NoWork, Severity: SeverityBad, Exit: WorkToDo, rank: 1},
	{State: Error, Meaning: "a registry or auth error, with its cause",
		Work: NoWork, Severity: SeverityBad, Exit: Failed, rank: 0},
	{State: Unchecked, Meaning: "mapped; registries not consulted (%s)", Setting: setting.Offline,
		Work: NoWork, Severity: SeverityWarn, Exit: InSync, rank: 5},
	{State: Skipped, Meaning: "found but not mirrored: outside %s, not a valid reference, or listed twice (the detail says which)",
		Setting: setting.AllowedSource, Work: NoWork, Severity: SeverityNote, Exit: InSync, rank: 7},
}

// States lists every state in display order, worst first.
var States = func() []State {
	rules := slices.Clone(StateRules)
	slices.SortFunc(rules, func(a, b StateRule) int { return a.rank - b.rank })
	out := make([]State, len(rules))
	for i, r := range rules {
		out[i] = r.State
	}
	return out
}()

// Rule returns the state's row of StateRules; an unknown state has no
// work, plain severity and fails.
func (s State) Rule() StateRule {
	for _, r := range StateRules {
		if r.State == s {
			return r
		}
	}
	return StateRule{State: s, Severity: -1, Exit: Failed, rank: len(StateRules)}
}

// Describe is the rule's meaning with its setting spelled in.
func (r StateRule) Describe() string {
	if r.Setting == "" {
		return r.Meaning
	}
	return fmt.Sprintf(r.Meaning, r.Setting)
}

// NeedsWork reports whether sync verifies, copies or maps an image in this
// state.
func (s State) NeedsWork(overwrite bool) bool {
	switch s.Rule().Work {
	case AlwaysWork:
		return true
	case WorkWithOverwrite:
		return overwrite
	}
	return false
}

// StatesHelp is the list of states for help text: one indented line each,
// names padded to one column.
func StatesHelp() string {
	width := 0
	for _, r := range StateRules {
		width = max(width, len(r.State))
	}
	var b strings.Builder
	for i, r := range StateRules {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "  %-*s  %s", width, r.State, r.Describe())
	}
	return b.String()
}
