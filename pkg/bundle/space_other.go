//go:build !(linux || darwin || freebsd)

package bundle

// freeSpace cannot tell the free space on this system: the write goes
// ahead and fails when the disk is full.
func freeSpace(string) (free uint64, ok bool, err error) { return 0, false, nil }
