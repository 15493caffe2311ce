package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/engine"
	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/journal"
	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/report"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/internal/series"
)

// result is what engine.Run returns for a short failed run of the built-in
// wallet-ambiguous-commit, made by hand.
func result(tb testing.TB) *journal.Run {
	tb.Helper()
	sc, err := scenario.Builtin("wallet-ambiguous-commit")
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	res := &journal.Run{
		Scenario: sc.Name, Description: sc.Description, Versions: engine.Versions(),
		File: sc.File, Profile: "naive", Features: "idempotent_payments=off", Seed: 7,
		Environment: env.Info{Runtime: "inproc", Profile: "naive", Seed: 7, Shoppers: 300},
		Started:     start.Add(-time.Second), LoadStart: start, Elapsed: 40 * time.Second,
		Faults: []journal.Fault{
			{Planned: 5 * time.Second, Actual: 5 * time.Second, Action: "apply", Fault: 0, What: "checkout->wallet reset_peer toxicity=0.3 from 5s for 10s"},
			{Planned: 15 * time.Second, Actual: 15 * time.Second, Action: "remove", Fault: 0, What: "checkout->wallet reset_peer toxicity=0.3 from 5s for 10s"},
		},
		Intervals: []scenario.Interval{{From: 5 * time.Second, To: 15 * time.Second, Index: 0}},
		Load:      journal.Load{ExitCode: 0, Points: 60, Elapsed: 20 * time.Second},
		Verdicts: []judge.Verdict{
			{Check: "no_double_charge", Kind: scenario.CheckInvariant, Subject: "no_double_charge", Status: judge.Fail,
				Want: "at most one charge per order", Got: 1, Measured: true, Reason: "1 of 301 charged orders charged twice",
				Evidence: judge.Evidence{Count: 1, Samples: 301, First: "order o_786b charged 2 times, first at +6.2s"}},
			{Check: "money_conserved", Kind: scenario.CheckInvariant, Status: judge.Pass, Want: "balances = ledger", Measured: true},
		},
		Outcome: judge.Fail,
	}
	for s := range 20 {
		var h series.Histogram
		h.Add(float64(10 + s))
		tags := map[string]string{"endpoint": "checkout", "journey": "checkout", "status": "2xx"}
		res.Series = append(res.Series,
			series.Point{T: start.Unix() + int64(s), Metric: "http_reqs", Kind: series.KindCounter, Tags: tags, Count: 1, Sum: 1},
			series.Point{T: start.Unix() + int64(s), Metric: "http_req_duration", Kind: series.KindTrend, Tags: tags, Count: 1, Sum: h.Sum(), Hist: &h},
			series.Point{T: start.Unix() + int64(s), Metric: "journey_success", Kind: series.KindRate, Tags: map[string]string{"journey": "checkout"}, Count: 1, Sum: 1},
		)
	}
	return res
}

// TestReportJournalReadBack: the journal `gameday run` writes reads back
// as `gameday report` renders it, with the description and the versions
// that ran.
func TestReportJournalReadBack(t *testing.T) {
	res := result(t)
	path := filepath.Join(t.TempDir(), "journal.json")
	if err := report.WriteJournal(path, res); err != nil {
		t.Fatal(err)
	}
	js, err := report.ReadJournalFile(path)
	if err != nil {
		t.Fatal(err)
	}
	j := js[0]
	sc, err := scenario.Builtin(res.Scenario)
	if err != nil {
		t.Fatal(err)
	}
	if j.Scenario != res.Scenario || j.Description != sc.Description || j.Description == "" {
		t.Errorf("scenario %q, description %q", j.Scenario, j.Description)
	}
	if j.Versions["gameday"] == "" || j.Versions["go"] == "" {
		t.Errorf("versions %v: no gameday or go", j.Versions)
	}
	if j.Environment.Runtime != "inproc" || j.Environment.Shoppers != 300 || j.Seed != 7 || j.Profile != "naive" {
		t.Errorf("environment %+v, seed %d, profile %q", j.Environment, j.Seed, j.Profile)
	}
	if len(j.Series) != len(res.Series) || j.Series[1].Hist == nil || j.Series[1].Hist.Count() != 1 {
		t.Errorf("series read back as %d points", len(j.Series))
	}
	if len(j.Faults) != 2 || j.Faults[0].What != res.Faults[0].What || j.Intervals[0] != res.Intervals[0] {
		t.Errorf("faults %+v, intervals %+v", j.Faults, j.Intervals)
	}
	if j.Verdicts[0].Evidence != res.Verdicts[0].Evidence || report.SuiteOf(j).Outcome() != judge.Fail {
		t.Errorf("verdict read back as %+v", j.Verdicts[0])
	}
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	res := result(t)
	// A journal written before the engine recorded descriptions: the report
	// finds it from the scenario it names.
	description := res.Description
	res.Description = ""
	journalFile := filepath.Join(dir, "run", "journal.json")
	if err := report.WriteJournal(journalFile, res); err != nil {
		t.Fatal(err)
	}
	pass := result(t)
	pass.Profile, pass.Features, pass.Outcome = "resilient", "idempotent_payments=on", judge.Pass
	pass.Verdicts = pass.Verdicts[1:]
	all := filepath.Join(dir, "all.json")
	if err := report.WriteJournals(all, []*journal.Run{res, pass}); err != nil {
		t.Fatal(err)
	}

	t.Run("one run's journal, beside it", func(t *testing.T) {
		summary := filepath.Join(dir, "summary.md")
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"report", "--summary", summary, journalFile}, &stdout, &stderr); code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
		page := readFile(t, filepath.Join(dir, "run", "report.html"))
		for _, want := range []string{"wallet-ambiguous-commit", description, `class="verdict fail"`, "order o_786b charged 2 times", "checkout-&gt;wallet reset_peer"} {
			if !strings.Contains(page, want) {
				t.Errorf("report.html does not say %q", want)
			}
		}
		md := readFile(t, summary)
		if !strings.Contains(md, "❌ FAIL") || !strings.Contains(md, "first: order o\\_786b charged 2 times") {
			t.Errorf("summary:\n%s", md)
		}
		if !strings.Contains(stdout.String(), "report:  "+filepath.Join(dir, "run", "report.html")) {
			t.Errorf("stdout does not give the report's path:\n%s", stdout.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "run", "index.html")); err == nil {
			t.Error("an index for one scenario")
		}
	})

	t.Run("several journals, into --out", func(t *testing.T) {
		out := filepath.Join(dir, "out")
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"report", "--out", out, all, journalFile}, &stdout, &stderr); code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
		// Three runs of one scenario: one directory each.
		for _, d := range []string{"wallet-ambiguous-commit", "wallet-ambiguous-commit-2", "wallet-ambiguous-commit-3"} {
			readFile(t, filepath.Join(out, d, "report.html"))
		}
		index := readFile(t, filepath.Join(out, "index.html"))
		for _, want := range []string{`href="wallet-ambiguous-commit/report.html"`, `href="wallet-ambiguous-commit-3/report.html"`, "1 of 3</b> scenarios passed"} {
			if !strings.Contains(index, want) {
				t.Errorf("index.html does not hold %q", want)
			}
		}
	})
}

func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	notJournal := filepath.Join(dir, "x.json")
	if err := os.WriteFile(notJournal, []byte(`{"name": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no journal", nil, "name at least one journal"},
		{"several files without --out", []string{notJournal, notJournal}, "name --out"},
		{"missing file", []string{filepath.Join(dir, "nope.json")}, "no such file"},
		{"not a journal", []string{notJournal}, "not a gameday journal"},
		{"unknown flag", []string{"--html", notJournal}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), append([]string{"report"}, tt.args...), &stdout, &stderr); code != exitUsage {
				t.Errorf("exit %d; want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}

// TestReportRun: `gameday run` writes report.html beside each journal, an
// index of several scenarios, and the --summary.
func TestReportRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two short scenarios runs the load")
	}
	t.Parallel() // a run waits on its timeline more than it computes
	first := writeScenario(t, short)
	second := writeScenario(t, strings.Replace(short, "name: short", "name: short-again", 1))
	out := filepath.Join(t.TempDir(), "run")
	summary := filepath.Join(out, "summary.md")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "--profile", "naive", "--out", out, "--summary", summary, first, second}, &stdout, &stderr)
	if code != exitOK && code != exitFail {
		t.Fatalf("exit %d; want a verdict\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, name := range []string{"short", "short-again"} {
		page := readFile(t, filepath.Join(out, name, "report.html"))
		for _, want := range []string{"The wallet&#39;s answers are lost for a while.", `id="chart-rate"`, "<polyline", "checkout-&gt;wallet timeout"} {
			if !strings.Contains(page, want) {
				t.Errorf("%s/report.html does not hold %q", name, want)
			}
		}
		if !strings.Contains(stdout.String(), "  report:  "+filepath.Join(out, name, "report.html")) {
			t.Errorf("stdout does not give the report of %s", name)
		}
	}
	index := readFile(t, filepath.Join(out, "index.html"))
	if !strings.Contains(index, `href="short/report.html"`) || !strings.Contains(index, `href="short-again/report.html"`) {
		t.Errorf("index.html does not link both reports:\n%s", index)
	}
	if md := readFile(t, summary); !strings.Contains(md, " short (profile naive)") || !strings.Contains(md, " short-again (profile naive)") {
		t.Errorf("summary:\n%s", md)
	}
}

func readFile(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
