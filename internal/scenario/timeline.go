package scenario

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Action is what an Event does to its fault.
type Action string

// Actions. The order of the constants is the order of events planned for the
// same instant: a link is freed before another fault takes it.
const (
	// ActionRemove takes the fault away: removes the toxic, re-enables the
	// link, turns maintenance off, starts a stopped service.
	ActionRemove Action = "remove"
	// ActionApply puts the fault in place with Attrs and Toxicity: adds the
	// toxic, disables the link, turns maintenance on, or carries out the
	// crash's action.
	ActionApply Action = "apply"
	// ActionChange updates an applied toxic to Attrs and Toxicity.
	ActionChange Action = "change"
)

func (a Action) order() int {
	switch a {
	case ActionRemove:
		return 0
	case ActionApply:
		return 1
	}
	return 2
}

// Event is one thing the engine does at a planned offset from the load's
// start.
type Event struct {
	At     time.Duration
	Action Action
	Index  int    // the fault's index in Scenario.Faults
	Fault  *Fault // the fault itself, in the scenario Events was called on
	// Attrs and Toxicity are the toxic's settings from this event on (apply
	// and change of a toxic fault; nil and 0 otherwise). Attrs is the
	// event's own copy.
	Attrs    Attrs
	Toxicity float64
}

// String renders the event for logs: "+15s apply checkout->wallet reset_peer".
func (e Event) String() string {
	return fmt.Sprintf("+%s %s #%d %s", fmtDur(e.At), e.Action, e.Index, e.Fault)
}

// Events returns the resolved timeline the engine executes, in time order:
// flapping expanded into applies and removes, steps into changes (a step
// that falls while a flapping fault is off takes effect at its next apply),
// a crash into its action (and, for a timed stop, the start that ends it).
// Events planned for the same instant come removes first, then applies,
// then changes, each in file order.
func (sc *Scenario) Events() []Event {
	var out []Event
	for i := range sc.Faults {
		f := &sc.Faults[i]
		switch f.Kind {
		case FaultToxic:
			out = append(out, toxicEvents(i, f)...)
		case FaultMaintenance:
			out = append(out,
				Event{At: f.Start, Action: ActionApply, Index: i, Fault: f},
				Event{At: f.Start + f.Duration, Action: ActionRemove, Index: i, Fault: f})
		case FaultCrash:
			out = append(out, Event{At: f.Start, Action: ActionApply, Index: i, Fault: f})
			if f.Action == CrashStop && f.Duration > 0 {
				out = append(out, Event{At: f.Start + f.Duration, Action: ActionRemove, Index: i, Fault: f})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Event) int {
		if c := cmp.Compare(a.At, b.At); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Action.order(), b.Action.order()); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
	return out
}

// toxicEvents expands one toxic fault.
func toxicEvents(i int, f *Fault) []Event {
	end := f.Start + f.Duration
	// The on-periods of the fault.
	type period struct{ from, to time.Duration }
	var on []period
	if f.Flap == nil {
		on = []period{{f.Start, end}}
	} else {
		for t := f.Start; t < end; t += f.Flap.On + f.Flap.Off {
			on = append(on, period{t, min(t+f.Flap.On, end)})
		}
	}
	// settings returns the attributes and toxicity in force at offset t.
	settings := func(t time.Duration) (Attrs, float64) {
		a, tox := maps.Clone(f.Attrs), f.Toxicity
		for _, s := range f.Steps {
			if f.Start+s.At > t {
				break
			}
			maps.Copy(a, s.Attrs)
			if s.Toxicity != nil {
				tox = *s.Toxicity
			}
		}
		return a, tox
	}
	var out []Event
	for _, p := range on {
		a, tox := settings(p.from)
		out = append(out, Event{At: p.from, Action: ActionApply, Index: i, Fault: f, Attrs: a, Toxicity: tox})
		for _, s := range f.Steps {
			at := f.Start + s.At
			if at <= p.from || at >= p.to {
				continue
			}
			a, tox := settings(at)
			out = append(out, Event{At: at, Action: ActionChange, Index: i, Fault: f, Attrs: a, Toxicity: tox})
		}
		out = append(out, Event{At: p.to, Action: ActionRemove, Index: i, Fault: f})
	}
	return out
}

// Interval is a span of the load, as offsets from its start.
type Interval struct {
	From, To time.Duration
	Index    int // the fault's index in Scenario.Faults
}

// Intervals returns the planned spans during which each fault is in place,
// in time order: one per apply..remove of Events (so a flapping fault has
// one per on-period), and an instant (From == To) for a kill or restart. A
// stop without duration lasts until the end of the load. The engine reports
// the actual intervals the same way to the judge.
func (sc *Scenario) Intervals() []Interval {
	var out []Interval
	open := map[int]time.Duration{}
	for _, e := range sc.Events() {
		switch e.Action {
		case ActionApply:
			if e.Fault.Kind == FaultCrash && e.Fault.Action != CrashStop {
				out = append(out, Interval{From: e.At, To: e.At, Index: e.Index})
				continue
			}
			open[e.Index] = e.At
		case ActionRemove:
			out = append(out, Interval{From: open[e.Index], To: e.At, Index: e.Index})
			delete(open, e.Index)
		}
	}
	for i, from := range open { // a stop that lasts until the end
		out = append(out, Interval{From: from, To: sc.Load.Duration, Index: i})
	}
	slices.SortFunc(out, func(a, b Interval) int {
		if c := cmp.Compare(a.From, b.From); c != 0 {
			return c
		}
		if c := cmp.Compare(a.To, b.To); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
	return out
}
