package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeScenario writes a scenario file into a fresh directory and returns
// its path.
func writeScenario(tb testing.TB, body string) string {
	tb.Helper()
	dir := tb.TempDir()
	path := filepath.Join(dir, "short.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// short is a short wallet scenario with the storefront's shoppers.
const short = `name: short
description: The wallet's answers are lost for a while.
guards: [idempotent_payments]
load: {shoppers: 30, rate: 5/s, duration: 8s}
faults:
  - {link: checkout->wallet, toxic: timeout, timeout: 200ms, stream: downstream, start: 3s, duration: 3s}
checks:
  - invariant: no_double_charge
  - invariant: money_conserved
`

func TestRunBadInput(t *testing.T) {
	bad := writeScenario(t, "name: bad\nload: {duration: 5s}\nfaults:\n  - {link: checkout->walet, toxic: latency, latency: 1s, start: 1s, duration: 1s}\nchecks:\n  - invariant: money_conserved\n")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no scenario", nil, []string{"name at least one scenario"}},
		{"unknown runtime", []string{"--runtime", "vm", "x"}, []string{"allowed values: inproc"}},
		{"unknown profile", []string{"--profile", "paranoid", "x"}, []string{"resilient", "naive"}},
		{"unknown feature", []string{"--feature", "nope=off", "x"}, []string{"nope"}},
		{"bad seed", []string{"--seed", "x1", "x"}, []string{"want an integer"}},
		{"unknown built-in", []string{"wallet-ambigous-commit"}, []string{"wallet-ambiguous-commit"}},
		{"bad file", []string{bad}, []string{bad + ":4:", "checkout->wallet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"run"}, tt.args...), &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit %d; want %d\nstderr: %s", code, exitUsage, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr.String())
				}
			}
			if stdout.Len() > 0 && strings.Contains(stdout.String(), "==") {
				t.Errorf("a run started:\n%s", stdout.String())
			}
		})
	}
}

func TestRunScenarioFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two short scenarios runs the load")
	}
	t.Parallel() // a run waits on its timeline more than it computes
	path := writeScenario(t, short)
	for _, tt := range []struct {
		profile string
		code    int
		outcome string
	}{
		{"resilient", exitOK, "PASS"},
		{"naive", exitFail, "FAIL"},
	} {
		t.Run(tt.profile, func(t *testing.T) {
			out := t.TempDir()
			junit := filepath.Join(out, "junit.xml")
			journal := filepath.Join(out, "all.json")
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"run", "--profile", tt.profile, "--out", filepath.Join(out, "run"),
				"--junit", junit, "--json", journal, path}, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d; want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), "=> "+tt.outcome) {
				t.Errorf("no %s verdict line:\n%s", tt.outcome, stdout.String())
			}
			b, err := os.ReadFile(junit)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Tests    int `xml:"tests,attr"`
				Failures int `xml:"failures,attr"`
			}
			if err := xml.Unmarshal(b, &doc); err != nil {
				t.Fatalf("junit: %v", err)
			}
			if doc.Tests != 2 || (tt.code == exitOK) != (doc.Failures == 0) {
				t.Errorf("junit tests=%d failures=%d for %s:\n%s", doc.Tests, doc.Failures, tt.profile, b)
			}
			for _, f := range []string{journal, filepath.Join(out, "run", "journal.json")} {
				if b, err := os.ReadFile(f); err != nil || !bytes.Contains(b, []byte(`"fault_events"`)) {
					t.Errorf("journal %s: %v", f, err)
				}
			}
		})
	}
}

func TestRunInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the load")
	}
	t.Parallel() // a run waits on its timeline more than it computes
	path := writeScenario(t, short)
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &cancelOnWrite{after: "fault", cancel: cancel}
	var stderr bytes.Buffer
	code := run(ctx, []string{"run", "--out", t.TempDir(), path}, stdout, &stderr)
	if code != exitInterrupted {
		t.Fatalf("exit %d; want %d\nstdout:\n%s\nstderr:\n%s", code, exitInterrupted, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "faults removed") {
		t.Errorf("stderr does not say the faults were removed:\n%s", stderr.String())
	}
}

// cancelOnWrite cancels once the output mentions after: an interrupt in
// the middle of a fault.
type cancelOnWrite struct {
	bytes.Buffer
	after  string
	cancel func()
}

func (c *cancelOnWrite) Write(p []byte) (int, error) {
	n, err := c.Buffer.Write(p)
	if strings.Contains(c.String(), c.after) {
		c.cancel()
	}
	return n, err
}

// TestRunParallel: two scenarios at once, each in its own storefront; each
// verdict table is written whole, and the JUnit file holds both in the
// order given.
func TestRunParallel(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two short scenarios runs the load")
	}
	t.Parallel() // a run waits on its timeline more than it computes
	a := writeScenario(t, short)
	b := writeScenario(t, strings.Replace(short, "name: short", "name: short-two", 1))
	out := t.TempDir()
	junit := filepath.Join(out, "junit.xml")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "--parallel", "2", "--out", out, "--junit", junit, a, b}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d; want %d\nstdout:\n%s\nstderr:\n%s", code, exitOK, stdout.String(), stderr.String())
	}
	got := stdout.String()
	for _, name := range []string{"short", "short-two"} {
		i := strings.Index(got, "== "+name+":")
		if i < 0 {
			t.Fatalf("no output of %s:\n%s", name, got)
		}
		// Its table follows its header before any other scenario's header.
		rest := got[i+3:]
		if next := strings.Index(rest, "== "); next >= 0 {
			rest = rest[:next]
		}
		if !strings.Contains(rest, "=> PASS") || strings.Contains(rest, " fault ") {
			t.Errorf("%s: want its verdict table and no live lines:\n%s", name, rest)
		}
	}
	x, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if i, j := bytes.Index(x, []byte(`name="short"`)), bytes.Index(x, []byte(`name="short-two"`)); i < 0 || j < i {
		t.Errorf("junit does not hold short then short-two:\n%s", x)
	}
}
