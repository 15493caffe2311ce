package judge

import (
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/internal/series"
)

// t0 is the load's start in the tests: a whole unix second, so that series
// second T is offset T-t0 seconds.
var t0 = time.Unix(1_700_000_000, 0)

// timeline is a 60 s load with one fault from 15 s to 35 s.
func timeline() Timeline {
	return Timeline{Start: t0, Duration: 60 * time.Second, Faults: []scenario.Interval{{From: 15 * time.Second, To: 35 * time.Second}}}
}

// sec returns the unix second at offset s seconds.
func sec(s int) int64 { return t0.Unix() + int64(s) }

// at returns the wall-clock time at offset d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// builder makes synthetic series.
type builder struct{ pts []series.Point }

func tags(kv ...string) map[string]string {
	if len(kv) == 0 {
		return nil
	}
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// rate adds, for each second in [from, to), a rate point with n samples of
// which ok are non-zero.
func (b *builder) rate(from, to int, metric string, tg map[string]string, n, ok int64) *builder {
	for s := from; s < to; s++ {
		b.pts = append(b.pts, series.Point{T: sec(s), Metric: metric, Kind: series.KindRate, Tags: tg, Count: n, Sum: float64(ok), Max: 1})
	}
	return b
}

// counter adds, for each second in [from, to), a counter point of v (v
// samples of 1).
func (b *builder) counter(from, to int, metric string, tg map[string]string, v int64) *builder {
	for s := from; s < to; s++ {
		b.pts = append(b.pts, series.Point{T: sec(s), Metric: metric, Kind: series.KindCounter, Tags: tg, Count: v, Sum: float64(v), Min: 1, Max: 1})
	}
	return b
}

// trend adds, for each second in [from, to), a trend point holding values.
func (b *builder) trend(from, to int, metric string, tg map[string]string, values ...float64) *builder {
	for s := from; s < to; s++ {
		h := &series.Histogram{}
		var sum float64
		for _, v := range values {
			h.Add(v)
			sum += v
		}
		b.pts = append(b.pts, series.Point{T: sec(s), Metric: metric, Kind: series.KindTrend, Tags: tg,
			Count: int64(len(values)), Sum: sum, Min: h.Min(), Max: h.Max(),
			P50: h.Quantile(0.5), P95: h.Quantile(0.95), P99: h.Quantile(0.99), Hist: h})
	}
	return b
}

// repeat returns n copies of v.
func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// cmpOf makes a comparison as the parser would.
func cmpOf(op string, v float64, text string) scenario.Comparison {
	return scenario.Comparison{Op: op, Value: v, Text: op + " " + text}
}

// metricCheck makes a metric check with min_samples 10.
func metricCheck(metric string, tg map[string]string, window string, stat string, c scenario.Comparison) scenario.Check {
	ch := scenario.Check{Kind: scenario.CheckMetric, Subject: metric, Tags: tg, Window: scenario.Window{Name: window},
		Stat: stat, Cmp: c, MinSamples: 10}
	ch.Name = ch.Selector() + " " + stat + " " + c.Text + " in " + window
	return ch
}

// wantVerdict checks v's status and, when given, got and that the reason
// and evidence mention each of mention.
func wantVerdict(tb testing.TB, v Verdict, status Status, got float64, mention ...string) {
	tb.Helper()
	if v.Status != status {
		tb.Fatalf("status %s, want %s: %s", v.Status, status, v)
	}
	if status != Unknown && (!v.Measured || !near(v.Got, got)) {
		tb.Errorf("got %v (measured %v), want %v: %s", v.Got, v.Measured, got, v)
	}
	text := v.Reason + " | " + v.Evidence.First + " | " + v.Evidence.Worst + " | " + v.Want
	for _, m := range mention {
		if !strings.Contains(text, m) {
			tb.Errorf("verdict does not mention %q: %s", m, text)
		}
	}
}

func near(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-9 || d <= 0.02*max(abs(a), abs(b))
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
