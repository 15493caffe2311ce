package matrix

import (
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/series"
)

// t0 is the load's start of the synthetic series, on a whole second so
// that offsets are the series' seconds.
var t0 = time.Unix(1_700_000_000, 0)

// testWindow has the fault from 4 s to 12 s: baseline seconds 0–3, the
// fault window seconds 6–11 (Settle is 2 s).
var testWindow = Window{Start: t0, FaultFrom: 4 * time.Second, FaultTo: 12 * time.Second}

// flow is one journey's series for a span of seconds: n journeys a second,
// ok of them succeeded, each making one request of latency ms.
type flow struct {
	journey  string
	from, to int // seconds [from, to)
	n, ok    int
	latency  float64
	requests int // requests a second; 0: n
}

func (f flow) points() []series.Point {
	var out []series.Point
	for s := f.from; s < f.to; s++ {
		t := t0.Unix() + int64(s)
		tags := map[string]string{tagJourney: f.journey}
		if f.n > 0 {
			out = append(out, series.Point{T: t, Metric: metricJourneyOK, Kind: series.KindRate, Tags: tags, Count: int64(f.n), Sum: float64(f.ok)})
		}
		reqs := f.requests
		if reqs == 0 {
			reqs = f.n
		}
		if reqs > 0 {
			h := &series.Histogram{}
			for range reqs {
				h.Add(f.latency)
			}
			out = append(out, series.Point{T: t, Metric: metricDuration, Kind: series.KindTrend, Tags: tags, Count: int64(reqs), Hist: h})
		}
	}
	return out
}

// healthy is every journey at its steady rate for [from, to): 12 visits a
// second, 2 logins, all succeeding in 20 ms.
func healthy(from, to int) []flow {
	fs := []flow{{journey: "login", from: from, to: to, n: 2, ok: 2, latency: 20}}
	for _, j := range Journeys()[1:] {
		fs = append(fs, flow{journey: j, from: from, to: to, n: 12, ok: 12, latency: 20})
	}
	return fs
}

// cell is a series: a healthy baseline (seconds 0–3), the fault window's
// flows (seconds 4–11; every journey healthy unless window names it), and
// anything extra.
func cell(window []flow, extra ...series.Point) []series.Point {
	var pts []series.Point
	for _, f := range healthy(0, 4) {
		pts = append(pts, f.points()...)
	}
	named := map[string]bool{}
	for _, f := range window {
		named[f.journey] = true
		pts = append(pts, f.points()...)
	}
	for _, f := range healthy(4, 12) {
		if !named[f.journey] {
			pts = append(pts, f.points()...)
		}
	}
	return append(pts, extra...)
}

func TestJudge(t *testing.T) {
	var nothing []flow // nothing ends in the fault window
	for _, j := range Journeys() {
		nothing = append(nothing, flow{journey: j, from: 4, to: 12})
	}
	// Shoppers still poll the OTP provider's inbox, beside the storefront,
	// and a request or two still comes back.
	inbox := series.Point{T: t0.Unix() + 8, Metric: metricDuration, Kind: series.KindTrend, Count: 100, Hist: &series.Histogram{},
		Tags: map[string]string{tagJourney: "login", tagEndpoint: endpointInbox}}
	inbox.Hist.Add(5)
	straggler := flow{journey: "login", from: 9, to: 10, requests: 5, latency: 5000}.points()
	tests := []struct {
		name    string
		pts     []series.Point
		journey string
		want    Grade
		near    Grade
		reason  string // a part of the reason
	}{
		{"healthy", cell(nil), "wallet", OK, "", "success 100%"},
		{"success at the ok threshold", cell([]flow{{journey: "wallet", from: 4, to: 12, n: 20, ok: 19, latency: 20}}),
			"wallet", OK, Degraded, "success 95%"},
		{"some journeys fail", cell([]flow{{journey: "wallet", from: 4, to: 12, n: 12, ok: 9, latency: 20}}),
			"wallet", Degraded, "", "success 75% < 95%"},
		{"success at the degraded threshold", cell([]flow{{journey: "wallet", from: 4, to: 12, n: 12, ok: 6, latency: 20}}),
			"wallet", Degraded, Broken, "success 50% < 95%"},
		{"slow", cell([]flow{{journey: "wallet", from: 4, to: 12, n: 12, ok: 12, latency: 2000}}),
			"wallet", Degraded, "", "p95 2.0s > 440ms"},
		{"slow, near the latency limit", cell([]flow{{journey: "wallet", from: 4, to: 12, n: 12, ok: 12, latency: 430}}),
			"wallet", OK, Degraded, "p95 430ms ≤ 440ms"},
		{"most journeys fail", cell([]flow{{journey: "wallet", from: 4, to: 12, n: 12, ok: 3, latency: 20}}),
			"wallet", Broken, "", "success 25% < 50%"},
		{"stuck: few of the journeys that reached it end", cell([]flow{{journey: "checkout", from: 4, to: 12, n: 2, ok: 2, latency: 20}}),
			"checkout", Broken, "", "stuck: 12 of the 72"},
		{"stuck: none ends, no request comes back", cell([]flow{{journey: "checkout", from: 4, to: 12}}),
			"checkout", Broken, "", "stuck: 0 of the 72"},
		{"not reached: the journey before it fails", cell([]flow{
			{journey: "browse", from: 4, to: 12, n: 12, ok: 0, latency: 20},
			{journey: "cart", from: 4, to: 12},
		}), "cart", Broken, "", "blocked: 0 of the visits got through browse"},
		{"the journey before it is broken", cell([]flow{
			{journey: "browse", from: 4, to: 12, n: 12, ok: 0, latency: 20},
		}), "browse", Broken, "", "success 0%"},
		{"login: none ends though its requests are made", cell([]flow{{journey: "login", from: 4, to: 12, requests: 5, latency: 20}}),
			"login", Broken, "", "no journey ended; 30 requests"},
		{"login: too few to grade", cell([]flow{{journey: "login", from: 6, to: 8, n: 1, ok: 1, latency: 20}}),
			"login", NoData, "", "2 journeys ended, fewer than 5"},
		{"browse: the few visits a hanging login let through", cell([]flow{{journey: "browse", from: 6, to: 8, n: 1, ok: 1, latency: 20}}),
			"browse", Broken, "", "blocked: 2 journeys ended in the window, fewer than 5"},
		{"browse: no visit got to it", cell([]flow{{journey: "browse", from: 12, to: 13, n: 1, ok: 1, latency: 20}}),
			"browse", Broken, "", "blocked: 0 journeys ended"},
		{"login: the few that end all fail", cell([]flow{{journey: "login", from: 6, to: 8, n: 1, ok: 0, latency: 20}}),
			"login", Broken, "", "success 0%"},
		{"browse: fewer visits, as when logins hang, is not stuck", cell([]flow{{journey: "browse", from: 4, to: 12, n: 2, ok: 2, latency: 20}}),
			"browse", OK, Degraded, "success 100%"},
		{"nothing comes back: the first journey", cell(nothing, append(straggler, inbox)...), "login", Broken, "", "stalled: the storefront answered 5 requests"},
		{"nothing comes back: a later journey", cell(nothing, append(straggler, inbox)...), "checkout", Broken, "", "stalled"},
		{"what ends after the fault and in its settling is not judged", cell([]flow{
			{journey: "wallet", from: 4, to: 6, n: 12, ok: 0, latency: 9000},
			{journey: "wallet", from: 6, to: 12, n: 12, ok: 12, latency: 20},
			{journey: "wallet", from: 12, to: 20, n: 12, ok: 0, latency: 9000},
		}), "wallet", OK, "", "success 100%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js := Judge(tt.pts, testWindow)
			if len(js) != len(Journeys()) {
				t.Fatalf("%d judgements; want one per journey", len(js))
			}
			var got Judgement
			for _, j := range js {
				if j.Journey == tt.journey {
					got = j
				}
			}
			if got.Grade != tt.want || got.Near != tt.near {
				t.Errorf("%s: %s (near %q); want %s (near %q)\n%+v", tt.journey, got.Grade, got.Near, tt.want, tt.near, got)
			}
			if !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("reason %q does not say %q", got.Reason, tt.reason)
			}
		})
	}
}

func TestJudgeBaseline(t *testing.T) {
	// No wallet request before the fault: nothing to compare with.
	var pts []series.Point
	for _, f := range healthy(0, 12) {
		if f.journey == "wallet" {
			f.from = 4
		}
		pts = append(pts, f.points()...)
	}
	for _, j := range Judge(pts, testWindow) {
		want := OK
		if j.Journey == "wallet" {
			want = NoData
		}
		if j.Grade != want {
			t.Errorf("%s: %s (%s); want %s", j.Journey, j.Grade, j.Reason, want)
		}
	}
}

func TestJudgeNumbers(t *testing.T) {
	js := Judge(cell([]flow{{journey: "wallet", from: 4, to: 12, n: 12, ok: 9, latency: 300}}), testWindow)
	j := js[3]
	if j.Journey != "wallet" {
		t.Fatalf("journey order: %s at 3", j.Journey)
	}
	// Seconds 6–11 are the window: 6 × 12 journeys.
	if j.Journeys != 72 || j.Succeeded != 54 || j.Requests != 72 || j.Reached != 72 || j.BaseJourneys != 48 {
		t.Errorf("counts %+v", j)
	}
	if s, ok := j.Success(); !ok || s != 0.75 {
		t.Errorf("success %v %v", s, ok)
	}
	if j.P95 < 290 || j.P95 > 310 || j.BaseP95 < 19 || j.BaseP95 > 21 || j.MaxP95 != OKLatencyFactor*j.BaseP95+OKLatencySlack {
		t.Errorf("latencies %+v", j)
	}
	if js[0].Reached != -1 {
		t.Errorf("login's reached %d; want -1 (not counted)", js[0].Reached)
	}
}

func TestWindowSeconds(t *testing.T) {
	tests := []struct {
		name     string
		start    time.Time
		from, to time.Duration
		want     int
	}{
		{"aligned", t0, 4 * time.Second, 12 * time.Second, 6},
		{"half a second off", t0.Add(500 * time.Millisecond), 4 * time.Second, 12 * time.Second, 5},
		{"the fault ends before it settles", t0, 4 * time.Second, 5 * time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := windowSeconds(Window{Start: tt.start, FaultFrom: tt.from, FaultTo: tt.to}); got != tt.want {
				t.Errorf("windowSeconds = %d; want %d", got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		success float64
		slow    bool
		want    Grade
	}{
		{1, false, OK},
		{OKSuccess, false, OK},
		{1, true, Degraded},
		{0.94, false, Degraded},
		{DegradedSuccess, false, Degraded},
		{0.49, false, Broken},
		{0, true, Broken},
	}
	for _, tt := range tests {
		if got := classify(tt.success, tt.slow); got != tt.want {
			t.Errorf("classify(%g, %t) = %s; want %s", tt.success, tt.slow, got, tt.want)
		}
	}
}
