package core

import "github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"

// Every command reaches the domain through this package, so this is where
// the domain's errors learn to name settings as this tool's flags.
func init() { setting.SetSpelling(setting.Flags) }
