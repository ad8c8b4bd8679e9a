package setting

import (
	"fmt"
	"testing"
)

func TestSpelling(t *testing.T) {
	t.Cleanup(func() { SetSpelling(nil) })
	msg := func() string { return fmt.Sprintf("pass %s or %s, or %s", Release, Namespace, AllNamespaces) }

	SetSpelling(nil)
	if got, want := msg(), "pass release or namespace, or all-namespaces"; got != want {
		t.Errorf("plain: got %q, want %q", got, want)
	}
	SetSpelling(Flags)
	if got, want := msg(), "pass --release or -n, or -A"; got != want {
		t.Errorf("flags: got %q, want %q", got, want)
	}
	SetSpelling(func(n Name) string { return "`" + string(n) + "`" })
	if got, want := Target.String(), "`target`"; got != want {
		t.Errorf("custom: got %q, want %q", got, want)
	}
}
