//go:build unix && !linux

package procgroup

import "syscall"

// sysProcAttr puts the child in a process group of its own. Only Linux can
// have the kernel kill the child when the harness dies; elsewhere a crash of
// the harness may leave the child running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// Members returns the process group pgid itself when any process of it
// is alive (members cannot be listed portably; zombies count as alive).
func Members(pgid int) []int {
	if syscall.Kill(-pgid, 0) == nil {
		return []int{pgid}
	}
	return nil
}
