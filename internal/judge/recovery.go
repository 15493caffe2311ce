package judge

import (
	"fmt"
	"math"
	"time"

	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/internal/series"
)

// The baseline band of a recovery check.
//
// The baseline is every second of the series wholly before the first fault:
// its success rate S is the share of the journey's journeys that succeeded
// (journey_success{journey:J}), its latency L the p95 of the journey's
// request durations (http_req_duration{journey:J}, or {endpoint:J} when no
// request carries the journey tag), both pooled over the whole baseline.
//
// A span of RecoverySpan consecutive seconds is within the band when each of
// its seconds has journeys and request durations, at least
// RecoveryMinJourneys journeys ended in it, and, pooled over the span,
//
//	success ≥ S − RecoverySuccessDrop   and
//	p95     ≤ max(RecoveryLatencyFactor × L, L + RecoveryLatencySlack).
//
// The recovery time is the offset of the first such span that starts at or
// after the last fault's end (its first second wholly after it), minus that
// end. The check passes when it is at most within; it fails when it is
// longer, or when the series goes on for within + RecoverySpan after the last
// fault without any span in the band; it is unknown when the baseline has
// fewer than RecoveryMinBaseline journeys or latency samples, or the series
// ends too soon after the last fault to tell.
const (
	RecoverySpan          = 3    // seconds in band in a row
	RecoverySuccessDrop   = 0.05 // 5 percentage points
	RecoveryLatencyFactor = 1.5  // × the baseline p95
	RecoveryLatencySlack  = 50.0 // ms over the baseline p95, for a fast baseline
	RecoveryMinJourneys   = 3    // journeys in a span for it to count
	RecoveryMinBaseline   = 20   // journeys (and latency samples) in the baseline
)

// What a recovery check reads from the series.
const (
	metricJourneyOK = "journey_success"   // rate metric, tag journey
	metricDuration  = "http_req_duration" // trend metric, ms
	tagJourney      = "journey"
	tagEndpoint     = "endpoint"
)

// journeySecond is one second of one journey.
type journeySecond struct {
	n, ok   int64 // journeys ended, succeeded
	latency series.Histogram
}

func recoveryVerdict(r *Run, c scenario.Check) Verdict {
	want := fmt.Sprintf("back within the baseline band within %s", c.Within)
	lastEnd, ok := r.lastFaultEnd()
	if !ok {
		return wantUnknown(want, "the run had no faults")
	}
	first := r.Faults[0].From
	for _, f := range r.Faults {
		first = min(first, f.From)
	}
	journey := c.Subject

	// Which tag finds the journey's requests.
	latencyTag := tagEndpoint
	for i := range r.Series {
		if matches(&r.Series[i], metricDuration, map[string]string{tagJourney: journey}) {
			latencyTag = tagJourney
			break
		}
	}
	okTags := map[string]string{tagJourney: journey}
	latTags := map[string]string{latencyTag: journey}

	secs := map[int64]*journeySecond{}
	var lastT int64 = math.MinInt64
	var base journeySecond
	for i := range r.Series {
		p := &r.Series[i]
		lastT = max(lastT, p.T)
		isOK, isLat := matches(p, metricJourneyOK, okTags), matches(p, metricDuration, latTags) && p.Hist != nil
		if !isOK && !isLat {
			continue
		}
		off := r.secondOffset(p.T)
		var into *journeySecond
		switch {
		case off+time.Second <= first:
			into = &base
		case off >= lastEnd:
			into = secs[p.T]
			if into == nil {
				into = &journeySecond{}
				secs[p.T] = into
			}
		default:
			continue
		}
		if isOK {
			into.n += p.Count
			into.ok += int64(p.Sum)
		} else {
			into.latency.Merge(p.Hist)
		}
	}
	if base.n < RecoveryMinBaseline || base.latency.Count() < RecoveryMinBaseline {
		return wantUnknown(want, "the baseline holds %d %s journeys and %d latency samples, fewer than %d",
			base.n, journey, base.latency.Count(), RecoveryMinBaseline)
	}
	baseSucc := float64(base.ok) / float64(base.n)
	baseP95 := base.latency.Quantile(0.95)
	minSucc := baseSucc - RecoverySuccessDrop
	maxP95 := math.Max(RecoveryLatencyFactor*baseP95, baseP95+RecoveryLatencySlack)
	want = fmt.Sprintf("success >= %s and p95 <= %s for %ds, within %s of the last fault's end",
		formatValue(minSucc, UnitRatio), formatMillis(maxP95), RecoverySpan, c.Within)

	// The first second wholly after the last fault.
	endAt := r.Start.Add(lastEnd)
	t0 := endAt.Unix()
	if time.Unix(t0, 0).Before(endAt) {
		t0++
	}
	v := Verdict{Want: want, Unit: UnitSeconds}
	var worst *journeySecond
	var worstT int64
	for t := t0; t <= lastT; t++ {
		s := secs[t]
		if s != nil {
			v.Evidence.Samples += s.n
		}
		if s != nil && s.n > 0 && (worst == nil || rate(s) < rate(worst)) {
			worst, worstT = s, t
		}
	}
	describe := func(t int64, s *journeySecond) string {
		if s.n == 0 {
			return formatOffset(r.secondOffset(t)) + ": no journeys"
		}
		return fmt.Sprintf("%s: success %s (%d/%d), p95 %s", formatOffset(r.secondOffset(t)),
			formatValue(rate(s), UnitRatio), s.ok, s.n, formatMillis(s.latency.Quantile(0.95)))
	}
	if worst != nil {
		v.Evidence.Worst = describe(worstT, worst)
	}

	for t := t0; t+RecoverySpan-1 <= lastT; t++ {
		var span journeySecond
		every := true // each second has journeys and latencies
		for u := t; u < t+RecoverySpan; u++ {
			s := secs[u]
			if s == nil || s.n == 0 || s.latency.Count() == 0 {
				every = false
				continue
			}
			span.n += s.n
			span.ok += s.ok
			span.latency.Merge(&s.latency)
		}
		in := every && span.n >= RecoveryMinJourneys &&
			rate(&span) >= minSucc && span.latency.Quantile(0.95) <= maxP95
		if !in {
			v.Evidence.Count++
			if v.Evidence.First == "" {
				v.Evidence.First = describe(t, &span) + fmt.Sprintf(" over %ds", RecoverySpan)
			}
			continue
		}
		took := max(r.secondOffset(t)-lastEnd, 0)
		v.Got, v.Measured = took.Seconds(), true
		if took <= c.Within {
			v.Status = Pass
		} else {
			v.Status = Fail
		}
		v.Reason = fmt.Sprintf("back in band at %s, %s after the last fault ended at %s (baseline success %s, p95 %s)",
			formatOffset(r.secondOffset(t)), took.Round(time.Millisecond), formatOffset(lastEnd),
			formatValue(baseSucc, UnitRatio), formatMillis(baseP95))
		return v
	}
	seen := time.Duration(0)
	if lastT >= t0 {
		seen = r.secondOffset(lastT) + time.Second - lastEnd
	}
	if seen >= c.Within+RecoverySpan*time.Second {
		v.Status, v.Got, v.Measured = Fail, seen.Seconds(), true
		v.Reason = fmt.Sprintf("not back in band in the %s the series lasts after the last fault ended at %s (baseline success %s, p95 %s)",
			seen.Round(time.Millisecond), formatOffset(lastEnd), formatValue(baseSucc, UnitRatio), formatMillis(baseP95))
		return v
	}
	v.Status = Unknown
	v.Reason = fmt.Sprintf("the series ends %s after the last fault, too soon to see a recovery within %s", seen.Round(time.Millisecond), c.Within)
	return v
}

// rate returns the success rate of s (0 when no journey ended).
func rate(s *journeySecond) float64 {
	if s.n == 0 {
		return 0
	}
	return float64(s.ok) / float64(s.n)
}
