package judge

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

func TestOverall(t *testing.T) {
	v := func(s Status) Verdict { return Verdict{Status: s} }
	tests := []struct {
		name string
		vs   []Verdict
		want Status
	}{
		{"all pass", []Verdict{v(Pass), v(Pass)}, Pass},
		{"one fails", []Verdict{v(Pass), v(Fail), v(Unknown)}, Fail},
		{"unknown is not a pass", []Verdict{v(Pass), v(Unknown)}, Unknown},
		{"nothing judged is not a pass", nil, Unknown},
		{"a status the judge never gives is not a pass", []Verdict{v(Pass), v("")}, Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Overall(tt.vs); got != tt.want {
				t.Errorf("Overall = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestVerdicts(t *testing.T) {
	var b builder
	b.counter(0, 60, "http_reqs", tags("endpoint", "wallet"), 10).rate(15, 35, "journey_success", checkoutJourney, 10, 9)
	r := &Run{Timeline: timeline(), Series: b.pts}
	r.Audit.Wallet = totals()
	checks := []scenario.Check{
		invariant(scenario.InvMoneyConserved),
		metricCheck("journey_success", checkoutJourney, "fault", "rate", cmpOf(">=", 0.6, "0.6")),
		experience(scenario.ExpNoZeroBalance, 0),
		recovery("checkout", 10*time.Second),
		{Kind: "vibes", Subject: "good", Name: "vibes"},
	}
	vs := Verdicts(r, checks)
	want := []Status{Pass, Pass, Pass, Unknown, Unknown}
	if len(vs) != len(want) {
		t.Fatalf("%d verdicts, want %d", len(vs), len(want))
	}
	for i, v := range vs {
		if v.Status != want[i] || v.Check != checks[i].Name || v.Kind != checks[i].Kind || v.Subject != checks[i].Subject {
			t.Errorf("verdict %d: %s (%s %s), want %s of %q", i, v, v.Kind, v.Subject, want[i], checks[i].Name)
		}
	}
	if Overall(vs) != Unknown {
		t.Errorf("Overall = %s, want unknown", Overall(vs))
	}
	// The journal holds verdicts as JSON: nothing in them may be unencodable.
	if _, err := json.Marshal(vs); err != nil {
		t.Errorf("marshal verdicts: %v", err)
	}
}

func TestVerdictText(t *testing.T) {
	tests := []struct {
		name string
		v    Verdict
		got  string
		line string
	}{
		{
			name: "a failed metric",
			v: Verdict{Check: "http_req_duration{endpoint:checkout} p95 <= 400ms in recovery", Status: Fail, Want: "p95 <= 400ms",
				Got: 1234.5, Unit: UnitMillis, Measured: true, Reason: "p95 over 300 samples",
				Evidence: Evidence{Count: 2, First: "+36.0s: 980ms (12 samples)", Worst: "+37.0s: 1.5s (9 samples)"}},
			got:  "1.23s",
			line: "fail    http_req_duration{endpoint:checkout} p95 <= 400ms in recovery: got 1.23s, want p95 <= 400ms — p95 over 300 samples; first: +36.0s: 980ms (12 samples); worst: +37.0s: 1.5s (9 samples)",
		},
		{
			name: "an unknown",
			v:    Verdict{Check: "recovery of checkout", Status: Unknown, Want: "back within 10s", Unit: UnitSeconds, Reason: "too short"},
			got:  "-",
			line: "unknown recovery of checkout: got -, want back within 10s — too short",
		},
		{
			name: "a rate",
			v:    Verdict{Check: "c", Status: Pass, Want: ">= 0.6", Got: 0.8125, Unit: UnitRatio, Measured: true},
			got:  "0.812",
			line: "pass    c: got 0.812, want >= 0.6",
		},
		{name: "a count", v: Verdict{Got: 3, Measured: true}, got: "3"},
		{name: "per second", v: Verdict{Got: 12.5, Unit: UnitPerSecond, Measured: true}, got: "12.5/s"},
		{name: "recovery seconds", v: Verdict{Got: 7, Unit: UnitSeconds, Measured: true}, got: "7.0s"},
		{name: "short millis", v: Verdict{Got: 0.25, Unit: UnitMillis, Measured: true}, got: "0.25ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.v.GotText(); got != tt.got {
				t.Errorf("GotText = %q, want %q", got, tt.got)
			}
			if tt.line != "" && tt.v.String() != tt.line {
				t.Errorf("String =\n%s\nwant\n%s", tt.v.String(), tt.line)
			}
		})
	}
}

func TestMoney(t *testing.T) {
	for x, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -5000: "-5,000", 1_250_000: "1,250,000", -1 << 63: "-9,223,372,036,854,775,808"} {
		if got := money(x); got != want {
			t.Errorf("money(%d) = %q, want %q", x, got, want)
		}
	}
}

// TestUnknownIsNeverPass runs every check of the catalogue on a run with no
// data at all: none may pass.
func TestUnknownIsNeverPass(t *testing.T) {
	r := &Run{Timeline: timeline()}
	var checks []scenario.Check
	for _, s := range scenario.Invariants() {
		checks = append(checks, invariant(s.Name))
	}
	for _, s := range scenario.Experiences() {
		checks = append(checks, experience(s.Name, 0))
	}
	for _, m := range scenario.Metrics() {
		for _, st := range scenario.StatsFor(m.Kind) {
			for _, w := range scenario.Windows() {
				checks = append(checks, metricCheck(m.Name, nil, w, st, cmpOf(">=", 0, "0")))
			}
		}
	}
	checks = append(checks, recovery("checkout", time.Minute))
	for _, v := range Verdicts(r, checks) {
		if v.Status != Unknown {
			t.Errorf("%s with no data: %s", v.Check, v)
		}
		if strings.TrimSpace(v.Reason) == "" || v.Want == "" {
			t.Errorf("%s: an unknown without reason or want: %+v", v.Check, v)
		}
	}
	// With an empty audit read, too.
	r.Audit = env.Audit{At: at(100 * time.Second), Wallet: &mockstore.WalletTotals{}, Auth: &mockstore.AuthAudit{}, Gateway: &mockstore.GatewayAudit{}}
	for _, v := range Verdicts(r, checks) {
		if v.Status != Unknown {
			t.Errorf("%s with an empty audit: %s", v.Check, v)
		}
	}
}
