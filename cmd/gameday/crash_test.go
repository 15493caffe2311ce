//go:build linux

package main

import (
	"bufio"
	"bytes"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashShort kills the wallet in the middle of a short load; its checks
// pass on a resilient storefront, and failing adds one that cannot pass.
const crashShort = `name: crash-short
description: The wallet is killed for a moment.
load: {shoppers: 30, rate: 5/s, duration: 6s}
faults:
  - {service: wallet, action: kill, at: 2s}
checks:
  - invariant: money_conserved
  - invariant: no_double_charge
`

// TestRunCrashInprocLeavesNothing runs a scenario that kills the wallet
// in-process (the wallet a `gameday serve` child of the harness) as a
// process of its own, and ends it every way a run ends: it passes, it
// fails, it is interrupted (SIGINT), the harness is killed (SIGKILL). Each
// time, no process started for the run is left (none whose command line
// names the run's directory), and nothing listens on the wallet's address.
func TestRunCrashInprocLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the load")
	}
	failing := crashShort + "  - metric: http_req_duration\n    window: baseline\n    p95: \"<= 1us\"\n"
	for _, tc := range []struct {
		name     string
		body     string
		signal   syscall.Signal // 0: the run ends by itself
		wantCode int            // -1: killed
	}{
		{"pass", crashShort, 0, exitOK},
		{"fail", failing, 0, exitFail},
		{"sigint", crashShort, syscall.SIGINT, exitInterrupted},
		{"harness killed", crashShort, syscall.SIGKILL, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // the runs wait on their timelines more than they compute
			out := t.TempDir()
			cmd := gamedayCmd(t, nil, "run", "--out", out, writeScenario(t, tc.body))
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			var got strings.Builder
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				got.WriteString(sc.Text() + "\n")
				// Interrupt once the wallet has been killed and is back: the
				// run is in its recovery and the wallet's log shows its
				// second start (it stays down a while after the kill, as a
				// container does, so the phase alone does not say it is up).
				if tc.signal != 0 && strings.Contains(sc.Text(), "recovery") {
					awaitWalletStarts(t, out, 2)
					if err := cmd.Process.Signal(tc.signal); err != nil {
						t.Fatal(err)
					}
					break
				}
			}
			go func() {
				for sc.Scan() {
				}
			}()
			_ = cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			if code != tc.wantCode {
				t.Errorf("exit code %d; want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, got.String(), stderr.String())
			}
			walletAddr := walletAddress(t, out)
			waitGone(t, out)
			if c, err := net.DialTimeout("tcp", walletAddr, time.Second); err == nil {
				c.Close()
				t.Errorf("something still listens on the wallet's address %s", walletAddr)
			}
		})
	}
}

// walletAddress reads where the wallet's serve child listened from its log
// in the run directory under out; it fails tb when the wallet did not
// start as a process, or did not start again after its kill.
func walletAddress(tb testing.TB, out string) string {
	tb.Helper()
	var logs []string
	_ = filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "wallet.log" {
			logs = append(logs, path)
		}
		return nil
	})
	if len(logs) != 1 {
		tb.Fatalf("wallet logs under %s: %v; want one", out, logs)
	}
	b, err := os.ReadFile(logs[0])
	if err != nil {
		tb.Fatal(err)
	}
	m := regexp.MustCompile(`wallet on http://(\S+),`).FindAllStringSubmatch(string(b), -1)
	if len(m) < 2 || m[0][1] != m[len(m)-1][1] {
		tb.Fatalf("the wallet did not start twice on one address:\n%s", b)
	}
	return m[0][1]
}

// awaitWalletStarts waits, against a deadline, until the wallet's log
// under out shows n starts of `gameday serve wallet`.
func awaitWalletStarts(tb testing.TB, out string, n int) {
	tb.Helper()
	starts := regexp.MustCompile(`wallet on http://(\S+),`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got int
		_ = filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.Name() == "wallet.log" {
				if b, err := os.ReadFile(path); err == nil {
					got = len(starts.FindAllString(string(b), -1))
				}
			}
			return nil
		})
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the wallet started %d times in 30 s; want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond) // polling a file for an outcome, against the deadline above
	}
}

// waitGone waits until no process's command line names dir (the serve
// children's stores and the load child's configuration are in it); it
// fails tb with those left after a deadline.
func waitGone(tb testing.TB, dir string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := processesNaming(dir)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Errorf("processes left behind: %v", left)
			return
		}
		time.Sleep(50 * time.Millisecond) // a killed process's teardown has no event to wait on
	}
}

// processesNaming returns "pid: command line" of every live process whose
// command line holds s.
func processesNaming(s string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(s)) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(st, ')'); i > 0 && len(st) > i+2 && (st[i+2] == 'Z' || st[i+2] == 'X') {
				continue // a zombie holds nothing
			}
		}
		out = append(out, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
	}
	return out
}
