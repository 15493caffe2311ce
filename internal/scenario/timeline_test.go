package scenario

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// eventLine renders an event compactly for comparison: "+10s apply #0 latency=100ms tox=1".
func eventLine(e Event) string {
	s := fmt.Sprintf("+%s %s #%d", fmtDur(e.At), e.Action, e.Index)
	for _, k := range slices.Sorted(maps.Keys(e.Attrs)) {
		s += fmt.Sprintf(" %s=%v", k, e.Attrs[k])
	}
	if e.Action != ActionRemove && e.Fault.Kind == FaultToxic && e.Fault.Stream != "" {
		s += fmt.Sprintf(" tox=%g", e.Toxicity)
	}
	return s
}

func TestEvents(t *testing.T) {
	tests := []struct {
		name   string
		faults string
		want   []string
	}{
		{"one toxic", `
  - {link: gateway->auth, toxic: latency, latency: 100ms, start: 10s, duration: 20s}`, []string{
			"+10s apply #0 jitter=0s latency=100ms tox=1",
			"+30s remove #0",
		}},
		{"down and maintenance", `
  - {link: gateway->auth, toxic: down, start: 5s, duration: 5s}
  - {maintenance: , start: 1s, duration: 2s}`, []string{
			"+1s apply #1",
			"+3s remove #1",
			"+5s apply #0",
			"+10s remove #0",
		}},
		{"a link freed before another fault takes it", `
  - {link: gateway->auth, toxic: down, start: 5s, duration: 5s}
  - {link: gateway->auth, toxic: down, start: 10s, duration: 5s}`, []string{
			"+5s apply #0",
			"+10s remove #0",
			"+10s apply #1",
			"+15s remove #1",
		}},
		{"steps", `
  - link: gateway->auth
    toxic: latency
    latency: 100ms
    toxicity: 0.5
    start: 10s
    duration: 30s
    steps:
      - {at: 0s, jitter: 5ms}
      - {at: 10s, latency: 500ms}
      - {at: 20s, toxicity: 1}`, []string{
			"+10s apply #0 jitter=5ms latency=100ms tox=0.5",
			"+20s change #0 jitter=5ms latency=500ms tox=0.5",
			"+30s change #0 jitter=5ms latency=500ms tox=1",
			"+40s remove #0",
		}},
		{"flap", `
  - {link: gateway->wallet, toxic: down, start: 10s, duration: 10s, flap: {on: 3s, off: 2s}}`, []string{
			"+10s apply #0",
			"+13s remove #0",
			"+15s apply #0",
			"+18s remove #0",
		}},
		{"flap cut by the end of the span", `
  - {link: gateway->wallet, toxic: down, start: 10s, duration: 7s, flap: {on: 3s, off: 2s}}`, []string{
			"+10s apply #0",
			"+13s remove #0",
			"+15s apply #0",
			"+17s remove #0",
		}},
		{"flap with steps: a step while off takes effect at the next apply", `
  - link: gateway->auth
    toxic: latency
    latency: 100ms
    start: 0s
    duration: 20s
    flap: {on: 5s, off: 5s}
    steps:
      - {at: 2s, latency: 200ms}
      - {at: 7s, latency: 300ms}
      - {at: 10s, latency: 400ms}`, []string{
			"+0s apply #0 jitter=0s latency=100ms tox=1",
			"+2s change #0 jitter=0s latency=200ms tox=1",
			"+5s remove #0",
			"+10s apply #0 jitter=0s latency=400ms tox=1",
			"+15s remove #0",
		}},
		{"crashes", `
  - {service: wallet, action: stop, at: 5s, duration: 10s}
  - {service: otp, action: kill, at: 5s}
  - {service: auth, action: stop, at: 20s}`, []string{
			"+5s apply #0",
			"+5s apply #1",
			"+15s remove #0",
			"+20s apply #2",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := parseOK(t, "t.yaml", "load: {duration: 60s}\nfaults:"+tt.faults+"\nchecks: [{invariant: money_conserved}]\n")
			var got []string
			for _, e := range sc.Events() {
				if e.Fault != &sc.Faults[e.Index] {
					t.Errorf("event %v does not point at its fault", e)
				}
				got = append(got, eventLine(e))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("events:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
		})
	}
}

func TestEventsOwnAttrs(t *testing.T) {
	sc := parseOK(t, "t.yaml", `load: {duration: 60s}
faults:
  - {link: gateway->auth, toxic: latency, latency: 100ms, start: 10s, duration: 20s, steps: [{at: 5s, latency: 1s}]}
checks: [{invariant: money_conserved}]
`)
	evs := sc.Events()
	evs[0].Attrs["latency"] = time.Hour
	if sc.Faults[0].Attrs.Duration("latency") != 100*time.Millisecond || evs[1].Attrs.Duration("latency") != time.Second {
		t.Errorf("an event's Attrs are shared: fault %v, next event %v", sc.Faults[0].Attrs, evs[1].Attrs)
	}
}

func TestIntervals(t *testing.T) {
	sc := parseOK(t, "t.yaml", `load: {duration: 60s}
faults:
  - {link: gateway->wallet, toxic: down, start: 10s, duration: 10s, flap: {on: 3s, off: 2s}}
  - {service: otp, action: kill, at: 5s}
  - {service: auth, action: stop, at: 50s}
  - {link: gateway->auth, toxic: latency, latency: 1s, start: 12s, duration: 1s}
checks: [{invariant: money_conserved}]
`)
	want := []Interval{
		{From: 5 * time.Second, To: 5 * time.Second, Index: 1},
		{From: 10 * time.Second, To: 13 * time.Second, Index: 0},
		{From: 12 * time.Second, To: 13 * time.Second, Index: 3},
		{From: 15 * time.Second, To: 18 * time.Second, Index: 0},
		{From: 50 * time.Second, To: 60 * time.Second, Index: 2},
	}
	if got := sc.Intervals(); !slices.Equal(got, want) {
		t.Errorf("Intervals:\n got %v\nwant %v", got, want)
	}
}

func TestQuick(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want func(t *testing.T, q *Scenario)
	}{
		{"short run unchanged", `load: {duration: 20s}
faults: [{link: gateway->auth, toxic: down, start: 5s, duration: 5s}]
checks: [{invariant: money_conserved}]`, func(t *testing.T, q *Scenario) {
			if q.Load.Duration != 20*time.Second || q.Faults[0].Start != 5*time.Second || q.Faults[0].Duration != 5*time.Second {
				t.Errorf("changed: load %s, fault %v", q.Load.Duration, q.Faults[0])
			}
		}},
		{"scaled by a third", `load: {duration: 60s}
faults: [{link: gateway->auth, toxic: down, start: 15s, duration: 30s}]
checks:
  - metric: http_reqs
    window: {from: 3s, to: 15s}
    count: "> 0"
  - recovery: checkout
    within: 9s
  - invariant: no_stuck_pending
    after_faults: 6s`, func(t *testing.T, q *Scenario) {
			f := q.Faults[0]
			// The baseline would compress to 5s: a recovery check keeps
			// QuickMinBaseline. within 9s would compress to 3s: it stays
			// 9s (below QuickMinRecovery), and the load goes on 3s after it.
			if q.Load.Duration != 28*time.Second || f.Start != 6*time.Second || f.Duration != 10*time.Second {
				t.Errorf("got load %s, fault from %s for %s; want 28s, 6s, 10s", q.Load.Duration, f.Start, f.Duration)
			}
			if q.Checks[1].Within != 9*time.Second {
				t.Errorf("within %s, want the file's 9s", q.Checks[1].Within)
			}
			if w := q.Checks[0].Window; w.From != time.Second || w.To != 6*time.Second {
				t.Errorf("window %v, want 1s..6s", w)
			}
			if *q.Checks[2].AfterFaults != 6*time.Second {
				t.Errorf("after_faults %s; want the file's 6s (scaled to 2s, below %s)", *q.Checks[2].AfterFaults, QuickMinSettle)
			}
		}},
		{"after_faults does not compress below the storefront's timers", `load: {duration: 60s}
faults: [{link: gateway->auth, toxic: down, start: 15s, duration: 30s}]
checks:
  - invariant: no_stuck_pending
    after_faults: 15s
  - invariant: failed_orders_refunded
  - invariant: no_stuck_pending
    name: own
    after_faults: 2s`, func(t *testing.T, q *Scenario) {
			end := q.Faults[0].End(q.Load.Duration)
			if a, b := *q.Checks[0].AfterFaults, *q.Checks[2].AfterFaults; a != QuickMinSettle || b != 2*time.Second {
				t.Errorf("after_faults %s and %s; want %s (15s scaled to 5s is less) and the file's own 2s", a, b, QuickMinSettle)
			}
			if q.Load.Duration < end+QuickMinSettle {
				t.Errorf("load %s ends before the checkpoint %s", q.Load.Duration, end+QuickMinSettle)
			}
		}},
		{"recovery bounds do not compress below the storefront's timers", `load: {duration: 60s}
faults: [{link: gateway->auth, toxic: down, start: 15s, duration: 30s}]
checks:
  - recovery: checkout
    within: 15s
  - recovery: login
    within: 4s`, func(t *testing.T, q *Scenario) {
			if a, b := q.Checks[0].Within, q.Checks[1].Within; a != QuickMinRecovery || b != 4*time.Second {
				t.Errorf("within %s and %s; want %s (15s scaled to 5s is less) and 4s (the file's own)", a, b, QuickMinRecovery)
			}
			if end := q.Faults[0].End(q.Load.Duration) + QuickMinRecovery + quickRecoveryTail; q.Load.Duration < end {
				t.Errorf("load %s ends before the recovery can be judged (%s)", q.Load.Duration, end)
			}
		}},
		{"a recovery check keeps a baseline to judge against", `load: {duration: 90s}
faults: [{link: gateway->auth, toxic: down, start: 10s, duration: 40s}]
checks:
  - recovery: checkout
    within: 10s`, func(t *testing.T, q *Scenario) {
			if f := q.Faults[0]; f.Start != QuickMinBaseline || f.Duration < 8*time.Second {
				t.Errorf("fault from %s for %s; want the baseline kept at %s, the fault about 9s", f.Start, f.Duration, QuickMinBaseline)
			}
		}},
		{"without a recovery check the baseline compresses", `load: {duration: 90s}
faults: [{link: gateway->auth, toxic: down, start: 10s, duration: 40s}]
checks: [{invariant: money_conserved}]`, func(t *testing.T, q *Scenario) {
			if f := q.Faults[0]; f.Start >= QuickMinBaseline {
				t.Errorf("fault starts at %s; want it compressed below %s", f.Start, QuickMinBaseline)
			}
		}},
		{"no phase below the minimum", `load: {duration: 10m}
faults:
  - {link: gateway->auth, toxic: latency, latency: 1s, start: 1m, duration: 2s, steps: [{at: 1s, latency: 2s}]}
  - {link: gateway->wallet, toxic: down, start: 5m, duration: 3m, flap: {on: 10s, off: 2s}}
checks: [{invariant: money_conserved}]`, func(t *testing.T, q *Scenario) {
			a, b := q.Faults[0], q.Faults[1]
			if a.Duration < 2*QuickMinPhase || a.Steps[0].At < QuickMinPhase || a.Duration-a.Steps[0].At < QuickMinPhase {
				t.Errorf("short fault squeezed below %s: %v, step at %s", QuickMinPhase, a, a.Steps[0].At)
			}
			if b.Flap.On != 5*time.Second || b.Flap.Off != QuickMinPhase {
				t.Errorf("flap %+v, want on 5s, off %s (the share of time on kept)", *b.Flap, QuickMinPhase)
			}
			if q.Load.Duration > 2*QuickTarget {
				t.Errorf("load %s, want about %s", q.Load.Duration, QuickTarget)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := parseOK(t, "t.yaml", tt.src)
			orig := sc.Clone()
			q := sc.Quick()
			if !q.Compressed || sc.Compressed {
				t.Errorf("Compressed: quick %v, original %v", q.Compressed, sc.Compressed)
			}
			compareScenario(t, sc, orig) // the original is left alone
			for i := range q.Checks {
				if q.Checks[i].Name != sc.Checks[i].Name {
					t.Errorf("check %d renamed: %q, was %q", i, q.Checks[i].Name, sc.Checks[i].Name)
				}
			}
			// The compressed timeline keeps the order of things and fits the load.
			// Flapping faults flap fewer times: leave them out.
			steady := func(evs []Event) []Event {
				return slices.DeleteFunc(evs, func(e Event) bool { return e.Fault.Flap != nil })
			}
			evs, qevs := steady(sc.Events()), steady(q.Events())
			if len(evs) != len(qevs) {
				t.Fatalf("%d events, compressed %d", len(evs), len(qevs))
			}
			for i := range evs {
				if evs[i].Action != qevs[i].Action || evs[i].Index != qevs[i].Index {
					t.Errorf("event %d: %v, compressed %v", i, evs[i], qevs[i])
				}
				if qevs[i].At > q.Load.Duration {
					t.Errorf("compressed event %v after the load (%s)", qevs[i], q.Load.Duration)
				}
			}
			tt.want(t, q)
		})
	}
}

// TestQuickBuiltins holds that every built-in, compressed, is still a valid
// scenario: its text written back from the compressed values parses.
func TestQuickBuiltins(t *testing.T) {
	for _, name := range Builtins() {
		t.Run(name, func(t *testing.T) {
			sc, err := Builtin(name)
			if err != nil {
				t.Fatal(err)
			}
			q := sc.Quick()
			if q.Load.Duration > 2*QuickTarget {
				t.Errorf("compressed load %s, want about %s", q.Load.Duration, QuickTarget)
			}
			for _, iv := range q.Intervals() {
				if iv.From > iv.To || iv.To > q.Load.Duration {
					t.Errorf("interval %v outside the load (%s)", iv, q.Load.Duration)
				}
			}
		})
	}
}
