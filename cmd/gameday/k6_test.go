package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
)

// gamedayCmd returns this test binary set up to run as gameday with args
// (see TestMain), with extra environment variables. The k6 settings whose
// defaults are under test are taken out of the test's own environment.
func gamedayCmd(tb testing.TB, extra []string, args ...string) *exec.Cmd {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "K6_AUTO_EXTENSION_RESOLUTION" && k != "K6_NO_USAGE_REPORT" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, "GAMEDAY_TEST_MAIN=1"), extra...)
	return cmd
}

// runGameday runs gameday with args to its end (at most a minute) and
// returns its exit code and output.
func runGameday(tb testing.TB, extra []string, args ...string) (code int, stdout, stderr string) {
	tb.Helper()
	cmd := gamedayCmd(tb, extra, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	t := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	defer t.Stop()
	_ = cmd.Wait() // the exit code is read from ProcessState
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// TestK6Version: `gameday k6 version` is k6's own command and names its version
// and our output extension.
func TestK6Version(t *testing.T) {
	code, stdout, stderr := runGameday(t, nil, "k6", "version")
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"v1.8.", "gameday [output]"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("k6 version does not say %q:\n%s", want, stdout)
		}
	}
}

// TestK6Env: the child k6 gets K6_AUTO_EXTENSION_RESOLUTION=false and
// K6_NO_USAGE_REPORT=true unless the user set them, and k6's exit code is
// the process's.
func TestK6Env(t *testing.T) {
	script := filepath.Join(t.TempDir(), "env.js")
	err := os.WriteFile(script, []byte(`
export const options = { iterations: 1 };
export default function () {
  console.log('AUTO=' + __ENV.K6_AUTO_EXTENSION_RESOLUTION + ' REPORT=' + __ENV.K6_NO_USAGE_REPORT);
}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		extra []string
		want  string
	}{
		{"defaults", nil, "AUTO=false REPORT=true"},
		{"user's choice kept", []string{"K6_NO_USAGE_REPORT=false"}, "AUTO=false REPORT=false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runGameday(t, tt.extra, "k6", "run", "--quiet", "--no-color", script)
			if code != 0 {
				t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("the script saw something else than %q:\n%s", tt.want, stderr)
			}
		})
	}
	t.Run("exit code", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.js")
		if err := os.WriteFile(bad, []byte("export default function () { let x = ; }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := runGameday(t, nil, "k6", "run", "--quiet", bad); code != 107 {
			t.Errorf("exit code %d for a script that does not compile, want 107; stderr:\n%s", code, stderr)
		}
	})
}

// TestK6ByHand does what the README tells a person to do: start the
// storefront with `gameday up --json`, then run the shopper script with the
// URLs it printed.
func TestK6ByHand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the storefront and k6 in child processes")
	}
	up := gamedayCmd(t, nil, "up", "--json", "--shoppers", "20")
	stdout, stderr := newSyncBuffer(), newSyncBuffer()
	up.Stdout, up.Stderr = stdout, stderr
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = up.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = up.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = up.Process.Kill()
			<-exited
		}
	})
	var info env.Info
	if err := json.Unmarshal([]byte(stdout.waitFor(t, "\n", time.Minute, exited)), &info); err != nil {
		t.Fatalf("gameday up --json: %v", err)
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "scenarios", "k6", "shopper.js"))
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runGameday(t, []string{
		"GAMEDAY_GATEWAY=" + info.Gateway, "GAMEDAY_INBOX=" + info.OTPInbox, "GAMEDAY_PHONES=" + info.SamplePhone,
		"GAMEDAY_RATE=2", "GAMEDAY_DURATION=3s", "GAMEDAY_THINK=0.05",
	}, "k6", "run", "--no-color", script)
	if code != 0 {
		t.Fatalf("gameday k6 run: exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "orders_paid") {
		t.Errorf("no order was paid; k6's summary:\n%s", out)
	}
}
