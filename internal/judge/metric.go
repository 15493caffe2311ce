package judge

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/internal/series"
)

// metricReqs is the counter whose samples tell that the load was observed in
// a window even when the counter a check looks at never moved.
const metricReqs = "http_reqs"

// agg accumulates the points of one metric selection: over a whole window,
// or over one second of it.
type agg struct {
	count     int64   // samples
	sum       float64 // counters: total; rates: non-zero samples; trends: sum of values
	max       float64
	hist      series.Histogram // trends: every point's histogram merged
	histCount int64            // samples of points that had a histogram
}

func (a *agg) add(p *series.Point) {
	if a.count == 0 || p.Max > a.max {
		a.max = p.Max
	}
	a.count += p.Count
	a.sum += p.Sum
	if p.Hist != nil {
		a.hist.Merge(p.Hist)
		a.histCount += int64(p.Hist.Count())
		a.max = max(a.max, p.Hist.Max())
	}
}

// stat returns the statistic of a, and false when a has nothing to compute it
// from. seconds is how many seconds a spans (for per_second).
func (a *agg) stat(kind, stat string, seconds int) (float64, bool) {
	switch stat {
	case scenario.StatCount:
		if kind == scenario.KindTrend {
			return float64(a.count), true
		}
		return a.sum, true
	case scenario.StatPerSecond:
		if seconds == 0 {
			return 0, false
		}
		return a.sum / float64(seconds), true
	case scenario.StatRate, scenario.StatAvg:
		if a.count == 0 {
			return 0, false
		}
		return a.sum / float64(a.count), true
	case scenario.StatMax:
		return a.max, a.count > 0
	case scenario.StatP50, scenario.StatP95, scenario.StatP99:
		if a.histCount == 0 {
			return 0, false
		}
		return a.hist.Quantile(quantileOf(stat)), true
	}
	return 0, false
}

func quantileOf(stat string) float64 {
	switch stat {
	case scenario.StatP50:
		return 0.50
	case scenario.StatP95:
		return 0.95
	}
	return 0.99
}

// monotone reports whether stat can only grow as samples are added.
func monotone(stat string) bool { return stat == scenario.StatCount || stat == scenario.StatMax }

// beyondReach reports whether a value of a monotone statistic already breaks
// an upper-bound comparison, so that no later sample can mend it.
func beyondReach(c scenario.Comparison, x float64) bool {
	switch c.Op {
	case "<=", "<", "==":
		return !c.Holds(x) && x > c.Value
	}
	return false
}

// upperBound reports whether larger values are worse for c.
func upperBound(c scenario.Comparison) bool { return c.Op == "<=" || c.Op == "<" }

// lowerBound reports whether smaller values are worse for c.
func lowerBound(c scenario.Comparison) bool { return c.Op == ">=" || c.Op == ">" }

// worse reports whether x is further from satisfying c than y.
func worse(c scenario.Comparison, x, y float64) bool {
	switch c.Op {
	case "<=", "<":
		return x > y
	case ">=", ">":
		return x < y
	}
	return math.Abs(x-c.Value) > math.Abs(y-c.Value)
}

// unitOf returns the unit of stat taken of the metric spec describes.
func unitOf(spec scenario.MetricSpec, stat string) string {
	switch stat {
	case scenario.StatRate:
		return UnitRatio
	case scenario.StatPerSecond:
		return UnitPerSecond
	case scenario.StatCount:
		return UnitCount
	}
	if spec.Unit == "ms" {
		return UnitMillis
	}
	return UnitCount
}

// metricVerdict decides a metric check on pts. With now nil the load is over
// and the whole window is judged. With now set (Abort), only the seconds of
// the window that ended before now are judged, and a count or max still
// below a lower bound is not failed before its window ends (it may yet
// grow); every other statistic is judged on the data so far.
func metricVerdict(c scenario.Check, tl Timeline, pts []series.Point, now *time.Duration) Verdict {
	want := c.Stat + " " + c.Cmp.String()
	win, why := resolveWindow(c.Window, tl)
	if win == nil {
		v := unknown("%s", why)
		v.Want = want
		return v
	}
	complete := true
	if now != nil {
		complete = *now >= win.end(tl)
		win = win.clip(*now)
		if len(win) == 0 {
			v := unknown("window %s has not begun", c.Window)
			v.Want = want
			return v
		}
	}
	spec, known := scenario.MetricByName(c.Subject)

	var (
		total   agg
		bySec   = map[int64]*agg{}
		seen    = map[int64]bool{} // seconds of the window with any point
		reqs    int64
		ptKind  string
		matched bool
	)
	for i := range pts {
		p := &pts[i]
		if !win.holds(tl.secondOffset(p.T)) {
			continue
		}
		seen[p.T] = true
		if p.Metric == metricReqs {
			reqs += p.Count
		}
		if !matches(p, c.Subject, c.Tags) {
			continue
		}
		matched, ptKind = true, p.Kind
		total.add(p)
		s := bySec[p.T]
		if s == nil {
			s = &agg{}
			bySec[p.T] = s
		}
		s.add(p)
	}
	kind := spec.Kind
	if !known {
		kind = ptKind
	}
	unit := unitOf(spec, c.Stat)
	v := Verdict{Want: want, Unit: unit}
	if kind == series.KindGauge || (!known && !matched) {
		v.Status, v.Reason = Unknown, fmt.Sprintf("the judge cannot take %s of metric %s", c.Stat, c.Subject)
		return v
	}

	samples := total.count
	if kind == scenario.KindCounter {
		// A counter that never moved has no points; the requests made in
		// the window tell that the load was there to move it.
		samples = max(samples, reqs)
	}
	v.Evidence.Samples = samples
	got, ok := total.stat(kind, c.Stat, len(seen))
	if !ok || (kind == scenario.KindCounter && samples == 0) {
		v.Status = Unknown
		v.Reason = fmt.Sprintf("no samples of %s in %s (%s)", c.Selector(), c.Window, win)
		if kind == scenario.KindCounter {
			v.Reason = fmt.Sprintf("no requests and no samples of %s in %s (%s)", c.Selector(), c.Window, win)
		}
		return v
	}
	v.Got, v.Measured = got, true
	metricEvidence(&v, c, kind, tl, bySec, got)

	holds := c.Cmp.Holds(got)
	where := fmt.Sprintf("%s over %d samples in %s (%s)", formatValue(got, unit), samples, c.Window, win)
	switch {
	case monotone(c.Stat) && beyondReach(c.Cmp, got):
		v.Status, v.Reason = Fail, fmt.Sprintf("%s of %s is %s", c.Stat, c.Selector(), where)
	case holds:
		v.Status, v.Reason = Pass, fmt.Sprintf("%s of %s is %s", c.Stat, c.Selector(), where)
	case !complete && monotone(c.Stat):
		v.Status = Unknown
		v.Reason = fmt.Sprintf("%s of %s is %s so far; the window is not over", c.Stat, c.Selector(), where)
	default:
		v.Status, v.Reason = Fail, fmt.Sprintf("%s of %s is %s", c.Stat, c.Selector(), where)
	}
	return v
}

// metricEvidence fills v's evidence from the window's seconds: the seconds
// whose own value breaks the comparison (for a count, the seconds that added
// to a total over its bound), the first of them, and the worst second.
func metricEvidence(v *Verdict, c scenario.Check, kind string, tl Timeline, bySec map[int64]*agg, got float64) {
	secs := make([]int64, 0, len(bySec))
	for t := range bySec {
		secs = append(secs, t)
	}
	slices.Sort(secs)
	counting := c.Stat == scenario.StatCount
	var worstT int64
	var worstV float64
	haveWorst := false
	for _, t := range secs {
		a := bySec[t]
		x, ok := a.stat(kind, c.Stat, 1)
		if !ok {
			continue
		}
		bad := !c.Cmp.Holds(x)
		if counting {
			// A second's count is a part of the total: it offends when it
			// added to a total that broke an upper bound.
			bad = upperBound(c.Cmp) && !c.Cmp.Holds(got) && x > 0
		}
		if bad {
			v.Evidence.Count++
			if v.Evidence.First == "" {
				v.Evidence.First = describeSecond(tl, t, x, v.Unit, a)
			}
		}
		if counting && !bad {
			continue
		}
		if !haveWorst || worse(c.Cmp, x, worstV) {
			worstT, worstV, haveWorst = t, x, true
		}
	}
	if haveWorst {
		v.Evidence.Worst = describeSecond(tl, worstT, worstV, v.Unit, bySec[worstT])
	}
}

// describeSecond renders one second's value: "+22.0s: 980ms (31 samples)".
func describeSecond(tl Timeline, t int64, x float64, unit string, a *agg) string {
	if unit == UnitPerSecond {
		unit = UnitCount // one second's total is its rate
	}
	return fmt.Sprintf("%s: %s (%d samples)", formatOffset(tl.secondOffset(t)), formatValue(x, unit), a.count)
}

// Abort judges the checks marked abort: true that are metric checks on the
// series received so far, now being the offset from the load's start up to
// which the series is complete. It returns the verdict of the first such
// check that has failed, and false when none has.
//
// A check is judged on the seconds of its window that ended before now, and
// fails as soon as they break its comparison with at least min_samples
// samples — except that a count or max below a lower bound is not failed
// before the window ends, since it can still grow; a count or max above an
// upper bound fails at once, whatever the samples, since it can only grow.
func Abort(checks []scenario.Check, tl Timeline, pts []series.Point, now time.Duration) (Verdict, bool) {
	for _, c := range checks {
		if !c.Abort || c.Kind != scenario.CheckMetric {
			continue
		}
		v := atLeast(metricVerdict(c, tl, pts, &now), c)
		v.Evidence.Least = int64(c.MinSamples)
		if v.Status != Fail {
			continue
		}
		v.Check, v.Kind, v.Subject, v.Abort = c.Name, c.Kind, c.Subject, true
		if v.Check == "" {
			v.Check = c.Subject
		}
		v.Reason += fmt.Sprintf(" (judged live at %s)", formatOffset(now))
		return v, true
	}
	return Verdict{}, false
}
