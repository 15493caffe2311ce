package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gameday/gameday/internal/scenario"
)

func init() {
	// -update rewrites golden files; another test file of the package may
	// have defined it already.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// goldenFile compares got with testdata/name, or writes it with -update.
func goldenFile(tb testing.TB, name, got string) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if updateGolden() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		tb.Errorf("%s differs (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// writeScenario writes src to a file in dir and returns its path.
func writeScenarioFile(tb testing.TB, dir, name, src string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

const validScenario = `name: ok-one
load: {duration: 60s}
faults:
  - {link: checkout->wallet, toxic: latency, latency: 1s, start: 10s, duration: 20s}
checks:
  - invariant: money_conserved
`

const badScenario = `name: bad-one
load: {duration: 60s}
faults:
  - {link: checkout->walet, toxic: latency, latency: 1s, start: 10s, duration: 20s}
checks:
  - metric: journey_success
    window: faults
    rate: ">= 0.6"
`

const validTopology = `name: shop
services:
  - {name: api, kind: process, command: ./api, args: ["{addr}"], health: {http: /healthz}}
links:
  - {from: client, to: api}
`

const badTopology = `services:
  - {name: api, kind: process, command: ./api, args: ["{link.db}"], health: {http: /healthz}}
  - {name: db, kind: procss}
links:
  - {from: client, to: api}
`

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	good := writeScenarioFile(t, dir, "good.yaml", validScenario)
	bad := writeScenarioFile(t, dir, "bad.yaml", badScenario)
	goodTopo := writeScenarioFile(t, dir, "shop.yaml", validTopology)
	badTopo := writeScenarioFile(t, dir, "bad.topology.yaml", badTopology)
	emptyTopo := writeScenarioFile(t, dir, "empty.topology.yaml", "name: x\n")
	both := t.TempDir()
	writeScenarioFile(t, both, "a.yaml", validScenario)
	writeScenarioFile(t, both, "b.yaml", badScenario)

	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string // each must appear
		stderr     []string
		noStdout   bool
		noStderrOK bool // stderr must be empty
	}{
		{name: "valid file", args: []string{good}, code: exitOK,
			stdout: []string{"OK  " + good + " (ok-one: 1m0s load, 1 fault, 1 check)\n"}, noStderrOK: true},
		{name: "file with errors", args: []string{bad}, code: exitUsage, noStdout: true,
			stderr: []string{
				bad + `:4:12: unknown link "checkout->walet": did you mean "checkout->wallet"? (allowed: `,
				bad + `:7:13: unknown window "faults": did you mean "fault"? (allowed: baseline, fault, recovery, run)`,
				"gameday validate: 1 of 1 scenario files or names have problems",
			}},
		{name: "directory", args: []string{both}, code: exitUsage,
			stdout: []string{"OK  " + filepath.Join(both, "a.yaml")},
			stderr: []string{filepath.Join(both, "b.yaml") + ":4:12: unknown link", "1 of 2 scenario files"}},
		{name: "built-in by name", args: []string{"wallet-ambiguous-commit"}, code: exitOK,
			stdout: []string{"OK  scenarios/wallet-ambiguous-commit.yaml (built-in, wallet-ambiguous-commit: "}, noStderrOK: true},
		{name: "unknown name", args: []string{"wallet-ambigous-commit", good}, code: exitUsage,
			stdout: []string{"OK  " + good},
			stderr: []string{`gameday validate: wallet-ambigous-commit: no such file, and unknown built-in scenario "wallet-ambigous-commit": did you mean "wallet-ambiguous-commit"?`}},
		{name: "topology file", args: []string{goodTopo}, code: exitOK,
			stdout: []string{"OK  " + goodTopo + " (topology shop: 1 service, 1 link)\n"}, noStderrOK: true},
		{name: "topology file with errors", args: []string{badTopo}, code: exitUsage, noStdout: true,
			stderr: []string{
				badTopo + `:2:55: service api: args: placeholder {link.db}: service api has no link to db`,
				badTopo + `:3:22: service db: unknown service kind "procss": did you mean "process"? (allowed: builtin, process, image)`,
			}},
		{name: "topology file by its name", args: []string{emptyTopo}, code: exitUsage, noStdout: true,
			stderr: []string{emptyTopo + ":1:1: missing field services"}},
		{name: "no arguments", args: nil, code: exitUsage, noStdout: true,
			stderr: []string{"name at least one scenario", "usage: gameday validate"}},
		{name: "bad flag", args: []string{"--nope", good}, code: exitUsage, noStdout: true,
			stderr: []string{"flag provided but not defined: -nope"}},
		{name: "help", args: []string{"-h"}, code: exitOK, noStdout: true, stderr: []string{"usage: gameday validate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmdFunc(t, runValidate, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tt.noStdout && stdout != "" {
				t.Errorf("stdout: %q, want nothing", stdout)
			}
			if tt.noStderrOK && stderr != "" {
				t.Errorf("stderr: %q, want nothing", stderr)
			}
		})
	}
}

// runCmdFunc runs one command function with args and returns its exit code
// and output.
func runCmdFunc(tb testing.TB, cmd func(context.Context, []string, io.Writer, io.Writer) int, args ...string) (int, string, string) {
	tb.Helper()
	var stdout, stderr strings.Builder
	code := cmd(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestValidateInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr strings.Builder
	if code := runValidate(ctx, []string{"wallet-ambiguous-commit"}, &stdout, &stderr); code != exitInterrupted {
		t.Errorf("exit %d, want %d", code, exitInterrupted)
	}
	if stdout.String() != "" || stderr.String() != "gameday validate: interrupted\n" {
		t.Errorf("stdout %q, stderr %q; want nothing and the interruption", stdout.String(), stderr.String())
	}
}

// manyChecks returns a valid scenario of n checks, to keep validate busy.
func manyChecks(n int) string {
	var b strings.Builder
	b.WriteString(validScenario)
	for i := range n {
		fmt.Fprintf(&b, "  - {name: c%d, metric: http_reqs, count: \">= 0\"}\n", i)
	}
	return b.String()
}

// cancelAtLook is a context that is cancelled when it is asked whether it
// is done for the at-th time: an interrupt at a known point of the work,
// with no sleeping. It counts every look.
type cancelAtLook struct {
	context.Context
	cancel context.CancelFunc
	at     int64
	looks  atomic.Int64
}

func newCancelAtLook(tb testing.TB, at int64) *cancelAtLook {
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	return &cancelAtLook{Context: ctx, cancel: cancel, at: at}
}

func (c *cancelAtLook) Err() error {
	if c.looks.Add(1) == c.at {
		c.cancel()
	}
	return c.Context.Err()
}

// TestValidateInterruptedInFile: an interrupt while a large file is being
// parsed stops validate within the file, with exit 130 and without a word
// on that file: it is neither OK nor said to have problems.
func TestValidateInterruptedInFile(t *testing.T) {
	big := writeScenarioFile(t, t.TempDir(), "big.yaml", manyChecks(20_000))

	// The first look is validate's, before the file; the third is well
	// within the YAML decoder, which reads 600 kB in chunks of 512 bytes.
	ctx := newCancelAtLook(t, 3)
	var stdout, stderr strings.Builder
	code := runValidate(ctx, []string{big}, &stdout, &stderr)
	if code != exitInterrupted {
		t.Errorf("exit %d, want %d", code, exitInterrupted)
	}
	if stdout.String() != "" || stderr.String() != "gameday validate: interrupted\n" {
		t.Errorf("stdout %q, stderr %q; want nothing and the interruption", stdout.String(), stderr.String())
	}
	if n := ctx.looks.Load(); n > 6 {
		t.Errorf("the context was looked at %d times: validate went on after the interrupt", n)
	}
}

// TestValidateInterruptedInDirectory: the interrupt comes once validate has
// said the first file of a directory is OK (the known point), while it
// parses the second, large one.
func TestValidateInterruptedInDirectory(t *testing.T) {
	dir := t.TempDir()
	a := writeScenarioFile(t, dir, "a.yaml", validScenario)
	writeScenarioFile(t, dir, "b.yaml", manyChecks(20_000))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &cancelOnWrite{after: "OK  " + a, cancel: cancel}
	var stderr strings.Builder
	code := runValidate(ctx, []string{dir}, stdout, &stderr)
	if code != exitInterrupted {
		t.Errorf("exit %d, want %d", code, exitInterrupted)
	}
	if !strings.HasPrefix(stdout.String(), "OK  "+a) || strings.Count(stdout.String(), "\n") != 1 {
		t.Errorf("stdout %q: want the OK of a.yaml only", stdout.String())
	}
	if stderr.String() != "gameday validate: interrupted\n" {
		t.Errorf("stderr %q: want the interruption only", stderr.String())
	}
}

func TestList(t *testing.T) {
	code, stdout, stderr := runCmdFunc(t, runList)
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "GUARDS") || !strings.Contains(lines[0], "DESCRIPTION") {
		t.Errorf("header %q", lines[0])
	}
	names := scenario.Builtins()
	if len(lines) != len(names)+1 {
		t.Fatalf("%d rows for %d built-in scenarios:\n%s", len(lines)-1, len(names), stdout)
	}
	for i, name := range names {
		sc, err := scenario.Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		row := lines[i+1]
		if !strings.HasPrefix(row, name+" ") || !strings.Contains(row, string(sc.Guards[0])) || !strings.Contains(row, oneLine(sc.Description)) {
			t.Errorf("row for %s: %q", name, row)
		}
	}
	if code, _, stderr := runCmdFunc(t, runList, "extra"); code != exitUsage || !strings.Contains(stderr, `unexpected argument "extra"`) {
		t.Errorf("list extra: exit %d, stderr %q", code, stderr)
	}
}

// TestListTable fixes the table's layout on scenarios that do not change
// when the catalogue grows.
func TestListTable(t *testing.T) {
	var scs []*scenario.Scenario
	for _, src := range []string{
		validScenario,
		strings.Replace(validScenario, "name: ok-one", "name: a-longer-name\ndescription: |\n  Two lines\n  of description.\nguards: [async_otp, retry_budget]", 1),
	} {
		sc, err := scenario.Parse("t.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		scs = append(scs, sc)
	}
	var b strings.Builder
	if err := writeList(&b, scs); err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "list.golden", b.String())
}
