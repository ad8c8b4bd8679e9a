//go:build linux || darwin || freebsd

package bundle

import "golang.org/x/sys/unix"

// freeSpace is the space available to this user on the file system
// holding dir; ok is false where it cannot be known.
func freeSpace(dir string) (free uint64, ok bool, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true, nil //nolint:gosec,unconvert // field types differ by OS
}
