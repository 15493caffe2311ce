//go:build linux

package procgroup

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets this test binary be a process that starts a child of its
// own and waits (`parent`), or that only waits (`wait`).
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == "wait" {
		time.Sleep(time.Hour) // not select{}: the runtime would call that a deadlock and exit
	}
	if len(os.Args) == 2 && os.Args[1] == "parent" {
		child := exec.Command(os.Args[0], "wait")
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		fmt.Println(child.Process.Pid)
		time.Sleep(time.Hour) // not select{}: the runtime would call that a deadlock and exit
	}
	os.Exit(m.Run())
}

// TestStartWaitGone: a process started by Start leads a group of its own,
// to which its children belong; WaitGone kills the whole group and returns
// once none of it is left, and Start's channel closes once it is reaped.
func TestStartWaitGone(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "parent")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	exited, err := Start(cmd, nil)
	if err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() { Kill(pid) })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("parent said %q", line)
	}
	if got := Members(pid); !slices.Contains(got, pid) || !slices.Contains(got, child) {
		t.Fatalf("group %d holds %v; want the parent and its child %d", pid, got, child)
	}
	if left := WaitGone(pid, 5*time.Second); len(left) > 0 {
		t.Fatalf("WaitGone left %v", left)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("Start's channel not closed after the process died")
	}
	if got := Members(pid); len(got) > 0 { // zombies excluded: they hold nothing
		t.Errorf("group %d still holds %v", pid, got)
	}
	if _, err := Start(exec.Command("/no/such/program"), nil); err == nil {
		t.Error("Start of a missing program worked")
	}
}
