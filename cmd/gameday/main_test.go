package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets the tests run this test binary as gameday itself: a child
// started with GAMEDAY_TEST_MAIN=1 runs main with its arguments, so the
// signal handling and exit codes of the real process are under test.
//
// The harness's load children (`gameday load --config FILE`, this binary
// re-executed) and the services it runs as child processes in-process
// (`gameday serve <service> ...`, for crash faults) are told apart by their
// arguments, never a test flag, so the tests that run them need no
// environment variable and may run side by side.
func TestMain(m *testing.M) {
	if os.Getenv("GAMEDAY_TEST_MAIN") == "1" || (len(os.Args) == 4 && os.Args[1] == "load" && os.Args[2] == "--config") ||
		(len(os.Args) > 2 && os.Args[1] == "serve" && !strings.HasPrefix(os.Args[2], "-")) {
		main()
		return
	}
	os.Exit(m.Run())
}

// syncBuffer is an io.Writer that a command may write to from any goroutine
// while a test reads what it wrote so far.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // closed and replaced at every write
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{written: make(chan struct{})} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	close(b.written)
	b.written = make(chan struct{})
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor returns what was written once it contains want; it fails tb when
// that does not happen before the deadline or done is closed first.
func (b *syncBuffer) waitFor(tb testing.TB, want string, timeout time.Duration, done <-chan struct{}) string {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		s, written := b.buf.String(), b.written
		b.mu.Unlock()
		if strings.Contains(s, want) {
			return s
		}
		select {
		case <-written:
		case <-done:
			tb.Fatalf("the command ended before writing %q; it wrote:\n%s", want, b.String())
		case <-deadline.C:
			tb.Fatalf("no %q within %v; written so far:\n%s", want, timeout, s)
		}
	}
}

// runCmd runs the command line args to completion and returns its exit code
// and output.
func runCmd(tb testing.TB, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	tb.Helper()
	out, errOut := newSyncBuffer(), newSyncBuffer()
	code = run(ctx, args, out, errOut)
	return code, out.String(), errOut.String()
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"-h"}, {"--help"}} {
		t.Run(strings.Join(append([]string{"gameday"}, args...), " "), func(t *testing.T) {
			code, stdout, stderr := runCmd(t, context.Background(), args...)
			if code != exitOK {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitOK, stderr)
			}
			if !strings.HasPrefix(stdout, "usage: gameday <command>") {
				t.Errorf("stdout does not start with the usage line:\n%s", stdout)
			}
			for _, cmd := range []string{"up", "demo", "load", "version"} {
				if !strings.Contains(stdout, "\n  "+cmd+" ") {
					t.Errorf("usage does not list %q:\n%s", cmd, stdout)
				}
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	for _, cmd := range []string{"bogus", "Up", "--json", ""} {
		t.Run(cmd, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, context.Background(), cmd)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout should be empty for bad usage, got:\n%s", stdout)
			}
			if !strings.Contains(stderr, `unknown command "`+cmd+`"`) || !strings.Contains(stderr, "usage: gameday") {
				t.Errorf("stderr should name the command and show the usage:\n%s", stderr)
			}
		})
	}
}

// TestNoK6: gameday has its own load engine; k6 is no command of it, and
// no module of its build.
func TestNoK6(t *testing.T) {
	code, _, stderr := runCmd(t, context.Background(), "k6", "version")
	if code != exitUsage || !strings.Contains(stderr, `unknown command "k6"`) {
		t.Errorf("exit code %d, stderr %q; want %d and unknown command", code, stderr, exitUsage)
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if strings.HasPrefix(d.Path, "go.k6.io/") || strings.HasPrefix(d.Path, "github.com/grafana/") {
				t.Errorf("the build holds %s %s", d.Path, d.Version)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("this test binary carries no build info")
	}
	want := bi.Main.Version
	if want == "" || want == "(devel)" {
		want = "devel"
	}
	code, stdout, stderr := runCmd(t, context.Background(), "version")
	if code != exitOK {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if lines[0] != "gameday "+want {
		t.Errorf("first line %q, want %q", lines[0], "gameday "+want)
	}
	// The versions of the tools linked in are the ones the build recorded.
	deps := map[string]string{"github.com/Shopify/toxiproxy/v2": "toxiproxy"}
	for _, d := range bi.Deps {
		name, ok := deps[d.Path]
		if !ok {
			continue
		}
		delete(deps, d.Path)
		if line := name + " " + d.Version; !strings.Contains(stdout, line+"\n") {
			t.Errorf("version output lacks %q:\n%s", line, stdout)
		}
	}
	for path := range deps {
		t.Errorf("the build info of this binary does not list %s", path)
	}
}

func TestWalk(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole storefront")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code, stdout, stderr := runCmd(t, ctx, "walk", "--shoppers", "5")
	if code != exitOK {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitOK, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "PASS ") {
		t.Errorf("last line %q, want a PASS line; stdout:\n%s", last, stdout)
	}
	for _, step := range []string{"OTP arrived", "logged in as", "order ", "wallet balance now"} {
		if !strings.Contains(stdout, step) {
			t.Errorf("the demo does not narrate %q:\n%s", step, stdout)
		}
	}
}

func TestDemoBadFlag(t *testing.T) {
	if code, _, stderr := runCmd(t, context.Background(), "walk", "--profile", "bogus"); code != exitUsage || !strings.Contains(stderr, "naive") {
		t.Errorf("walk: exit code %d, want %d and the allowed profiles; stderr:\n%s", code, exitUsage, stderr)
	}
	code, stdout, stderr := runCmd(t, context.Background(), "demo", "--profile", "bogus")
	if code != exitUsage {
		t.Errorf("exit code %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr, "resilient") || !strings.Contains(stderr, "naive") {
		t.Errorf("want the allowed profiles on stderr; stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
}

// TestDemo: `gameday demo` is the headline scenario (compressed here): it
// ends with the verdict table, passes on the resilient profile and names its
// report.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the headline scenario runs the load")
	}
	t.Parallel() // a run waits on its timeline more than it computes
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code, stdout, stderr := runCmd(t, ctx, "demo", "--quick", "--out", out)
	if code != exitOK {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitOK, stdout, stderr)
	}
	for _, want := range []string{Headline, "=> PASS", "report:  " + filepath.Join(out, "report.html")} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the demo does not say %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "report.html")); err != nil {
		t.Error(err)
	}
}
