package sdr

import "github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"

// Messages in these tests read as the CLI prints them.
func init() { setting.SetSpelling(setting.Flags) }
