package load

import (
	"math"
	"strings"
	"testing"
	"time"
)

// arrivalsBy integrates the rate of plan p from time zero to off, walking
// its stages independently of schedule's segments: the cross-check of at.
func arrivalsBy(p Plan, off time.Duration) float64 {
	if len(p.Stages) == 0 {
		return p.Rate * min(off, p.Duration).Seconds()
	}
	var due float64
	var start time.Duration
	from := p.StartRate
	for _, st := range p.Stages {
		if off <= start {
			break
		}
		if st.Duration > 0 {
			t := min(off-start, st.Duration).Seconds()
			slope := (st.Target - from) / st.Duration.Seconds()
			due += from*t + slope*t*t/2
		}
		start += st.Duration
		from = st.Target
	}
	return due
}

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

func TestSchedule(t *testing.T) {
	tests := []struct {
		name  string
		plan  Plan
		total int64
		span  time.Duration
		first []time.Duration // the first planned offsets, to the millisecond
		last  time.Duration   // the last planned offset, to the millisecond
	}{
		{"constant 10/s for 1s", Plan{Rate: 10, Duration: time.Second}, 10, time.Second,
			[]time.Duration{0, ms(100), ms(200)}, ms(900)},
		{"constant 3/s for 1.5s: 4.5 due, 5 planned", Plan{Rate: 3, Duration: 1500 * time.Millisecond}, 5, 1500 * time.Millisecond,
			[]time.Duration{0, ms(333.333), ms(666.667)}, ms(1333.333)},
		{"constant 0.1/s for 10s", Plan{Rate: 0.1, Duration: 10 * time.Second}, 1, 10 * time.Second,
			[]time.Duration{0}, 0},
		{"constant 1000/s for 3s", Plan{Rate: 1000, Duration: 3 * time.Second}, 3000, 3 * time.Second,
			[]time.Duration{0, ms(1), ms(2)}, ms(2999)},
		{"ramp 0 to 20/s in 1s, hold 1s, down to 0 in 1s", Plan{Stages: []Stage{{20, time.Second}, {20, time.Second}, {0, time.Second}}}, 40, 3 * time.Second,
			[]time.Duration{0, ms(1000 * math.Sqrt(0.1)), ms(1000 * math.Sqrt(0.2))}, ms(3000 - 1000*math.Sqrt(0.1))},
		{"pause at 0, then ramp: nothing during the pause", Plan{Stages: []Stage{{0, time.Second}, {10, time.Second}}}, 5, 2 * time.Second,
			[]time.Duration{ms(1000), ms(1000 + 1000*math.Sqrt(0.2))}, ms(1000 + 1000*math.Sqrt(0.8))},
		{"a stage of no length jumps the rate", Plan{Stages: []Stage{{10, 0}, {10, time.Second}}}, 10, time.Second,
			[]time.Duration{0, ms(100)}, ms(900)},
		{"ramp down from 10/s to 0 in 2s", Plan{StartRate: 10, Stages: []Stage{{0, 2 * time.Second}}}, 10, 2 * time.Second,
			[]time.Duration{0, ms(1000 * (10 - math.Sqrt(90)) / 5)}, ms(1000 * (10 - math.Sqrt(10)) / 5)},
		{"start rate then step up", Plan{StartRate: 5, Stages: []Stage{{5, time.Second}, {50, 0}, {50, time.Second}}}, 55, 2 * time.Second,
			[]time.Duration{0, ms(200)}, ms(1980)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.plan.MaxVUs = 1
			if err := tt.plan.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			s := newSchedule(tt.plan)
			if s.total != tt.total || s.span != tt.span {
				t.Fatalf("total %d over %v, want %d over %v", s.total, s.span, tt.total, tt.span)
			}
			if n, sp := tt.plan.Iterations(), tt.plan.Span(); n != tt.total || sp != tt.span {
				t.Errorf("Iterations() %d, Span() %v, want %d, %v", n, sp, tt.total, tt.span)
			}
			near := func(got, want time.Duration) bool { return (got - want).Abs() <= time.Millisecond }
			for i, want := range tt.first {
				if got := s.at(int64(i)); !near(got, want) {
					t.Errorf("iteration %d at %v, want %v", i, got, want)
				}
			}
			if got := s.at(s.total - 1); !near(got, tt.last) {
				t.Errorf("last iteration at %v, want %v", got, tt.last)
			}
			checkScheduleInvariants(t, tt.plan, &s)
		})
	}
}

// checkScheduleInvariants checks that iteration i is due when the plan's
// integral reaches i, that offsets never go back and stay in the span, and
// that the next iteration would be due after the span.
func checkScheduleInvariants(tb testing.TB, p Plan, s *schedule) {
	tb.Helper()
	prev := time.Duration(-1)
	for i := range s.total {
		off := s.at(i)
		if off < prev || off < 0 || off > s.span {
			tb.Fatalf("iteration %d at %v after %v, span %v: want non-decreasing offsets inside the span", i, off, prev, s.span)
		}
		prev = off
		// At a nanosecond's precision, A(off) is i within what a
		// nanosecond of the fastest rate adds.
		if got := arrivalsBy(p, off); math.Abs(got-float64(i)) > 1e-6*max(1, float64(i)) {
			tb.Fatalf("iteration %d at %v: %v arrivals due by then, want %d", i, off, got, i)
		}
	}
	if due := arrivalsBy(p, s.span); float64(s.total) < due-1e-9 || float64(s.total) >= due+1 {
		tb.Errorf("%d iterations planned for %v due", s.total, due)
	}
}

// TestScheduleNoDrift checks a long, fast schedule: the millionth
// iteration of 1000/s is due at 1000 s to the nanosecond.
func TestScheduleNoDrift(t *testing.T) {
	s := newSchedule(Plan{Rate: 1000, Duration: 2000 * time.Second})
	if got, want := s.at(1_000_000), 1000*time.Second; got != want {
		t.Errorf("iteration 1e6 at %v, want %v", got, want)
	}
	s = newSchedule(Plan{Rate: 3, Duration: time.Hour})
	if got, want := s.at(3*3599+1), 3599*time.Second+333_333_333; got != want {
		t.Errorf("iteration 10798 at %v, want %v", got, want)
	}
}

// FuzzSchedule checks the schedule's invariants on random ramps.
func FuzzSchedule(f *testing.F) {
	f.Add(0.0, 20.0, 5.0, 0.0, uint16(700), uint16(300), uint16(0))
	f.Add(3.5, 0.0, 100.0, 1.0, uint16(1000), uint16(0), uint16(500))
	f.Fuzz(func(t *testing.T, start, a, b, c float64, da, db, dc uint16) {
		rate := func(r float64) float64 { return math.Mod(math.Abs(r), 500) }
		p := Plan{StartRate: rate(start), Stages: []Stage{
			{rate(a), time.Duration(da) * time.Millisecond},
			{rate(b), time.Duration(db) * time.Millisecond},
			{rate(c), time.Duration(dc) * time.Millisecond},
		}, MaxVUs: 1}
		if p.Validate() != nil {
			t.Skip()
		}
		s := newSchedule(p)
		checkScheduleInvariants(t, p, &s)
	})
}

func TestPlanValidate(t *testing.T) {
	ok := Plan{Rate: 10, Duration: time.Second, PreAllocatedVUs: 1}
	tests := []struct {
		name string
		edit func(p *Plan)
		want []string // in the error, "" for no error
	}{
		{"constant", func(*Plan) {}, nil},
		{"ramping", func(p *Plan) { *p = Plan{StartRate: 1, Stages: []Stage{{5, time.Second}}, MaxVUs: 3} }, nil},
		{"max VUs default to pre-allocated", func(p *Plan) { p.PreAllocatedVUs, p.MaxVUs = 4, 0 }, nil},
		{"negative grace means none", func(p *Plan) { p.GracefulStop = -1 }, nil},
		{"no rate", func(p *Plan) { p.Rate = 0 }, []string{"rate 0/s: want more than 0"}},
		{"negative rate", func(p *Plan) { p.Rate = -2 }, []string{"rate -2/s"}},
		{"NaN rate", func(p *Plan) { p.Rate = math.NaN() }, []string{"rate NaN/s"}},
		{"no duration", func(p *Plan) { p.Duration = 0 }, []string{"duration 0s: want more than 0"}},
		{"start rate without stages", func(p *Plan) { p.StartRate = 3 }, []string{"start rate 3/s without stages"}},
		{"rate beside stages", func(p *Plan) { p.Stages = []Stage{{1, time.Second}} }, []string{"beside stages"}},
		{"negative target", func(p *Plan) { *p = Plan{Stages: []Stage{{1, time.Second}, {-1, time.Second}}, MaxVUs: 1} }, []string{"stage 2: target -1/s"}},
		{"negative stage duration", func(p *Plan) { *p = Plan{Stages: []Stage{{1, -time.Second}, {1, 2 * time.Second}}, MaxVUs: 1} }, []string{"stage 1: duration -1s"}},
		{"stages of no length", func(p *Plan) { *p = Plan{Stages: []Stage{{1, 0}}, MaxVUs: 1} }, []string{"stages last 0s"}},
		{"no VUs", func(p *Plan) { p.PreAllocatedVUs = 0 }, []string{"no virtual users"}},
		{"max below pre-allocated", func(p *Plan) { p.PreAllocatedVUs, p.MaxVUs = 5, 2 }, []string{"2 max VUs below 5 pre-allocated"}},
		{"negative VUs", func(p *Plan) { p.PreAllocatedVUs, p.MaxVUs = -1, -1 }, []string{"-1 pre-allocated VUs", "-1 max VUs"}},
		{"negative timeout", func(p *Plan) { p.VU.Timeout = -time.Second }, []string{"request timeout -1s"}},
		{"every problem at once", func(p *Plan) { p.Rate, p.Duration, p.PreAllocatedVUs = 0, 0, 0 }, []string{"rate 0/s", "duration 0s", "no virtual users"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.edit(&p)
			err := p.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil, want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate: %q, want it to say %q", err, w)
				}
			}
			if len(p.scheduleErrors()) > 0 && (p.Span() != 0 || p.Iterations() != 0) {
				t.Errorf("Span() %v, Iterations() %d of an invalid arrival rate, want 0", p.Span(), p.Iterations())
			}
		})
	}
}
