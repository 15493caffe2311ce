package scenario

import (
	"slices"
	"time"
)

// Quick compression: a run longer than QuickTarget is compressed towards it,
// no phase below QuickMinPhase.
const (
	QuickTarget   = 20 * time.Second
	QuickMinPhase = time.Second
	// QuickMinRecovery is the shortest a recovery check's within becomes
	// (unless the file gives less): the storefront's timers and its
	// clients' do not compress — the gateway's breakers stay open 5 s before
	// they probe, shoppers wait out a Retry-After of up to 5 s spread by half
	// again, and come back in waves — so a shorter bound would judge the
	// compression, not the storefront. (6 s let recovery-herd's shoppers,
	// back from their waits, miss the bound in one quick run of 58 cells.)
	QuickMinRecovery = 10 * time.Second
	// QuickMinSettle is the shortest an after_faults becomes (unless the
	// file gives less), for the same reason: the time to clear what the
	// faults left is made of those timers.
	QuickMinSettle = QuickMinRecovery
	// QuickMinBaseline is the shortest the time before the first fault
	// becomes (unless the file gives less) in a scenario with a recovery
	// check: the check's band is the baseline's, which must hold enough
	// journeys to judge.
	QuickMinBaseline = 6 * time.Second
	// quickRecoveryTail is how long the load goes on after a recovery
	// check's within, to see the span in band (the judge's RecoverySpan).
	quickRecoveryTail = 3 * time.Second
)

// Quick returns a copy of sc with its timeline compressed for fast feedback:
// a load longer than QuickTarget is scaled down towards it. Every instant
// that matters (fault starts and ends, steps, crash times, explicit window
// bounds, the ends of recovery's within and of after_faults) is mapped so
// that the order of things is kept and no phase between two such instants
// becomes shorter than QuickMinPhase, which may leave the total somewhat
// above QuickTarget. Flapping's on and off are scaled by one factor, which
// keeps the share of time the fault is on, so that neither is below
// QuickMinPhase: a compressed fault flaps fewer times. Rates, shopper counts
// and the storefront's own service levels (sla, bound, min_samples) are not
// scaled: they describe the system, not the timeline; for the same reason a
// recovery bound is not compressed below QuickMinRecovery, an after_faults
// below QuickMinSettle, nor the baseline
// it is judged against below QuickMinBaseline, and the load is lengthened
// to judge it when it must. Check labels keep the full run's values, so a
// check has one name in both. A scenario no longer than QuickTarget comes back
// as an unchanged copy (with Compressed set).
func (sc *Scenario) Quick() *Scenario {
	out := sc.Clone()
	out.Compressed = true
	total := sc.Load.Duration
	if total <= QuickTarget {
		return out
	}
	factor := float64(QuickTarget) / float64(total)

	// The instants that matter.
	points := []time.Duration{0, total}
	var last time.Duration
	for _, f := range sc.Faults {
		end := f.End(total)
		points = append(points, f.Start, end)
		for _, s := range f.Steps {
			points = append(points, f.Start+s.At)
		}
		last = max(last, end)
	}
	for _, c := range sc.Checks {
		if c.Kind == CheckMetric && c.Window.Name == "" {
			points = append(points, c.Window.From, c.Window.To)
		}
		if c.Kind == CheckRecovery {
			points = append(points, last+c.Within)
		}
		if c.AfterFaults != nil {
			points = append(points, last+*c.AfterFaults)
		}
	}
	slices.Sort(points)
	points = slices.Compact(points)
	mapped := make([]time.Duration, len(points))
	for i := 1; i < len(points); i++ {
		mapped[i] = mapped[i-1] + scaleSpan(points[i]-points[i-1], factor)
	}
	if first, ok := sc.firstFaultStart(); ok && slices.ContainsFunc(sc.Checks, func(c Check) bool { return c.Kind == CheckRecovery }) {
		if k, found := slices.BinarySearch(points, first); found {
			if d := min(first, QuickMinBaseline) - mapped[k]; d > 0 {
				for i := k; i < len(mapped); i++ {
					mapped[i] += d
				}
			}
		}
	}
	at := func(t time.Duration) time.Duration {
		i, found := slices.BinarySearch(points, t)
		if found {
			return mapped[i]
		}
		// Not an instant that matters (cannot happen for a parsed
		// scenario): interpolate.
		if i == 0 {
			return 0
		}
		if i >= len(points) {
			return mapped[len(mapped)-1]
		}
		frac := float64(t-points[i-1]) / float64(points[i]-points[i-1])
		return mapped[i-1] + time.Duration(frac*float64(mapped[i]-mapped[i-1]))
	}

	out.Load.Duration = at(total)
	for i := range out.Faults {
		f, o := &out.Faults[i], sc.Faults[i]
		f.Start = at(o.Start)
		if o.Duration > 0 {
			f.Duration = at(o.Start+o.Duration) - f.Start
		}
		for j := range f.Steps {
			f.Steps[j].At = at(o.Start+o.Steps[j].At) - f.Start
		}
		if f.Flap != nil {
			// One factor for both keeps the share of time the fault is on.
			k := max(factor, float64(QuickMinPhase)/float64(min(o.Flap.On, o.Flap.Off)))
			f.Flap.On = scaleSpan(o.Flap.On, k)
			f.Flap.Off = scaleSpan(o.Flap.Off, k)
		}
	}
	newLast := at(last)
	for i := range out.Checks {
		c, o := &out.Checks[i], sc.Checks[i]
		if c.Kind == CheckMetric && c.Window.Name == "" {
			c.Window.From, c.Window.To = at(o.Window.From), at(o.Window.To)
		}
		if c.Kind == CheckRecovery {
			c.Within = max(at(last+o.Within)-newLast, min(o.Within, QuickMinRecovery))
			out.Load.Duration = max(out.Load.Duration, newLast+c.Within+quickRecoveryTail)
		}
		if o.AfterFaults != nil {
			d := max(at(last+*o.AfterFaults)-newLast, min(*o.AfterFaults, QuickMinSettle))
			c.AfterFaults = &d
			out.Load.Duration = max(out.Load.Duration, newLast+d)
		}
	}
	// A probe keeps its period; the runs it needs shrink with the load.
	for i := range out.Checks {
		if pr := out.Checks[i].Probe; pr != nil && pr.When == ProbeEvery && pr.Every > 0 {
			pr.MinRuns = min(pr.MinRuns, max(1, int(out.Load.Duration/pr.Every)))
		}
	}
	return out
}

// firstFaultStart returns when the first fault starts; ok is false without
// faults.
func (sc *Scenario) firstFaultStart() (time.Duration, bool) {
	if len(sc.Faults) == 0 {
		return 0, false
	}
	first := sc.Faults[0].Start
	for _, f := range sc.Faults[1:] {
		first = min(first, f.Start)
	}
	return first, true
}

// scaleSpan scales a positive span by factor, rounded to 100 ms and never
// below QuickMinPhase.
func scaleSpan(d time.Duration, factor float64) time.Duration {
	if d <= 0 {
		return 0
	}
	s := time.Duration(float64(d) * factor).Round(100 * time.Millisecond)
	return max(s, QuickMinPhase)
}
