//go:build linux

package env

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/mockstore"
)

// TestMain lets this test binary stand in for a service run as a process
// (`test-service ADDR LOCKFILE [exit]`) and for a harness that starts one
// (`test-harness DIR`); it runs the tests otherwise. The modes are told
// apart by their first argument, never a test flag.
func TestMain(m *testing.M) {
	if len(os.Args) >= 4 && os.Args[1] == "test-service" {
		os.Exit(testService(os.Args[2], os.Args[3], len(os.Args) > 4 && os.Args[4] == "exit"))
	}
	if len(os.Args) == 3 && os.Args[1] == "test-harness" {
		os.Exit(testHarness(os.Args[2]))
	}
	os.Exit(m.Run())
}

// testService is a tiny HTTP service: it holds an exclusive lock on
// lockFile for as long as it lives (the kernel releases it when the process
// dies, so the lock tells whether the process is gone), answers GET
// /healthz on addr, and stops on SIGTERM; with exit it exits 3 by itself
// soon after it serves.
func testService(addr, lockFile string, exit bool) int {
	f, err := os.OpenFile(lockFile, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintln(os.Stderr, "lock:", err)
		return 2
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /who", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, os.Getpid()) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println("test-service: serving on", ln.Addr())
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	var after <-chan time.Time
	if exit {
		after = time.After(300 * time.Millisecond)
	}
	select {
	case <-term:
		_ = srv.Close()
		return 0
	case <-after:
		fmt.Fprintln(os.Stderr, "test-service: dying on purpose")
		return 3
	}
}

// testHarness starts a test service under a Process, tells its pid and
// address on stdout as JSON, and waits to be killed.
func testHarness(dir string) int {
	addr, err := FreeAddr()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	p, err := StartProcess(context.Background(), testConfig(dir, addr, false))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"pid": p.PID(), "addr": p.Addr()})
	time.Sleep(time.Hour) // until killed; not select{}, which the runtime may call a deadlock
	return 0
}

// testConfig runs this test binary as a test service on addr, its lock
// file and log in dir.
func testConfig(dir, addr string, exit bool) ProcessConfig {
	exe, _ := os.Executable()
	args := []string{"test-service", addr, filepath.Join(dir, "service.lock")}
	if exit {
		args = append(args, "exit")
	}
	return ProcessConfig{
		Service: "svc", Command: Command{Path: exe, Args: args}, Addr: addr,
		Health: Health{HTTP: "/healthz"}, LogPath: filepath.Join(dir, "svc.log"),
		StartTimeout: 20 * time.Second, StopGrace: 5 * time.Second,
	}
}

// startTestService starts a test service in a fresh directory; it is closed
// at the end of the test.
func startTestService(tb testing.TB, exit bool, logger *slog.Logger) (*Process, string) {
	tb.Helper()
	dir := tb.TempDir()
	addr, err := FreeAddr()
	if err != nil {
		tb.Fatal(err)
	}
	cfg := testConfig(dir, addr, exit)
	cfg.Logger = logger
	p, err := StartProcess(ctxFor(tb), cfg)
	if p != nil {
		tb.Cleanup(func() { _ = p.Close() })
	}
	if err != nil {
		tb.Fatalf("StartProcess: %v", err)
	}
	return p, dir
}

// assertProcessGone checks that pid and its process group are gone, that
// nothing listens on addr and that the lock file in dir is free.
func assertProcessGone(tb testing.TB, pid int, addr, dir string) {
	tb.Helper()
	waitFor(tb, 5*time.Second, fmt.Sprintf("process %d gone", pid), func() bool {
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	})
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		tb.Errorf("group %d: kill 0 = %v, want ESRCH (group gone)", pid, err)
	}
	assertFree(tb, addr, dir)
}

// assertFree checks that nothing listens on addr and that the lock file in
// dir (if any) is not held.
func assertFree(tb testing.TB, addr, dir string) {
	tb.Helper()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		tb.Errorf("something still listens on %s", addr)
	}
	f, err := os.OpenFile(filepath.Join(dir, "service.lock"), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return // never started
	}
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		tb.Errorf("the service's lock file is still held: %v", err)
	}
}

// pidOf asks the service which process answers on addr.
func pidOf(tb testing.TB, addr string) string {
	tb.Helper()
	resp, err := healthClient.Get("http://" + addr + "/who")
	if err != nil {
		tb.Fatalf("GET /who: %v", err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return strings.TrimSpace(b.String())
}

// TestProcessCrash carries out each crash action on a process service: a
// kill and a restart bring a new process back on the same address; a stop
// leaves it down (no health, no process) until a start; Close leaves
// nothing behind.
func TestProcessCrash(t *testing.T) {
	p, dir := startTestService(t, false, nil)
	ctx := ctxFor(t)
	addr := p.Addr()
	for _, action := range []string{CrashKill, CrashRestart} {
		before := p.PID()
		if got := pidOf(t, addr); got != fmt.Sprint(before) {
			t.Fatalf("pid %s answers on %s; want %d", got, addr, before)
		}
		if err := p.Crash(ctx, action); err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		after := p.PID()
		if after == before {
			t.Errorf("%s: the same process %d runs after it", action, before)
		}
		if err := syscall.Kill(before, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s: the old process %d is still there: %v", action, before, err)
		}
		if got := pidOf(t, addr); got != fmt.Sprint(after) {
			t.Errorf("%s: pid %s answers on %s; want the new process %d", action, got, addr, after)
		}
	}

	stopped := p.PID()
	if err := p.Crash(ctx, CrashStop); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := p.Healthy(ctx); err == nil {
		t.Error("healthy after a stop")
	}
	if p.Running() {
		t.Error("running after a stop")
	}
	assertProcessGone(t, stopped, addr, dir)
	if err := p.Crash(ctx, CrashStart); err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := p.Healthy(ctx); err != nil {
		t.Errorf("not healthy after a start: %v", err)
	}
	if p.Addr() != addr {
		t.Errorf("address %s after a start; want %s", p.Addr(), addr)
	}
	if err := p.Crash(ctx, "explode"); err == nil || !strings.Contains(err.Error(), "allowed values") {
		t.Errorf("unknown action: %v", err)
	}

	last := p.PID()
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertProcessGone(t, last, addr, dir)
	if err := p.Crash(ctx, CrashStart); err == nil {
		t.Error("a start after Close worked")
	}
	log, err := os.ReadFile(filepath.Join(dir, "svc.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "test-service: serving on "+addr); n != 4 {
		t.Errorf("the log holds %d starts on %s; want 4:\n%s", n, addr, log)
	}
}

// TestProcessExitsByItself: a process that dies unasked is reported with
// the tail of its log, its health fails, and it stays down.
func TestProcessExitsByItself(t *testing.T) {
	var logs syncLog
	p, dir := startTestService(t, true, slog.New(slog.NewTextHandler(&logs, nil)))
	pid, addr := p.PID(), p.Addr()
	waitFor(t, 10*time.Second, "the service to exit by itself", func() bool { return !p.Running() })
	waitFor(t, 5*time.Second, "the exit to be logged", func() bool {
		return strings.Contains(logs.String(), "exited by itself")
	})
	if got := logs.String(); !strings.Contains(got, "dying on purpose") || !strings.Contains(got, "service=svc") {
		t.Errorf("the report lacks the service or its log's tail:\n%s", got)
	}
	if err := p.Healthy(ctxFor(t)); err == nil {
		t.Error("healthy after it exited")
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	assertProcessGone(t, pid, addr, dir)
}

// TestProcessStartFails: a program that exits before its health check
// passes, or never passes it in time, is an error that quotes its log, and
// nothing is left running.
func TestProcessStartFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*ProcessConfig)
		want string
	}{
		{"exits first", func(c *ProcessConfig) { c.Command.Args = []string{"test-service", "not-an-address", c.Command.Args[2]} },
			"exited (exit status 2) before answering"},
		{"never healthy", func(c *ProcessConfig) {
			c.Health = Health{HTTP: "/missing"}
			c.StartTimeout = 500 * time.Millisecond
		}, "GET /missing: status 404"},
		{"no program", func(c *ProcessConfig) { c.Command.Path = "/no/such/program" },
			"no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			addr, err := FreeAddr()
			if err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(dir, addr, false)
			tc.edit(&cfg)
			p, err := StartProcess(ctxFor(t), cfg)
			if err == nil {
				p.Close()
				t.Fatal("StartProcess worked")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "start svc") {
				t.Errorf("error %q; want it to name the service and say %q", err, tc.want)
			}
			assertFree(t, addr, dir) // no pid to ask: the lock tells

		})
	}
}

// TestProcessHarnessKilled: when the harness is SIGKILLed, the kernel kills
// the service it started (Pdeathsig): no process, port or lock is left.
func TestProcessHarnessKilled(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	harness := exec.Command(exe, "test-harness", dir)
	out, err := harness.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	harness.Stderr = &stderr
	if err := harness.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = harness.Process.Kill(); _ = harness.Wait() })
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err != nil {
		t.Fatalf("read the harness's report: %v; stderr:\n%s", err, stderr.String())
	}
	var got struct {
		PID  int    `json:"pid"`
		Addr string `json:"addr"`
	}
	if err := json.Unmarshal(line, &got); err != nil || got.PID <= 0 {
		t.Fatalf("harness said %q: %v", line, err)
	}
	if who := pidOf(t, got.Addr); who != fmt.Sprint(got.PID) {
		t.Fatalf("pid %s answers on %s before the kill; want %d", who, got.Addr, got.PID)
	}
	if err := harness.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = harness.Wait()
	assertProcessGone(t, got.PID, got.Addr, dir)
}

// TestInprocProcesses replaces a storefront service with a process of the
// caller's (Options.Processes): the link's proxy reaches it, crash faults
// reach it through Inproc.Crash while the in-process services cannot
// crash, and Close leaves nothing behind.
func TestInprocProcesses(t *testing.T) {
	lockDir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var told Wiring
	e := startEnv(t, Options{Processes: map[string]ProcessSpec{
		mockstore.ServiceFood: {
			Health: Health{HTTP: "/healthz"},
			Command: func(w Wiring) (Command, error) {
				told = w
				return Command{Path: exe, Args: []string{"test-service", w.Addr, filepath.Join(lockDir, "service.lock")}}, nil
			},
		},
	}})
	ctx := ctxFor(t)
	if told.Addr == "" || told.Dir != e.Info().Dir || len(told.Links) != 0 {
		t.Errorf("food was told %+v", told)
	}
	proxies, err := fault.NewClient(e.Info().Toxiproxy).Proxies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	viaProxy := ""
	for _, p := range proxies {
		if p.Name == proxyOf(t, e, "gateway->food") {
			viaProxy = "http://" + p.Listen
			if p.Upstream != told.Addr {
				t.Errorf("gateway->food leads to %s; want %s, the replacement", p.Upstream, told.Addr)
			}
		}
	}
	get := func() error {
		resp, err := healthClient.Get(viaProxy + "/who")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := get(); err != nil {
		t.Fatalf("the replacement is not reached through gateway->food: %v", err)
	}
	if _, ok := e.Info().Audit[mockstore.ServiceFood]; ok {
		t.Error("Info names an audit for a replacement that serves none")
	}
	if err := e.Crash(ctx, mockstore.ServiceFood, CrashStop); err != nil {
		t.Fatalf("stop food: %v", err)
	}
	if err := get(); err == nil {
		t.Error("food answers through its proxy while stopped")
	}
	if err := e.Crash(ctx, mockstore.ServiceFood, CrashStart); err != nil {
		t.Fatalf("start food: %v", err)
	}
	if err := get(); err != nil {
		t.Errorf("food does not answer through its proxy after a start: %v", err)
	}
	if err := e.Crash(ctx, mockstore.ServiceWallet, CrashKill); err == nil || !strings.Contains(err.Error(), "inside the harness") {
		t.Errorf("kill an in-process wallet: %v", err)
	}
	pid := e.procs[mockstore.ServiceFood].PID()
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertProcessGone(t, pid, told.Addr, lockDir)
}

// syncLog is a log sink safe for the supervisor's goroutines.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestInprocCrashable runs the wallet as `gameday serve wallet`
// (Options.Crashable): a kill takes it down for a moment and brings it
// back on the same address and store (the shopper's balance is the same
// through the gateway), its audit is where Info says, and the services that
// run inside the harness cannot crash.
func TestInprocCrashable(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a gameday binary, built once")
	}
	bin, err := dockerBinary(ctxFor(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := startEnv(t, Options{Crashable: []string{mockstore.ServiceWallet}, Serve: []string{bin.path, "serve"}})
	ctx := ctxFor(t)
	s := loggedIn(t, e, 0)
	// A top-up the store holds: a wallet started on a fresh store would
	// show the seeded balance.
	if _, err := s.Topup(ctx, 1234, "before-the-kill"); err != nil {
		t.Fatalf("top up: %v", err)
	}
	before, err := s.Wallet(ctx)
	if err != nil {
		t.Fatalf("wallet before the kill: %v", err)
	}
	p := e.procs[mockstore.ServiceWallet]
	pid, addr := p.PID(), p.Addr()
	if err := e.Crash(ctx, mockstore.ServiceWallet, CrashKill); err != nil {
		t.Fatalf("kill the wallet: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the killed wallet %d is still there: %v", pid, err)
	}
	if p.PID() == pid || p.Addr() != addr {
		t.Errorf("after the kill: pid %d on %s; want a new process on %s", p.PID(), p.Addr(), addr)
	}
	after, err := s.Wallet(ctx)
	if err != nil {
		t.Fatalf("wallet after the kill: %v", err)
	}
	if after.Balance != before.Balance {
		t.Errorf("balance %d after the kill; want %d, from the same store", after.Balance, before.Balance)
	}
	resp, err := healthClient.Get(e.Info().Audit[mockstore.ServiceWallet] + "/healthz")
	if err != nil {
		t.Fatalf("the wallet's audit address: %v", err)
	}
	resp.Body.Close()
	if _, err := os.Stat(filepath.Join(e.Info().Dir, "wallet.db")); err != nil {
		t.Errorf("the wallet's store is not in the run directory: %v", err)
	}
	if err := e.Crash(ctx, mockstore.ServiceCheckout, CrashKill); err == nil {
		t.Error("an in-process checkout was killed")
	}
}
