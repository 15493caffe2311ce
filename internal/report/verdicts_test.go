package report

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/scenario"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func suites() []Suite {
	return []Suite{
		{
			Name: "wallet-ambiguous-commit", Profile: "naive", Features: "idempotent_payments=off", Elapsed: 61500 * time.Millisecond,
			Verdicts: []judge.Verdict{
				{Check: "money_conserved", Kind: scenario.CheckInvariant, Subject: "money_conserved", Status: judge.Pass,
					Want: "credits - debits = balances", Got: 0, Measured: true, Evidence: judge.Evidence{Samples: 300}},
				{Check: "no_double_charge", Kind: scenario.CheckInvariant, Subject: "no_double_charge", Status: judge.Fail,
					Want: "no order charged more than once", Got: 3, Measured: true,
					Reason:   "3 orders charged twice",
					Evidence: judge.Evidence{Count: 3, Samples: 120, First: "order o_1 charged 2 times at +16.2s", Worst: "order o_9 charged 3 times at +20.0s"}},
				{Check: "p95 of http_req_duration{endpoint:checkout} in recovery", Kind: scenario.CheckMetric, Status: judge.Unknown,
					Want: "p95 <= 400ms", Unit: judge.UnitMillis, Reason: "4 samples in the window, fewer than 10",
					Evidence: judge.Evidence{Samples: 4}},
				{Check: "checkout recovers", Kind: scenario.CheckRecovery, Status: judge.Pass, Want: "within 10s",
					Got: 4, Unit: judge.UnitSeconds, Measured: true},
			},
		},
		{Name: "session-store-outage", Profile: "resilient", Elapsed: 2 * time.Second, Err: "environment: start wallet: disk full"},
	}
}

func TestTableGolden(t *testing.T) {
	var b bytes.Buffer
	for _, s := range suites() {
		if err := Table(&b, s); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "table.golden", b.Bytes())
}

func TestJUnitGolden(t *testing.T) {
	var b bytes.Buffer
	if err := JUnit(&b, suites()); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.golden.xml", b.Bytes())

	// CI systems read it: it must parse, with the counts right.
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit output does not parse: %v", err)
	}
	if doc.Tests != 5 || doc.Failures != 1 || doc.Errors != 2 || len(doc.Suites) != 2 {
		t.Errorf("tests=%d failures=%d errors=%d suites=%d; want 5, 1, 2, 2", doc.Tests, doc.Failures, doc.Errors, len(doc.Suites))
	}
}

func TestSuiteOutcome(t *testing.T) {
	pass := judge.Verdict{Status: judge.Pass}
	tests := []struct {
		s    Suite
		want judge.Status
	}{
		{Suite{Verdicts: []judge.Verdict{pass}}, judge.Pass},
		{Suite{Verdicts: []judge.Verdict{pass}, Err: "load failed"}, judge.Unknown},
		{Suite{}, judge.Unknown},
		{Suite{Verdicts: []judge.Verdict{pass, {Status: judge.Unknown}}}, judge.Unknown},
		{Suite{Verdicts: []judge.Verdict{{Status: judge.Unknown}, {Status: judge.Fail}}}, judge.Fail},
	}
	for i, tt := range tests {
		if got := tt.s.Outcome(); got != tt.want {
			t.Errorf("%d: Outcome() = %s; want %s", i, got, tt.want)
		}
	}
}
