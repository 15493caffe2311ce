package judge

import (
	"testing"
	"time"

	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/internal/series"
)

var (
	checkoutJourney  = tags("journey", "checkout")
	checkoutEndpoint = tags("endpoint", "checkout")
)

func TestMetricChecks(t *testing.T) {
	ms := func(v float64) string { return formatMillis(v) }
	tests := []struct {
		name   string
		series func(b *builder)
		tl     func(tl *Timeline)
		check  scenario.Check
		status Status
		got    float64
		count  int // evidence count, -1 to skip
		say    []string
	}{
		{
			name: "rate passes in the fault window",
			series: func(b *builder) {
				b.rate(0, 15, "journey_success", checkoutJourney, 10, 2). // a bad baseline is not the fault window's
												rate(15, 35, "journey_success", checkoutJourney, 10, 8)
			},
			check:  metricCheck("journey_success", checkoutJourney, "fault", "rate", cmpOf(">=", 0.6, "0.6")),
			status: Pass, got: 0.8, count: 0, say: []string{"200 samples", "fault"},
		},
		{
			name: "rate fails in the fault window",
			series: func(b *builder) {
				b.rate(15, 25, "journey_success", checkoutJourney, 10, 8).rate(25, 35, "journey_success", checkoutJourney, 10, 2)
			},
			check:  metricCheck("journey_success", checkoutJourney, "fault", "rate", cmpOf(">=", 0.6, "0.6")),
			status: Fail, got: 0.5, count: 10, say: []string{"+25.0s: 0.2 (10 samples)"},
		},
		{
			name: "rate filters by tag",
			series: func(b *builder) {
				b.rate(15, 35, "journey_success", checkoutJourney, 10, 9).rate(15, 35, "journey_success", tags("journey", "login"), 10, 0)
			},
			check:  metricCheck("journey_success", checkoutJourney, "fault", "rate", cmpOf(">=", 0.6, "0.6")),
			status: Pass, got: 0.9, count: 0,
		},
		{
			name: "rate merges the tag sets a selector matches",
			series: func(b *builder) {
				b.rate(15, 35, "journey_success", tags("journey", "checkout", "status", "2xx"), 10, 10).
					rate(15, 35, "journey_success", tags("journey", "checkout", "status", "5xx"), 10, 0)
			},
			check:  metricCheck("journey_success", checkoutJourney, "fault", "rate", cmpOf(">=", 0.6, "0.6")),
			status: Fail, got: 0.5, count: 20,
		},
		{
			name:   "rate with fewer samples than min_samples is unknown",
			series: func(b *builder) { b.rate(20, 21, "journey_success", checkoutJourney, 5, 5) },
			check:  metricCheck("journey_success", checkoutJourney, "fault", "rate", cmpOf(">=", 0.6, "0.6")),
			status: Unknown, count: -1, say: []string{"5 samples", "judged 5 samples of journey_success{journey:checkout} in fault, fewer than 10"},
		},
		{
			name:   "rate without samples in the window is unknown",
			series: func(b *builder) { b.rate(0, 15, "journey_success", checkoutJourney, 10, 10) },
			check:  metricCheck("journey_success", checkoutJourney, "fault", "rate", cmpOf(">=", 0.6, "0.6")),
			status: Unknown, count: -1, say: []string{"no samples"},
		},
		{
			name:   "a window the run does not have is unknown",
			series: func(b *builder) { b.rate(0, 60, "journey_success", checkoutJourney, 10, 10) },
			tl:     func(tl *Timeline) { tl.Faults[0].From = 0 },
			check:  metricCheck("journey_success", checkoutJourney, "baseline", "rate", cmpOf(">=", 0.6, "0.6")),
			status: Unknown, count: -1, say: []string{"no baseline"},
		},
		{
			name: "p95 merges histograms across seconds and tags",
			series: func(b *builder) {
				// Averaging the per-second p95s would give 505ms and pass.
				b.trend(36, 37, "http_req_duration", tags("endpoint", "checkout", "status", "2xx"), repeat(10, 100)...).
					trend(37, 38, "http_req_duration", tags("endpoint", "checkout", "status", "5xx"), repeat(1000, 10)...)
			},
			check:  metricCheck("http_req_duration", checkoutEndpoint, "recovery", "p95", cmpOf("<=", 600, "600ms")),
			status: Fail, got: 1000, count: 1, say: []string{"110 samples", "+37.0s: " + ms(1000)},
		},
		{
			name: "p95 passes",
			series: func(b *builder) {
				b.trend(36, 60, "http_req_duration", checkoutEndpoint, repeat(100, 19)...).
					trend(36, 60, "http_req_duration", checkoutEndpoint, 300)
			},
			check:  metricCheck("http_req_duration", checkoutEndpoint, "recovery", "p95", cmpOf("<=", 400, "400ms")),
			status: Pass, got: 100, count: 0,
		},
		{
			name:   "p50 of the run",
			series: func(b *builder) { b.trend(0, 60, "http_req_duration", nil, 10, 20, 30, 40, 50) },
			check:  metricCheck("http_req_duration", nil, "run", "p50", cmpOf("<=", 25, "25ms")),
			status: Fail, got: 30, count: 60,
		},
		{
			name: "p99 sees the tail",
			series: func(b *builder) {
				b.trend(0, 10, "http_req_duration", nil, repeat(10, 98)...).trend(0, 10, "http_req_duration", nil, 900, 900)
			},
			check:  metricCheck("http_req_duration", nil, "run", "p99", cmpOf("<=", 500, "500ms")),
			status: Fail, got: 900, count: 10,
		},
		{
			name: "max",
			series: func(b *builder) {
				b.trend(0, 10, "otp_wait", nil, repeat(100, 20)...).trend(5, 6, "otp_wait", nil, 7000)
			},
			check:  metricCheck("otp_wait", nil, "run", "max", cmpOf("<=", 5000, "5s")),
			status: Fail, got: 7000, count: 1, say: []string{"+5.0s: 7s"},
		},
		{
			name:   "max above its bound fails whatever the samples",
			series: func(b *builder) { b.trend(5, 6, "otp_wait", nil, 7000) },
			check:  metricCheck("otp_wait", nil, "run", "max", cmpOf("<=", 5000, "5s")),
			status: Fail, got: 7000, count: 1,
		},
		{
			name:   "avg",
			series: func(b *builder) { b.trend(0, 10, "http_req_duration", nil, 100, 300) },
			check:  metricCheck("http_req_duration", nil, "run", "avg", cmpOf("<=", 150, "150ms")),
			status: Fail, got: 200, count: 10,
		},
		{
			name:   "quantile without histograms is unknown",
			series: func(b *builder) { b.pts = append(b.pts, pointNoHist(3, 50)) },
			check:  metricCheck("http_req_duration", nil, "run", "p95", cmpOf("<=", 400, "400ms")),
			status: Unknown, count: -1, say: []string{"no samples"},
		},
		{
			name:   "trend count counts samples",
			series: func(b *builder) { b.trend(0, 10, "http_req_duration", checkoutEndpoint, 1, 2, 3) },
			check:  metricCheck("http_req_duration", checkoutEndpoint, "run", "count", cmpOf(">=", 40, "40")),
			status: Fail, got: 30, count: 0,
		},
		{
			name:   "counter count passes at zero when requests were made",
			series: func(b *builder) { b.counter(0, 60, "http_reqs", nil, 20) },
			check:  metricCheck("forced_logout", nil, "fault", "count", cmpOf("<=", 0, "0")),
			status: Pass, got: 0, count: 0, say: []string{"400 samples"},
		},
		{
			name:   "counter count fails",
			series: func(b *builder) { b.counter(0, 60, "http_reqs", nil, 20).counter(20, 23, "forced_logout", nil, 2) },
			check:  metricCheck("forced_logout", nil, "fault", "count", cmpOf("<=", 1, "1")),
			status: Fail, got: 6, count: 3, say: []string{"+20.0s: 2"},
		},
		{
			name:   "counter count over its bound fails with few samples",
			series: func(b *builder) { b.counter(20, 21, "forced_logout", nil, 2) },
			check:  metricCheck("forced_logout", nil, "fault", "count", cmpOf("<=", 0, "0")),
			status: Fail, got: 2, count: 1,
		},
		{
			name:   "counter count without requests is unknown",
			series: func(b *builder) { b.counter(0, 15, "http_reqs", nil, 20) },
			check:  metricCheck("forced_logout", nil, "fault", "count", cmpOf("<=", 0, "0")),
			status: Unknown, count: -1, say: []string{"no samples"},
		},
		{
			name:   "counter count below a lower bound fails",
			series: func(b *builder) { b.counter(0, 60, "iterations", nil, 1) },
			check:  metricCheck("iterations", nil, "run", "count", cmpOf(">=", 100, "100")),
			status: Fail, got: 60, count: 0,
		},
		{
			name:   "rate count counts non-zero samples",
			series: func(b *builder) { b.rate(0, 10, "http_req_failed", nil, 10, 3) },
			check:  metricCheck("http_req_failed", nil, "run", "count", cmpOf("<=", 20, "20")),
			status: Fail, got: 30, count: 10,
		},
		{
			name:   "per_second passes",
			series: func(b *builder) { b.counter(0, 60, "http_reqs", checkoutEndpoint, 12) },
			check:  metricCheck("http_reqs", checkoutEndpoint, "recovery", "per_second", cmpOf(">=", 10, "10")),
			status: Pass, got: 12, count: 0,
		},
		{
			name: "per_second counts the seconds without the counter",
			series: func(b *builder) {
				b.counter(0, 60, "http_reqs", nil, 5).counter(35, 45, "iterations", nil, 10) // 100 over 25 s
			},
			check:  metricCheck("iterations", nil, "recovery", "per_second", cmpOf(">=", 10, "10")),
			status: Fail, got: 4, count: 0, say: []string{"+35.0s: 10"},
		},
		{
			name: "explicit window",
			series: func(b *builder) {
				b.rate(0, 10, "checks", nil, 10, 10).rate(10, 20, "checks", nil, 10, 0).rate(20, 60, "checks", nil, 10, 10)
			},
			check: func() scenario.Check {
				c := metricCheck("checks", nil, "", "rate", cmpOf(">=", 0.9, "0.9"))
				c.Window = scenario.Window{From: 5 * time.Second, To: 15 * time.Second}
				return c
			}(),
			status: Fail, got: 0.5, count: 5, say: []string{"+5.0s..+15.0s"},
		},
		{
			name: "fault window is the union of overlapping faults",
			series: func(b *builder) {
				b.rate(0, 10, "checks", nil, 10, 10).rate(10, 30, "checks", nil, 10, 0).rate(30, 60, "checks", nil, 10, 10)
			},
			tl: func(tl *Timeline) {
				tl.Faults = []scenario.Interval{{From: 10 * time.Second, To: 20 * time.Second}, {From: 15 * time.Second, To: 30 * time.Second, Index: 1}}
			},
			check:  metricCheck("checks", nil, "fault", "rate", cmpOf(">=", 0.9, "0.9")),
			status: Fail, got: 0, count: 20,
		},
		{
			name: "a second straddling the fault's start counts for neither side",
			series: func(b *builder) {
				// The load starts half a second into second 0, so second 15 runs
				// from +14.5s to +15.5s across the fault's start.
				b.rate(0, 15, "checks", nil, 10, 10).rate(15, 16, "checks", nil, 1000, 0).rate(16, 35, "checks", nil, 10, 10)
			},
			tl:     func(tl *Timeline) { tl.Start = t0.Add(500 * time.Millisecond) },
			check:  metricCheck("checks", nil, "baseline", "rate", cmpOf(">=", 0.9, "0.9")),
			status: Pass, got: 1, count: 0,
		},
		{
			name: "a gauge is unknown",
			series: func(b *builder) {
				b.pts = append(b.pts, series.Point{T: sec(1), Metric: "vus_custom", Kind: series.KindGauge, Count: 100, Max: 3})
			},
			check:  metricCheck("vus_custom", nil, "run", "max", cmpOf("<=", 5, "5")),
			status: Unknown, count: -1, say: []string{"cannot take"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b builder
			tt.series(&b)
			tl := timeline()
			if tt.tl != nil {
				tt.tl(&tl)
			}
			r := &Run{Timeline: tl, Series: b.pts}
			v := Decide(r, tt.check)
			wantVerdict(t, v, tt.status, tt.got, tt.say...)
			if tt.count >= 0 && v.Evidence.Count != tt.count {
				t.Errorf("evidence count %d, want %d: %s", v.Evidence.Count, tt.count, v)
			}
			if v.Check != tt.check.Name || v.Kind != scenario.CheckMetric {
				t.Errorf("check %q kind %q, want %q metric", v.Check, v.Kind, tt.check.Name)
			}
		})
	}
}

func pointNoHist(s int, v float64) series.Point {
	return series.Point{T: sec(s), Metric: "http_req_duration", Kind: series.KindTrend, Count: 20, Sum: 20 * v, Min: v, Max: v, P95: v}
}

func TestMetricWorstSecondOnPass(t *testing.T) {
	var b builder
	b.trend(36, 40, "http_req_duration", nil, repeat(100, 20)...).trend(41, 42, "http_req_duration", nil, repeat(300, 20)...)
	v := Decide(&Run{Timeline: timeline(), Series: b.pts}, metricCheck("http_req_duration", nil, "recovery", "p95", cmpOf("<=", 400, "400ms")))
	wantVerdict(t, v, Pass, 300)
	if v.Evidence.Worst != "+41.0s: 300ms (20 samples)" || v.Evidence.First != "" {
		t.Errorf("evidence %+v, want the worst second +41.0s and no first", v.Evidence)
	}
}

func TestAbort(t *testing.T) {
	abortCheck := func(c scenario.Check) scenario.Check { c.Abort = true; return c }
	success := abortCheck(metricCheck("journey_success", nil, "run", "rate", cmpOf(">=", 0.5, "0.5")))
	logouts := abortCheck(metricCheck("forced_logout", nil, "run", "count", cmpOf("<=", 0, "0")))
	enough := abortCheck(metricCheck("iterations", nil, "fault", "count", cmpOf(">=", 100, "100")))
	recovered := abortCheck(metricCheck("journey_success", nil, "recovery", "rate", cmpOf(">=", 0.9, "0.9")))
	tests := []struct {
		name   string
		series func(b *builder)
		checks []scenario.Check
		now    time.Duration
		failed string // the check that failed; "" none
	}{
		{
			name: "success collapsed",
			series: func(b *builder) {
				b.rate(0, 5, "journey_success", nil, 10, 9).rate(5, 10, "journey_success", nil, 10, 0)
			},
			checks: []scenario.Check{success}, now: 10 * time.Second, failed: success.Name,
		},
		{
			name:   "success fine so far",
			series: func(b *builder) { b.rate(0, 10, "journey_success", nil, 10, 9) },
			checks: []scenario.Check{success}, now: 10 * time.Second,
		},
		{
			name:   "too few samples yet",
			series: func(b *builder) { b.rate(0, 1, "journey_success", nil, 5, 0) },
			checks: []scenario.Check{success}, now: 2 * time.Second,
		},
		{
			name: "seconds after now are not judged",
			series: func(b *builder) {
				b.rate(0, 10, "journey_success", nil, 10, 9).rate(10, 20, "journey_success", nil, 100, 0)
			},
			checks: []scenario.Check{success}, now: 10 * time.Second,
		},
		{
			name:   "a check without abort is not judged live",
			series: func(b *builder) { b.rate(0, 10, "journey_success", nil, 10, 0) },
			checks: []scenario.Check{metricCheck("journey_success", nil, "run", "rate", cmpOf(">=", 0.5, "0.5"))},
			now:    10 * time.Second,
		},
		{
			name:   "a count over its bound fails at once",
			series: func(b *builder) { b.rate(0, 10, "journey_success", nil, 10, 9).counter(3, 4, "forced_logout", nil, 1) },
			checks: []scenario.Check{success, logouts}, now: 5 * time.Second, failed: logouts.Name,
		},
		{
			name:   "a count under its lower bound waits for the window's end",
			series: func(b *builder) { b.counter(0, 60, "http_reqs", nil, 20).counter(15, 20, "iterations", nil, 10) },
			checks: []scenario.Check{enough}, now: 21 * time.Second,
		},
		{
			name:   "a count under its lower bound fails when the window is over",
			series: func(b *builder) { b.counter(0, 60, "http_reqs", nil, 20).counter(15, 35, "iterations", nil, 2) },
			checks: []scenario.Check{enough}, now: 36 * time.Second, failed: enough.Name,
		},
		{
			name:   "a window that has not begun",
			series: func(b *builder) { b.rate(0, 20, "journey_success", nil, 10, 0) },
			checks: []scenario.Check{recovered}, now: 20 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b builder
			tt.series(&b)
			v, failed := Abort(tt.checks, timeline(), b.pts, tt.now)
			switch {
			case tt.failed == "" && failed:
				t.Fatalf("aborted: %s", v)
			case tt.failed != "" && !failed:
				t.Fatalf("not aborted, want %q to fail", tt.failed)
			case failed && (v.Check != tt.failed || v.Status != Fail || !v.Abort):
				t.Fatalf("aborted with %s, want %q failed", v, tt.failed)
			}
		})
	}
}
