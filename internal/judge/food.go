package judge

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

// FoodDispatchBound is how long a food order may wait for its merchant and a
// driver when a food_orders_dispatched check gives no bound: partners poll
// about twice a second, so a working storefront dispatches in a second or
// two; a Retry-After of a few seconds is allowed for.
const FoodDispatchBound = 15 * time.Second

// foodOrdersOnce: no shopper's Idempotency-Key placed two food orders. A
// retry after a lost answer must find the first order. Got is the number of
// keys that placed more than one.
func foodOrdersOnce(r *Run) Verdict {
	const want = "one food order per Idempotency-Key"
	if err := r.Audit.Missing(env.SourceFood); err != nil {
		return wantUnknown(want, "%s", err)
	}
	os := r.Audit.Food.Orders
	if len(os) == 0 {
		return wantUnknown(want, "no food orders were placed")
	}
	byKey := map[string][]mockstore.FoodOrderRecord{}
	for _, o := range os {
		k := o.UserID + " " + o.Key
		byKey[k] = append(byKey[k], o)
	}
	var t tally
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		g := byKey[k]
		if len(g) < 2 {
			continue
		}
		slices.SortStableFunc(g, func(a, b mockstore.FoodOrderRecord) int { return a.CreatedAt.Compare(b.CreatedAt) })
		t.add(g[0].CreatedAt, float64(len(g)-1), "shopper %s's key %q placed %d orders (%s first at %s, %s at %s)",
			g[0].UserID, g[0].Key, len(g), g[0].OrderID, r.at(g[0].CreatedAt), g[1].OrderID, r.at(g[1].CreatedAt))
	}
	v := t.verdict(want, int64(len(os)), fmt.Sprintf("%d food orders, each key placed once", len(os)))
	if v.Status == Fail {
		v.Reason = fmt.Sprintf("%d of %d keys placed more than one order", v.Evidence.Count, len(byKey))
	}
	return v
}

// chatMessagesOnce: no sender's Idempotency-Key stored two messages on an
// order. Got is the number of keys stored more than once.
func chatMessagesOnce(r *Run) Verdict {
	const want = "one chat message per Idempotency-Key"
	if err := r.Audit.Missing(env.SourceFood); err != nil {
		return wantUnknown(want, "%s", err)
	}
	ms := r.Audit.Food.Messages
	if len(ms) == 0 {
		return wantUnknown(want, "no chat messages were sent")
	}
	byKey := map[string][]mockstore.ChatRecord{}
	for _, m := range ms {
		k := m.OrderID + " " + m.From + " " + m.Key
		byKey[k] = append(byKey[k], m)
	}
	var t tally
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		g := byKey[k]
		if len(g) < 2 {
			continue
		}
		slices.SortStableFunc(g, func(a, b mockstore.ChatRecord) int { return a.At.Compare(b.At) })
		t.add(g[0].At, float64(len(g)-1), "message of %s on order %s with key %q stored %d times, first at %s",
			g[0].From, g[0].OrderID, g[0].Key, len(g), r.at(g[0].At))
	}
	v := t.verdict(want, int64(len(ms)), fmt.Sprintf("%d chat messages, each key stored once", len(ms)))
	if v.Status == Fail {
		v.Reason = fmt.Sprintf("%d of %d messages sent were stored more than once", v.Evidence.Count, len(byKey))
	}
	return v
}

// foodStateAt is o's state at t by its history (placed before its first
// recorded change).
func foodStateAt(o mockstore.FoodOrderRecord, t time.Time) string {
	state := mockstore.FoodPlaced
	for _, h := range o.History {
		if h.At.After(t) {
			break
		}
		state = h.State
	}
	if len(o.History) == 0 {
		state = o.Status
	}
	return state
}

// foodOrdersDispatched: no food order still waiting for its merchant to
// accept it or for a driver to take it, older than the bound, at the
// checkpoint — after_faults after the last fault ended when given (then an
// order placed before the faults ended must be dispatched by then, whatever
// its age), else when the audit was read. What the incident showed:
// merchants and drivers could not accept orders, so they waited.
func foodOrdersDispatched(r *Run, c scenario.Check) Verdict {
	bound := c.Bound
	if bound <= 0 {
		bound = FoodDispatchBound
	}
	lastEnd, faults := r.lastFaultEnd()
	var checkpoint time.Time
	want := fmt.Sprintf("no food order waiting for its merchant or a driver longer than %s", bound)
	switch {
	case c.AfterFaults != nil:
		checkpoint = r.Start.Add(lastEnd + *c.AfterFaults)
		want = fmt.Sprintf("every food order dispatched %s after the faults, none waiting longer than %s", *c.AfterFaults, bound)
	case !r.Audit.At.IsZero():
		checkpoint = r.Audit.At
	default:
		checkpoint = r.Start.Add(r.Duration)
	}
	if err := r.Audit.Missing(env.SourceFood); err != nil {
		return wantUnknown(want, "%s", err)
	}
	if len(r.Audit.Food.Orders) == 0 {
		return wantUnknown(want, "no food orders were placed")
	}
	if !r.Audit.At.IsZero() && r.Audit.At.Before(checkpoint) {
		return wantUnknown(want, "the audit was read at %s, before the checkpoint %s", r.at(r.Audit.At), r.at(checkpoint))
	}
	faultsEnd := r.Start.Add(lastEnd)
	var t tally
	var judged int64
	for _, o := range r.Audit.Food.Orders {
		if !o.CreatedAt.Before(checkpoint) {
			continue
		}
		judged++
		state := foodStateAt(o, checkpoint)
		if state == mockstore.FoodAssigned {
			continue
		}
		age := checkpoint.Sub(o.CreatedAt)
		leftByFaults := c.AfterFaults != nil && faults && o.CreatedAt.Before(faultsEnd)
		if age <= bound && !leftByFaults {
			continue
		}
		waiting := "its merchant"
		if state == mockstore.FoodAccepted {
			waiting = "a driver"
		}
		t.add(o.CreatedAt, age.Seconds(), "food order %s placed at %s still waiting for %s at %s (%s old)",
			o.OrderID, r.at(o.CreatedAt), waiting, r.at(checkpoint), age.Round(time.Millisecond))
	}
	if judged == 0 {
		return wantUnknown(want, "no food order was placed before %s", r.at(checkpoint))
	}
	v := t.verdict(want, judged, fmt.Sprintf("all %d food orders dispatched by %s", judged, r.at(checkpoint)))
	if v.Status == Fail {
		v.Reason = fmt.Sprintf("%d of %d food orders not dispatched at %s", v.Evidence.Count, judged, r.at(checkpoint))
	}
	return v
}
