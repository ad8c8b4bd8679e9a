package registryflags

import "github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"

// Messages in these tests read as the CLI prints them (pkg/cmd/core
// installs the spelling for every command).
func init() { setting.SetSpelling(setting.Flags) }
