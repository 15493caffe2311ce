// Package procgroup runs child processes that cannot outlive the harness:
// each in a process group of its own, killed as a group, and (on Linux)
// killed by the kernel when the harness dies, however it dies.
package procgroup

import (
	"fmt"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// Start starts cmd in a process group of its own (its pid is the group's
// id) that the kernel kills with SIGKILL if the harness dies (Linux), and
// reaps it in the background: the returned channel is closed once cmd.Wait
// has returned, so cmd.ProcessState is set. Wait is called only once
// beforeWait is closed (nil: at once), for a caller that must read a pipe to
// its end first. cmd.SysProcAttr is replaced.
//
// The goroutine that starts cmd stays locked to its OS thread until the
// child is reaped, because Pdeathsig fires when the starting thread ends,
// not the process.
func Start(cmd *exec.Cmd, beforeWait <-chan struct{}) (<-chan struct{}, error) {
	cmd.SysProcAttr = sysProcAttr()
	exited := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		if beforeWait != nil {
			<-beforeWait
		}
		_ = cmd.Wait() // the outcome is read from cmd.ProcessState
		close(exited)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	return exited, nil
}

// Kill kills every process of the group pgid. A group that is already gone
// is not an error.
func Kill(pgid int) {
	if pgid > 0 {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}

// Signal sends sig to the group's leader only (not the whole group), so a
// process may shut its own children down as it sees fit.
func Signal(pid int, sig syscall.Signal) {
	if pid > 0 {
		_ = syscall.Kill(pid, sig)
	}
}

// WaitGone kills the group pgid and waits up to d for its processes to be
// gone (the kernel tears a killed process down after kill returns); it
// returns those still alive.
func WaitGone(pgid int, d time.Duration) []int {
	deadline := time.Now().Add(d)
	for {
		Kill(pgid)
		left := Members(pgid)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(10 * time.Millisecond) // teardown has no event to wait on
	}
}
