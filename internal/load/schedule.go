package load

import (
	"math"
	"sort"
	"time"
)

// A schedule says when each iteration of a load is due. Its arrival rate
// is piecewise linear in time: one flat segment for a constant arrival
// rate, one segment per stage for a ramping one. The arrivals due by time
// t are the integral A(t) of the rate from time zero, and iteration i (from
// 0) is due at the first moment A reaches i with arrivals still coming
// (iteration 0 is due at time zero unless the rate starts with a pause at
// zero). Every planned time is computed from that integral alone, never by
// adding up waits, so no error builds up over a long run and nothing that
// happens during the run moves an iteration's planned time.
type schedule struct {
	segments []segment
	span     time.Duration // from time zero to the end of the last segment
	total    int64         // iterations planned: those due before span
}

// segment is one piece of a schedule with a linear rate.
type segment struct {
	start    time.Duration // offset from time zero
	length   time.Duration // more than 0
	from, to float64       // arrival rate at start and at the end, per second
	before   float64       // arrivals due before start
	after    float64       // arrivals due before the end
}

// relativeSlack absorbs the rounding of the arrival sums, so that a plan of
// exactly n arrivals (10/s for 3 s) does not plan an n+1th one just before
// its end.
const relativeSlack = 1e-12

// newSchedule returns the schedule of p, which must be valid: a constant
// rate when p has no stages, otherwise StartRate then each stage's linear
// ramp to its target.
func newSchedule(p Plan) schedule {
	var s schedule
	var due float64
	add := func(from, to float64, length time.Duration) {
		if length <= 0 {
			return // a stage of no length only sets the rate the next one starts from
		}
		g := segment{start: s.span, length: length, from: from, to: to, before: due}
		due += (from + to) / 2 * length.Seconds()
		g.after = due
		s.segments = append(s.segments, g)
		s.span += length
	}
	if len(p.Stages) == 0 {
		add(p.Rate, p.Rate, p.Duration)
	} else {
		from := p.StartRate
		for _, st := range p.Stages {
			add(from, st.Target, st.Duration)
			from = st.Target
		}
	}
	if n := math.Ceil(due - due*relativeSlack); n > 0 && n < math.MaxInt64 {
		s.total = int64(n)
	}
	return s
}

// at returns when iteration i (0 <= i < s.total) is due, as an offset from
// time zero.
func (s *schedule) at(i int64) time.Duration {
	x := float64(i)
	k := sort.Search(len(s.segments), func(j int) bool { return s.segments[j].after > x })
	if k == len(s.segments) {
		return s.span // not reached for i < s.total
	}
	g := &s.segments[k]
	return g.start + g.offset(x-g.before)
}

// offset returns how long after the segment's start x more arrivals are
// due. With the rate r(t) = from + slope·t, the arrivals by t are
// from·t + slope·t²/2; solving that for t gives
// t = 2x / (from + √(from² + 2·slope·x)), a form that holds for a flat
// segment (slope 0), for ramps up and down, and loses no precision when
// slope is small.
func (g *segment) offset(x float64) time.Duration {
	if x <= 0 {
		return 0
	}
	slope := (g.to - g.from) / g.length.Seconds()
	disc := max(g.from*g.from+2*slope*x, 0)
	den := g.from + math.Sqrt(disc)
	if den <= 0 {
		return g.length
	}
	d := time.Duration(math.Round(2 * x / den * float64(time.Second)))
	return min(max(d, 0), g.length)
}
