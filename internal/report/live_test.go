package report

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/series"
)

func trend(t int64, values ...float64) series.Point {
	h := &series.Histogram{}
	for _, v := range values {
		h.Add(v)
	}
	return series.Point{T: t, Metric: metricDuration, Kind: series.KindTrend, Count: int64(len(values)), Hist: h}
}

func TestProgress(t *testing.T) {
	start := time.Unix(1000, 0)
	phase := func(at time.Duration) (string, int) {
		if at >= 2*time.Second && at < 3*time.Second {
			return "fault", 2
		}
		if at >= 3*time.Second {
			return "recovery", 0
		}
		return "baseline", 0
	}
	var out bytes.Buffer
	p := NewProgress(&out, false, start, phase)
	p.Add(series.Point{T: 1000, Metric: metricReqs, Kind: series.KindCounter, Sum: 40, Tags: map[string]string{"endpoint": "a"}})
	p.Add(series.Point{T: 1000, Metric: metricReqs, Kind: series.KindCounter, Sum: 2, Tags: map[string]string{"endpoint": "b"}})
	p.Add(trend(1000, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200))
	p.Add(series.Point{T: 1000, Metric: metricJourneyOK, Kind: series.KindRate, Count: 4, Sum: 3})
	p.Add(series.Point{T: 1002, Metric: metricReqs, Kind: series.KindCounter, Sum: 7})
	p.Add(series.Point{T: 1002, Metric: "other", Kind: series.KindCounter, Sum: 99})
	p.Add(series.Point{T: 1000, Metric: metricReqs, Kind: series.KindCounter, Sum: 1000}) // late: dropped
	p.Add(series.Point{T: 1003, Metric: metricJourneyOK, Kind: series.KindRate, Count: 2, Sum: 2})
	p.Flush()
	got := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	want := []string{
		"   1s  baseline  no faults      42 req/s  journeys ok   75%  p95  190ms", // 10..200 ms: the 19th of 20 is 190
		"   3s  fault     2 faults        7 req/s  journeys ok     -  p95      -",
		"   4s  recovery  no faults       0 req/s  journeys ok  100%  p95      -",
	}
	if len(got) != len(want) {
		t.Fatalf("lines:\n%s", out.String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
}

func TestProgressTTY(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, true, time.Unix(0, 0), nil)
	p.Add(series.Point{T: 5, Metric: metricReqs, Sum: 1})
	p.Add(series.Point{T: 6, Metric: metricReqs, Sum: 2})
	p.Flush()
	s := out.String()
	if strings.Count(s, "\r\x1b[2K") != 2 || !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		t.Errorf("terminal output %q: want two rewrites of one line, then a newline", s)
	}
	if !strings.Contains(p.Last(), "     2 req/s") || !strings.Contains(p.Last(), "run") {
		t.Errorf("Last() = %q", p.Last())
	}
}

func TestSecondSuccess(t *testing.T) {
	if v := (Second{}).Success(); !math.IsNaN(v) {
		t.Errorf("Success of nothing = %v; want NaN", v)
	}
	if v := (Second{OK: 1, All: 4}).Success(); v != 0.25 {
		t.Errorf("Success = %v", v)
	}
	if s := (Second{Elapsed: 75 * time.Second, Phase: "run", P95: math.NaN()}).String(); !strings.HasPrefix(s, "1m15s") {
		t.Errorf("String = %q", s)
	}
}
