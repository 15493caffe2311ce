package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
)

// loadTarget serves status on loopback until the test ends and returns its
// URL.
func loadTarget(tb testing.TB, status int) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// pingJourneys writes a journey file of one GET / checked for a 2xx.
func pingJourneys(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "ping.yaml")
	src := "journeys:\n  - name: ping\n    steps:\n      - name: root\n        method: GET\n        url: /\n        checks:\n          - status < 300\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestLoadBadUsage(t *testing.T) {
	target := loadTarget(t, http.StatusOK)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no target", []string{"--journeys", pingJourneys(t)}, "target"},
		{"bad rate", []string{"--target", target, "--rate", "fast"}, `--rate: "fast": want iterations per unit of time`},
		{"bad rate unit", []string{"--target", target, "--rate", "5/d"}, "the unit is s, m or h"},
		{"bad stages", []string{"--target", target, "--stages", "30s"}, "want DURATION:RATE"},
		{"share above one", []string{"--target", target, "--max-failed", "2"}, "want a share from 0 to 1"},
		{"config and flags", []string{"--config", "x.json", "--target", target}, "--config takes no other flag"},
		{"storefront without inbox", []string{"--target", target}, "OTP inbox"},
		{"missing journey file", []string{"--target", target, "--journeys", "nope.yaml"}, "nope.yaml"},
		{"argument after flags", []string{"--target", target, "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, context.Background(), append([]string{"load"}, tt.args...)...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

// TestLoadByHand drives a target of our own with a journey file: exit 0
// and a summary that counts every iteration; --max-failed against a
// failing target exits 1.
func TestLoadByHand(t *testing.T) {
	journeys := pingJourneys(t)
	code, stdout, stderr := runCmd(t, context.Background(), "load", "--target", loadTarget(t, http.StatusOK),
		"--journeys", journeys, "--rate", "20/s", "--duration", "1s", "--max-failed", "0")
	if code != exitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"iterations  20 started of 20 planned, 20 completed, 0 dropped", "0.00% failed", "checks      20 of 20 held"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary does not say %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "req/s") {
		t.Errorf("no live line on stderr:\n%s", stderr)
	}
	code, stdout, stderr = runCmd(t, context.Background(), "load", "-q", "--target", loadTarget(t, http.StatusServiceUnavailable),
		"--journeys", journeys, "--rate", "20/s", "--duration", "1s", "--max-failed", "0.1")
	if code != exitFail || !strings.Contains(stderr, "100.00% of requests failed") {
		t.Errorf("exit code %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitFail, stdout, stderr)
	}
}

// TestLoadInterrupted: Ctrl-C ends a long load at once with exit 130 and
// the summary of what ran.
func TestLoadInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel)
	start := time.Now()
	code, stdout, stderr := runCmd(t, ctx, "load", "-q", "--target", loadTarget(t, http.StatusOK),
		"--journeys", pingJourneys(t), "--rate", "10/s", "--duration", "10m")
	if code != exitInterrupted {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("stopping took %v", took)
	}
	if !strings.Contains(stdout, "started of") {
		t.Errorf("no summary after the stop:\n%s", stdout)
	}
}

// TestLoadStorefront is the README's "Load by hand": the storefront up
// (here in this process, as `gameday up` runs it), and `gameday load` with
// the URLs and phone `gameday up --json` prints.
func TestLoadStorefront(t *testing.T) {
	e, err := env.StartInproc(context.Background(), env.Options{Seed: 1, Shoppers: 10})
	if e != nil {
		t.Cleanup(func() { _ = e.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	info := e.Info()
	code, stdout, stderr := runCmd(t, context.Background(), "load", "-q", "--target", info.Gateway, "--inbox", info.OTPInbox,
		"--phones", info.SamplePhone, "--rate", "2/s", "--duration", "2s", "--env", "GAMEDAY_THINK=0.05")
	if code != exitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "iterations  4 started of 4 planned") || !strings.Contains(stdout, "requests") {
		t.Errorf("summary:\n%s", stdout)
	}
}

// gamedayCmd returns this test binary set up to run as gameday with args
// (see TestMain), with extra environment variables.
func gamedayCmd(tb testing.TB, extra []string, args ...string) *exec.Cmd {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(append(os.Environ(), "GAMEDAY_TEST_MAIN=1"), extra...)
	return cmd
}

// TestLoadSIGINT: `gameday load` as a process of its own, interrupted as a
// user's Ctrl-C does: it stops at once, exits 130, prints what ran.
func TestLoadSIGINT(t *testing.T) {
	cmd := gamedayCmd(t, nil, "load", "--target", loadTarget(t, http.StatusOK),
		"--journeys", pingJourneys(t), "--rate", "10/s", "--duration", "10m")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.Contains(sc.Text(), "req/s") { // the first live line: the load runs
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go func() {
		for sc.Scan() {
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("gameday load did not stop within 20 s of SIGINT")
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit code %d, want %d", code, exitInterrupted)
	}
	if !strings.Contains(out.String(), "started of") {
		t.Errorf("no summary after SIGINT:\n%s", out.String())
	}
}
