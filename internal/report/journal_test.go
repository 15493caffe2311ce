package report

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/journal"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/internal/series"
)

// fixture is a run of 40 seconds with three faults — a toxic for 10s, a
// crash (an instant) and a flapping latency — a fail, an unknown and two
// passes: every part of the reports has something to show, always the same.
func fixture() *journal.Run {
	start := time.Date(2026, 3, 14, 9, 26, 53, 300e6, time.UTC)
	j := &journal.Run{
		Scenario:    "wallet-ambiguous-commit",
		Description: "The wallet takes the money but checkout never hears back.\nA second line of description.",
		File:        "scenarios/wallet-ambiguous-commit.yaml",
		Profile:     "naive",
		Features:    "circuit_breakers=on,idempotent_payments=off,payment_reconciliation=off",
		Seed:        7,
		Environment: env.Info{Runtime: "inproc", Shoppers: 300, Dir: "/tmp/run/stores"},
		Versions:    map[string]string{"gameday": "v1.2.3", "go": "go1.26.8", "toxiproxy": "v2.12.0"},
		Started:     start.Add(-400 * time.Millisecond),
		LoadStart:   start,
		Elapsed:     61500 * time.Millisecond,
		Faults: []journal.Fault{
			{Planned: 10 * time.Second, Actual: 10*time.Second + 4*time.Millisecond, Action: "apply", Fault: 0, What: "checkout->wallet reset_peer toxicity=0.3 from 10s for 10s"},
			{Planned: 20 * time.Second, Actual: 20*time.Second + 12*time.Millisecond, Action: "remove", Fault: 0, What: "checkout->wallet reset_peer toxicity=0.3 from 10s for 10s"},
			{Planned: 25 * time.Second, Actual: 25*time.Second + 2*time.Millisecond, Action: "apply", Fault: 1, What: "kill wallet at 25s"},
			{Planned: 28 * time.Second, Actual: 28 * time.Second, Action: "apply", Fault: 2, What: "gateway->auth latency latency=500ms from 28s for 8s flapping 2s on/2s off"},
			{Planned: 30 * time.Second, Actual: 30 * time.Second, Action: "remove", Fault: 2, What: "gateway->auth latency latency=500ms from 28s for 8s flapping 2s on/2s off"},
			{Planned: 32 * time.Second, Actual: 32 * time.Second, Action: "apply", Fault: 2, What: "gateway->auth latency latency=500ms from 28s for 8s flapping 2s on/2s off"},
			{Planned: 34 * time.Second, Actual: 34 * time.Second, Action: "remove", Fault: 2, What: "gateway->auth latency latency=500ms from 28s for 8s flapping 2s on/2s off", Err: "toxiproxy: 404 toxic not found"},
		},
		Intervals: []scenario.Interval{
			{From: 10*time.Second + 4*time.Millisecond, To: 20*time.Second + 12*time.Millisecond, Index: 0},
			{From: 25*time.Second + 2*time.Millisecond, To: 25*time.Second + 2*time.Millisecond, Index: 1},
			{From: 28 * time.Second, To: 30 * time.Second, Index: 2},
			{From: 32 * time.Second, To: 34 * time.Second, Index: 2},
		},
		Load:     journal.Load{ExitCode: 0, Points: 1234, Elapsed: 41 * time.Second},
		Verdicts: suites()[0].Verdicts,
		Outcome:  "fail",
	}
	inFault := func(s int) bool { return (s >= 10 && s < 20) || (s >= 28 && s < 30) || (s >= 32 && s < 34) }
	for s := range 40 {
		t := start.Unix() + int64(s)
		for i, ep := range []string{"checkout", "login", "wallet"} {
			journey := map[string]string{"checkout": "checkout", "login": "login", "wallet": "wallet"}[ep]
			tags := map[string]string{"endpoint": ep, "journey": journey, "status": "2xx"}
			reqs := 30 + 10*float64(i) + float64(s%5)
			failed := 0.0
			base := 5 + 3*float64(i)
			if inFault(s) && ep != "wallet" {
				failed, base = reqs/4, base*20
			}
			if ep == "login" && s >= 36 {
				continue // a gap: no logins at the end
			}
			var h series.Histogram
			for k := range int(reqs) {
				h.Add(base * (1 + float64(k%10)/10))
			}
			j.Series = append(j.Series,
				series.Point{T: t, Metric: "http_reqs", Kind: series.KindCounter, Tags: tags, Count: int64(reqs), Sum: reqs},
				series.Point{T: t, Metric: "http_req_failed", Kind: series.KindRate, Tags: tags, Count: int64(reqs), Sum: failed},
				series.Point{T: t, Metric: "http_req_duration", Kind: series.KindTrend, Tags: tags, Count: int64(h.Count()), Sum: h.Sum(),
					Min: h.Min(), Max: h.Max(), P95: h.Quantile(0.95), Hist: &h},
			)
			if s%2 == 0 || ep == "checkout" {
				ok := 10.0
				if inFault(s) && ep != "wallet" {
					ok = 6
				}
				j.Series = append(j.Series, series.Point{T: t, Metric: "journey_success", Kind: series.KindRate,
					Tags: map[string]string{"journey": journey}, Count: 10, Sum: ok})
			}
		}
	}
	return j
}

func TestReadJournals(t *testing.T) {
	one, err := json.Marshal(fixture())
	if err != nil {
		t.Fatal(err)
	}
	several := []byte(`{"scenarios": [` + string(one) + `,` + strings.Replace(string(one), `"naive"`, `"resilient"`, 1) + `]}`)
	tests := []struct {
		name     string
		in       []byte
		profiles []string
		err      string
	}{
		{"one run's journal", one, []string{"naive"}, ""},
		{"a --json file of several", several, []string{"naive", "resilient"}, ""},
		{"an empty --json file", []byte(`{"scenarios": []}`), nil, ""},
		{"not a journal", []byte(`{"name": "x"}`), nil, "not a gameday journal"},
		{"not JSON", []byte(`scenario: x`), nil, "decode journal"},
		{"two documents", append(append([]byte{}, one...), one...), nil, "data after the journal"},
		{"a scenario without a name", []byte(`{"scenarios": [{"profile": "naive"}]}`), nil, "scenario 1 has no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js, err := ReadJournals(bytes.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v; want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(js) != len(tt.profiles) {
				t.Fatalf("%d journals; want %d", len(js), len(tt.profiles))
			}
			for i, j := range js {
				if j.Profile != tt.profiles[i] || j.Scenario != "wallet-ambiguous-commit" {
					t.Errorf("journal %d: %s on %s", i, j.Scenario, j.Profile)
				}
			}
		})
	}
}

// TestJournalRoundTrip: what the reports read back is what was written,
// the series' histograms included.
func TestJournalRoundTrip(t *testing.T) {
	want := fixture()
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	js, err := ReadJournals(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	got := js[0]
	if len(got.Series) != len(want.Series) || len(got.Verdicts) != len(want.Verdicts) || len(got.Intervals) != len(want.Intervals) {
		t.Fatalf("read back %d points, %d verdicts, %d intervals; want %d, %d, %d",
			len(got.Series), len(got.Verdicts), len(got.Intervals), len(want.Series), len(want.Verdicts), len(want.Intervals))
	}
	if g, w := fold(got).all.Quantile(0.95), fold(want).all.Quantile(0.95); math.Abs(g-w) > 1e-9 {
		t.Errorf("p95 of the read-back series = %v; want %v", g, w)
	}
	if got.Intervals[0] != want.Intervals[0] || got.Verdicts[1].Evidence != want.Verdicts[1].Evidence {
		t.Errorf("read back %+v, %+v", got.Intervals[0], got.Verdicts[1].Evidence)
	}
	if !got.LoadStart.Equal(want.LoadStart) || got.Elapsed != want.Elapsed {
		t.Errorf("times read back as %v, %v", got.LoadStart, got.Elapsed)
	}
}

func TestFaultLabel(t *testing.T) {
	tests := []struct{ what, want string }{
		{"checkout->wallet reset_peer toxicity=0.3 from 15s for 20s", "checkout->wallet reset_peer"},
		{"auth->sessions timeout timeout=0s from 5s for 6.7s flapping 1s on/1s off", "auth->sessions timeout"},
		{"maintenance (retry after 5s) from 10s for 20s", "maintenance (retry after 5s)"},
		{"kill wallet at 25s", "kill wallet"},
		{"stop sessions at 10s for 5s", "stop sessions"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := faultLabel(tt.what); got != tt.want {
			t.Errorf("faultLabel(%q) = %q; want %q", tt.what, got, tt.want)
		}
	}
}
