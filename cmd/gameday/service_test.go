//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunServiceReplaced runs a wallet scenario with the storefront's
// wallet replaced (--service) by a process of its own: gameday's own
// wallet served by this binary passes; the session store posing as the
// wallet (no wallet audits) leaves the wallet's checks unknown, exit 1 —
// the verdicts judge the replacement, which really ran as a process behind
// the same proxies.
func TestRunServiceReplaced(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the load")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wallet := func(service string) string {
		return "wallet=process:" + exe + " serve " + service + " --listen {addr} --audit-listen {audit_addr} --db {dir}/wallet.db --seed 1 --shoppers 30 --log-level warn"
	}
	for _, tc := range []struct {
		name, service string
		want          int
	}{
		{"the wallet", wallet("wallet"), exitOK},
		{"the session store as the wallet", wallet("sessions"), exitFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			cmd := gamedayCmd(t, nil, "run", "--out", out, "--seed", "1", "--service", tc.service, writeScenario(t, short))
			b, err := cmd.CombinedOutput()
			code := cmd.ProcessState.ExitCode()
			if code != tc.want {
				t.Fatalf("exit %d (%v), want %d:\n%s", code, err, tc.want, b)
			}
			log, err := os.ReadFile(filepath.Join(out, "stores", "wallet.log"))
			if err != nil || !strings.Contains(string(log), "gameday serve: ") {
				t.Errorf("the wallet did not run as a process of its own: %v\n%s", err, log)
			}
			if tc.want == exitFail && !strings.Contains(string(b), "UNKNOWN no_double_charge: the wallet's audit was not served") {
				t.Errorf("no_double_charge is not unknown for want of the wallet's audit:\n%s", b)
			}
		})
	}
}

func TestRunServiceBadFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown service", []string{"--service", "walet=process:./w", "wallet-ambiguous-commit"}, `--service walet: unknown service "walet": did you mean "wallet"?`},
		{"placeholder names no link", []string{"--service", "wallet=process:./w {link.auth}", "wallet-ambiguous-commit"}, "placeholder {link.auth}: service wallet has no link to auth"},
		{"bad form", []string{"--service", "wallet", "wallet-ambiguous-commit"}, "want NAME=process:COMMAND"},
		{"twice", []string{"--service", "wallet=process:./w", "--service", "wallet=process:./v", "wallet-ambiguous-commit"}, "--service wallet: given twice"},
		{"process in docker", []string{"--runtime", "docker", "--service", "wallet=process:./w {addr}", "wallet-ambiguous-commit"}, "--service: service wallet is a process on this host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmdFunc(t, runRun, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant %d and %q (stdout %q)", code, stderr, exitUsage, tc.want, stdout)
			}
		})
	}
	code, _, stderr := runCmdFunc(t, runUp, "--service", "walet=process:./w")
	if code != exitUsage || !strings.Contains(stderr, `unknown service "walet"`) {
		t.Errorf("up: exit %d, stderr:\n%s", code, stderr)
	}
}
