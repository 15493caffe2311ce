package report

import (
	"time"

	"github.com/gameday/gameday/internal/scenario"
)

// Phases of a run, as the progress line names them.
const (
	PhaseBaseline = "baseline" // before the first fault
	PhaseFault    = "fault"    // a fault in place
	PhaseBetween  = "between"  // after a fault, before the next
	PhaseRecovery = "recovery" // after the last fault
	PhaseRun      = "run"      // a run without faults
)

// Phases says which phase an offset of the load falls in, from the planned
// intervals of a scenario's faults.
type Phases struct {
	intervals []scenario.Interval
}

// NewPhases returns the phases of a timeline whose faults are in place
// during intervals (scenario.Scenario.Intervals, in order of their start).
func NewPhases(intervals []scenario.Interval) Phases { return Phases{intervals: intervals} }

// At returns the phase at offset t and how many faults are in place then.
func (p Phases) At(t time.Duration) (string, int) {
	if len(p.intervals) == 0 {
		return PhaseRun, 0
	}
	first, last := p.intervals[0].From, p.intervals[0].To
	n := 0
	for _, iv := range p.intervals {
		last = max(last, iv.To)
		if iv.From <= t && t < iv.To {
			n++
		}
	}
	switch {
	case n > 0:
		return PhaseFault, n
	case t < first:
		return PhaseBaseline, 0
	case t >= last:
		return PhaseRecovery, 0
	}
	return PhaseBetween, 0
}
