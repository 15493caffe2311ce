package judge

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

// offence is one offending item of an invariant or experience check.
type offence struct {
	at    time.Time // when it happened; zero when unknown
	text  string
	score float64 // larger is worse
}

// tally collects offences and turns them into a verdict.
type tally struct {
	offences []offence
}

func (t *tally) add(at time.Time, score float64, format string, args ...any) {
	t.offences = append(t.offences, offence{at: at, text: fmt.Sprintf(format, args...), score: score})
}

// verdict returns Pass when there are no offences, Fail otherwise, with
// Got the number of offences (or got, when given), the first offence by
// time (then by order of adding) and the worst by score.
func (t *tally) verdict(want string, samples int64, passReason string) Verdict {
	v := Verdict{Want: want, Got: float64(len(t.offences)), Measured: true}
	v.Evidence.Samples = samples
	v.Evidence.Count = len(t.offences)
	if len(t.offences) == 0 {
		v.Status, v.Reason = Pass, passReason
		return v
	}
	v.Status = Fail
	first := slices.MinFunc(t.offences, func(a, b offence) int {
		switch {
		case a.at.IsZero() && b.at.IsZero():
			return 0
		case a.at.IsZero():
			return 1
		case b.at.IsZero():
			return -1
		}
		return a.at.Compare(b.at)
	})
	worst := t.offences[0]
	for _, o := range t.offences[1:] {
		if o.score > worst.score {
			worst = o
		}
	}
	v.Evidence.First, v.Evidence.Worst = first.text, worst.text
	return v
}

// invariantVerdict decides an invariant check.
func invariantVerdict(r *Run, c scenario.Check) Verdict {
	switch c.Subject {
	case scenario.InvMoneyConserved:
		return moneyConserved(r)
	case scenario.InvNoNegativeBalance:
		return noNegativeBalance(r)
	case scenario.InvLedgerMatches:
		return ledgerMatches(r)
	case scenario.InvNoDoubleCharge:
		return noDoubleCharge(r)
	case scenario.InvOneOrderPerCart:
		return oneOrderPerCart(r)
	case scenario.InvFailedOrdersRefunded:
		return failedOrdersRefunded(r, c)
	case scenario.InvNoFailedWhileCharged:
		return noFailedWhileCharged(r, c)
	case scenario.InvNoStuckPending:
		return noStuckPending(r, c)
	case scenario.InvPaidOrdersCharged:
		return paidOrdersCharged(r)
	case scenario.InvNoLostSessions:
		return noLostSessions(r)
	case scenario.InvRetriesBounded:
		return retriesBounded(r)
	case scenario.InvNoCrossUserData:
		return noCrossUserData(r)
	case scenario.InvFoodOrdersOnce:
		return foodOrdersOnce(r)
	case scenario.InvChatMessagesOnce:
		return chatMessagesOnce(r)
	case scenario.InvFoodOrdersDispatched:
		return foodOrdersDispatched(r, c)
	case scenario.InvOTPLateRefused:
		return otpRefused(r, metricOTPLateEntered, metricOTPLateAccepted, "login code entered after its lifetime")
	case scenario.InvOTPReuseRefused:
		return otpRefused(r, metricOTPReuseEntered, metricOTPReuseAccepted, "accepted login code entered again")
	case scenario.InvOTPWithinLifetime:
		return otpWithinLifetime(r)
	case scenario.InvOTPUsedOnce:
		return otpUsedOnce(r)
	}
	return unknown("the judge has no invariant %q", c.Subject)
}

// Settle says how long check c needs the storefront to settle before the
// audits are read: afterLoad from the load's end, afterFaults from the last
// fault's end; 0 and 0 when it needs no wait. A check with after_faults
// judges the storefront that long after the faults ended, so it waits that
// long; failed_orders_refunded waits its refund SLA after the load, since
// the refund of an order that failed as the load ended may be due until
// then. The other checks judge what the storefront did during the load.
func (r *Run) Settle(c scenario.Check) (afterLoad, afterFaults time.Duration) {
	if c.Kind != scenario.CheckInvariant {
		return 0, 0
	}
	switch {
	case c.AfterFaults != nil:
		return 0, *c.AfterFaults
	case c.Subject == scenario.InvFailedOrdersRefunded:
		return r.refundSLA(c), 0
	}
	return 0, 0
}

// Settled returns when the storefront has had the time every one of checks
// needs to settle (Settle) after a load that ended at loadEnd, on r's
// Timeline (the faults as they were in place): the audits are to be read no
// earlier. It is loadEnd when no check needs a wait.
func (r *Run) Settled(checks []scenario.Check, loadEnd time.Time) time.Time {
	until := loadEnd
	lastEnd, _ := r.lastFaultEnd()
	for _, c := range checks {
		afterLoad, afterFaults := r.Settle(c)
		if t := loadEnd.Add(afterLoad); t.After(until) {
			until = t
		}
		if t := r.Start.Add(lastEnd + afterFaults); afterFaults > 0 && t.After(until) {
			until = t
		}
	}
	return until
}

// wantUnknown returns an Unknown verdict with want and the reason.
func wantUnknown(want, format string, args ...any) Verdict {
	v := unknown(format, args...)
	v.Want = want
	return v
}

// moneyConserved: the stored balances equal the opening balances plus
// top-ups minus charges plus refunds, and the double-entry ledger sums to 0.
// Got is the money unaccounted for: |balances − expected| + |ledger sum|.
func moneyConserved(r *Run) Verdict {
	const want = "balances = opening + top-ups − charges + refunds, ledger sums to 0"
	if err := r.Audit.Missing(env.SourceTotals); err != nil {
		return wantUnknown(want, "%s", err)
	}
	w := r.Audit.Wallet
	if w.Accounts == 0 {
		return wantUnknown(want, "the wallet has no accounts")
	}
	var t tally
	expected := w.Opening + w.Topups - w.Charges + w.Refunds
	off := w.Balances - expected
	if off != 0 {
		t.add(time.Time{}, math.Abs(float64(off)), "balances sum to %s; opening %s + top-ups %s − charges %s + refunds %s = %s (off by %s)",
			money(w.Balances), money(w.Opening), money(w.Topups), money(w.Charges), money(w.Refunds), money(expected), money(off))
	}
	if w.LedgerSum != 0 {
		t.add(time.Time{}, math.Abs(float64(w.LedgerSum)), "the ledger sums to %s, not 0", money(w.LedgerSum))
	}
	if off == 0 && w.LedgerSum == 0 && !w.Conserved {
		t.add(time.Time{}, 0, "the wallet reports its money not conserved")
	}
	v := t.verdict(want, int64(w.Accounts), fmt.Sprintf("%d accounts hold %s = opening + top-ups − charges + refunds", w.Accounts, money(w.Balances)))
	v.Got, v.Unit = math.Abs(float64(off))+math.Abs(float64(w.LedgerSum)), UnitCount
	if v.Status == Fail {
		v.Reason = fmt.Sprintf("%s unaccounted for", money(int64(v.Got)))
	}
	return v
}

// noNegativeBalance: no account below zero.
func noNegativeBalance(r *Run) Verdict {
	const want = "no account below zero"
	if err := r.Audit.Missing(env.SourceTotals); err != nil {
		return wantUnknown(want, "%s", err)
	}
	w := r.Audit.Wallet
	if w.Accounts == 0 {
		return wantUnknown(want, "the wallet has no accounts")
	}
	var t tally
	for _, a := range w.Negative {
		t.add(time.Time{}, -float64(a.Balance), "account %s at %s", a.UserID, money(a.Balance))
	}
	v := t.verdict(want, int64(w.Accounts), fmt.Sprintf("all %d accounts at or above zero", w.Accounts))
	if v.Status == Fail {
		v.Reason = fmt.Sprintf("%d of %d accounts below zero", v.Evidence.Count, w.Accounts)
	}
	return v
}

// ledgerMatches: every stored balance equals its ledger replayed.
func ledgerMatches(r *Run) Verdict {
	const want = "every balance equals its ledger replayed"
	if err := r.Audit.Missing(env.SourceTotals); err != nil {
		return wantUnknown(want, "%s", err)
	}
	w := r.Audit.Wallet
	if w.Accounts == 0 {
		return wantUnknown(want, "the wallet has no accounts")
	}
	var t tally
	for _, a := range w.LedgerMismatch {
		d := a.Balance - a.Ledger
		t.add(time.Time{}, math.Abs(float64(d)), "account %s stores %s, its ledger replays to %s (off by %s)",
			a.UserID, money(a.Balance), money(a.Ledger), money(d))
	}
	v := t.verdict(want, int64(w.Accounts), fmt.Sprintf("all %d balances equal their ledgers", w.Accounts))
	if v.Status == Fail {
		v.Reason = fmt.Sprintf("%d of %d balances differ from their ledgers", v.Evidence.Count, w.Accounts)
	}
	return v
}

// chargesByOrder groups charges by order, each group oldest first.
func chargesByOrder(cs []mockstore.ChargeRecord) map[string][]mockstore.ChargeRecord {
	out := map[string][]mockstore.ChargeRecord{}
	for _, c := range cs {
		k := c.OrderID
		if k == "" {
			k = "charge " + c.ChargeID // no order to share: never a double charge
		}
		out[k] = append(out[k], c)
	}
	for _, g := range out {
		slices.SortStableFunc(g, func(a, b mockstore.ChargeRecord) int { return a.At.Compare(b.At) })
	}
	return out
}

// noDoubleCharge: at most one charge per order and at most one refund per
// charge. Got is the number of orders that break either.
func noDoubleCharge(r *Run) Verdict {
	const want = "at most one charge per order, one refund per charge"
	if err := r.Audit.Missing(env.SourceCharges); err != nil {
		return wantUnknown(want, "%s", err)
	}
	if len(r.Audit.Charges) == 0 {
		return wantUnknown(want, "no charges were made")
	}
	var t tally
	byOrder := chargesByOrder(r.Audit.Charges)
	for _, order := range slices.Sorted(maps.Keys(byOrder)) {
		cs := byOrder[order]
		var problems []string
		var total int64
		refunds := 0
		for _, c := range cs {
			total += c.Amount
			if c.Refunds > 1 {
				problems = append(problems, fmt.Sprintf("charge %s refunded %d times", c.ChargeID, c.Refunds))
				refunds += c.Refunds - 1
			}
		}
		if len(cs) > 1 {
			problems = append([]string{fmt.Sprintf("charged %d times (%s in total)", len(cs), money(total))}, problems...)
		}
		if len(problems) == 0 {
			continue
		}
		t.add(cs[0].At, float64(len(cs)-1+refunds), "order %s %s, first at %s", order, strings.Join(problems, ", "), r.at(cs[0].At))
	}
	orders := len(byOrder)
	v := t.verdict(want, int64(len(r.Audit.Charges)), fmt.Sprintf("%d charges over %d orders, none twice", len(r.Audit.Charges), orders))
	if v.Status == Fail {
		v.Reason = fmt.Sprintf("%d of %d charged orders charged or refunded more than once", v.Evidence.Count, orders)
	}
	return v
}

// failedAt returns when o failed: its first change to failed; or, for an
// order whose status is failed with no such change recorded, its last
// change (its creation when it has none). ok is false for an order that never
// failed.
func failedAt(o mockstore.OrderRecord) (time.Time, bool) { return reachedAt(o, mockstore.OrderFailed) }

// failedOrdersRefunded: every failed order that was charged has each of its
// charges refunded exactly once, within the SLA counted from the failure.
// An order not yet refunded whose SLA had not run out when the audit was
// read cannot be decided: with no other offence the verdict is unknown.
func failedOrdersRefunded(r *Run, c scenario.Check) Verdict {
	sla := r.refundSLA(c)
	want := fmt.Sprintf("every charged failed order refunded exactly once within %s", sla)
	if err := r.Audit.Missing(env.SourceOrders, env.SourceCharges); err != nil {
		return wantUnknown(want, "%s", err)
	}
	if len(r.Audit.Orders) == 0 {
		return wantUnknown(want, "no orders were made")
	}
	byOrder := chargesByOrder(r.Audit.Charges)
	var t tally
	var judged int64
	var pending []string
orders:
	for _, o := range r.Audit.Orders {
		failed, ok := failedAt(o)
		cs := byOrder[o.OrderID]
		if !ok || len(cs) == 0 {
			continue
		}
		judged++
		for _, ch := range cs { // one offence per order: its first charge that offends
			switch {
			case ch.Refunds == 0:
				if !r.Audit.At.IsZero() && r.Audit.At.Before(failed.Add(sla)) {
					pending = append(pending, o.OrderID)
					continue
				}
				t.add(failed, math.Inf(1), "order %s failed at %s, its charge %s of %s never refunded", o.OrderID, r.at(failed), ch.ChargeID, money(ch.Amount))
				continue orders
			case ch.Refunds > 1:
				t.add(failed, float64(ch.Refunds)*1e12, "order %s failed at %s, its charge %s refunded %d times", o.OrderID, r.at(failed), ch.ChargeID, ch.Refunds)
				continue orders
			case ch.Refunded != nil && ch.Refunded.Sub(failed) > sla:
				late := ch.Refunded.Sub(failed)
				t.add(failed, late.Seconds(), "order %s failed at %s, refunded %s later (SLA %s)", o.OrderID, r.at(failed), late.Round(time.Millisecond), sla)
				continue orders
			}
		}
	}
	v := t.verdict(want, judged, fmt.Sprintf("%d charged failed orders, each refunded once within %s", judged, sla))
	if v.Status == Fail {
		v.Reason = fmt.Sprintf("%d of %d charged failed orders not refunded exactly once in time", v.Evidence.Count, judged)
		return v
	}
	if len(pending) > 0 {
		v.Status, v.Measured = Unknown, false
		v.Got = 0
		v.Reason = fmt.Sprintf("%d orders (first %s) were not refunded yet but still inside the SLA when the audit was read", len(pending), pending[0])
	}
	return v
}

// pendingSince returns when o started waiting for its payment: its first
// change to payment_pending, else its creation.
func pendingSince(o mockstore.OrderRecord) time.Time {
	for _, h := range o.History {
		if h.State == mockstore.OrderPaymentPending {
			return h.At
		}
	}
	return o.CreatedAt
}

// noFailedWhileCharged: no order was marked failed while a charge for it had
// committed, unless it had been waiting for its payment for at least the
// bound (then the reconciler gave up on it, and the refund is
// failed_orders_refunded's concern).
func noFailedWhileCharged(r *Run, c scenario.Check) Verdict {
	bound := c.Bound
	if bound <= 0 {
		bound = r.pendingBound()
	}
	want := fmt.Sprintf("no order failed while charged, unless pending for %s", bound)
	if err := r.Audit.Missing(env.SourceOrders, env.SourceCharges); err != nil {
		return wantUnknown(want, "%s", err)
	}
	if len(r.Audit.Orders) == 0 {
		return wantUnknown(want, "no orders were made")
	}
	byOrder := chargesByOrder(r.Audit.Charges)
	var t tally
	var charged int64 // orders with a charge: those that could fail while charged
	for _, o := range r.Audit.Orders {
		if len(byOrder[o.OrderID]) > 0 {
			charged++
		}
		failed, ok := failedAt(o)
		if !ok {
			continue
		}
		for _, ch := range byOrder[o.OrderID] {
			if ch.At.After(failed) {
				continue
			}
			waited := failed.Sub(pendingSince(o))
			if waited >= bound {
				continue
			}
			t.add(failed, (bound - waited).Seconds(), "order %s failed at %s after %s pending, though its charge %s of %s had committed at %s",
				o.OrderID, r.at(failed), waited.Round(time.Millisecond), ch.ChargeID, money(ch.Amount), r.at(ch.At))
			break
		}
	}
	v := t.verdict(want, charged, fmt.Sprintf("none of %d charged orders failed while its charge had committed", charged))
	if v.Status == Fail {
		v.Reason = fmt.Sprintf("%d of %d charged orders failed though they had taken the money", v.Evidence.Count, charged)
	}
	return v
}

// paidOrdersCharged: every order that was ever marked paid has a charge of
// its amount in the wallet, and an order still paid has one not refunded.
// Checkout marks an order paid only on the wallet's acknowledgement, so a
// paid order without its charge is money the wallet acknowledged and then
// lost — what a crash of the wallet must never do. Got is the number of
// paid orders that break it.
func paidOrdersCharged(r *Run) Verdict {
	const want = "every paid order holds a charge of its amount"
	if err := r.Audit.Missing(env.SourceOrders, env.SourceCharges); err != nil {
		return wantUnknown(want, "%s", err)
	}
	byOrder := chargesByOrder(r.Audit.Charges)
	var t tally
	var paidN int64
	for _, o := range r.Audit.Orders {
		paid, ok := reachedAt(o, mockstore.OrderPaid)
		if !ok {
			continue
		}
		paidN++
		var kept, refunded *mockstore.ChargeRecord
		for _, ch := range byOrder[o.OrderID] {
			if ch.Amount != o.Amount {
				continue
			}
			if ch.Refunds == 0 {
				kept = &ch
				break
			}
			refunded = &ch
		}
		switch {
		case kept == nil && refunded == nil:
			t.add(paid, 1, "order %s was marked paid at %s for %s, but the wallet holds no charge of that amount for it", o.OrderID, r.at(paid), money(o.Amount))
		case kept == nil && o.Status == mockstore.OrderPaid:
			at := paid
			if refunded.Refunded != nil {
				at = *refunded.Refunded
			}
			t.add(at, 1, "order %s is paid, but its charge %s was refunded at %s", o.OrderID, refunded.ChargeID, r.at(at))
		}
	}
	if paidN == 0 {
		return wantUnknown(want, "no order was paid")
	}
	v := t.verdict(want, paidN, fmt.Sprintf("all %d paid orders hold their charge", paidN))
	if v.Status == Fail {
		v.Reason = fmt.Sprintf("%d of %d paid orders have no charge in the wallet", v.Evidence.Count, paidN)
	}
	return v
}

// reachedAt returns when o first reached state, by its history (by its
// status, at its last change, when the history lacks it).
func reachedAt(o mockstore.OrderRecord, state string) (time.Time, bool) {
	for _, h := range o.History {
		if h.State == state {
			return h.At, true
		}
	}
	if o.Status != state {
		return time.Time{}, false
	}
	if n := len(o.History); n > 0 {
		return o.History[n-1].At, true
	}
	return o.CreatedAt, true
}

// stateAt returns o's state at t by its history (its status when it has
// none).
func stateAt(o mockstore.OrderRecord, t time.Time) string {
	if len(o.History) == 0 {
		return o.Status
	}
	state := mockstore.OrderCreated
	for _, h := range o.History {
		if h.At.After(t) {
			break
		}
		state = h.State
	}
	return state
}

// noStuckPending: no order is still created or payment_pending at the
// checkpoint, older than the bound.
//
// The checkpoint is after_faults after the last fault ended when the check
// gives after_faults, otherwise the time the audit was read (the load's end
// when that is unknown). The bound is the check's, otherwise the run's
// pending bound plus PendingGrace. With after_faults, an order created
// before the last fault ended is stuck if it is still pending at the
// checkpoint, whatever its age: after_faults is the time the storefront has
// to clear what the faults left pending. The state at the checkpoint is
// read from each order's history, so the audit may be read later; one read
// before the checkpoint is unknown.
func noStuckPending(r *Run, c scenario.Check) Verdict {
	bound := c.Bound
	if bound <= 0 {
		bound = r.pendingBound() + PendingGrace
	}
	lastEnd, faults := r.lastFaultEnd()
	var checkpoint time.Time
	var want string
	switch {
	case c.AfterFaults != nil:
		checkpoint = r.Start.Add(lastEnd + *c.AfterFaults)
		want = fmt.Sprintf("no order pending %s after the faults, none pending longer than %s", *c.AfterFaults, bound)
	case !r.Audit.At.IsZero():
		checkpoint = r.Audit.At
		want = fmt.Sprintf("no order pending longer than %s", bound)
	default:
		checkpoint = r.Start.Add(r.Duration)
		want = fmt.Sprintf("no order pending longer than %s", bound)
	}
	if err := r.Audit.Missing(env.SourceOrders); err != nil {
		return wantUnknown(want, "%s", err)
	}
	if len(r.Audit.Orders) == 0 {
		return wantUnknown(want, "no orders were made")
	}
	if !r.Audit.At.IsZero() && r.Audit.At.Before(checkpoint) {
		return wantUnknown(want, "the audit was read at %s, before the checkpoint %s", r.at(r.Audit.At), r.at(checkpoint))
	}
	faultsEnd := r.Start.Add(lastEnd)
	var t tally
	var judged int64
	for _, o := range r.Audit.Orders {
		if !o.CreatedAt.Before(checkpoint) {
			continue
		}
		judged++
		state := stateAt(o, checkpoint)
		if state != mockstore.OrderCreated && state != mockstore.OrderPaymentPending {
			continue
		}
		age := checkpoint.Sub(o.CreatedAt)
		leftByFaults := c.AfterFaults != nil && faults && o.CreatedAt.Before(faultsEnd)
		if age <= bound && !leftByFaults {
			continue
		}
		t.add(o.CreatedAt, age.Seconds(), "order %s created at %s still %s at %s (%s old)",
			o.OrderID, r.at(o.CreatedAt), state, r.at(checkpoint), age.Round(time.Millisecond))
	}
	v := t.verdict(want, judged, fmt.Sprintf("none of %d orders pending at %s", judged, r.at(checkpoint)))
	if v.Status == Fail {
		v.Reason = fmt.Sprintf("%d of %d orders stuck pending at %s", v.Evidence.Count, judged, r.at(checkpoint))
	}
	return v
}

// noLostSessions: no session rejected because the session store failed and
// no valid session answered with a logout. One lost session usually shows
// in both counts (auth rejects it, the gateway logs the shopper out), so Got
// is the larger of the two.
func noLostSessions(r *Run) Verdict {
	const want = "no session lost to a store error, no forced logout"
	if err := r.Audit.Missing(env.SourceAuth, env.SourceGateway); err != nil {
		return wantUnknown(want, "%s", err)
	}
	au, gw := r.Audit.Auth, r.Audit.Gateway
	if au.SessionsIssued == 0 {
		return wantUnknown(want, "no sessions were issued")
	}
	storeErr := au.SessionsRejected["store_error"]
	v := Verdict{Want: want, Got: float64(max(storeErr, gw.ForcedLogouts)), Measured: true}
	v.Evidence.Samples = int64(au.SessionsIssued)
	v.Evidence.Count = int(v.Got)
	if v.Got == 0 {
		v.Status, v.Reason = Pass, fmt.Sprintf("none of %d sessions lost", au.SessionsIssued)
		return v
	}
	v.Status = Fail
	v.Reason = fmt.Sprintf("%d sessions rejected because the store failed, %d forced logouts, of %d sessions", storeErr, gw.ForcedLogouts, au.SessionsIssued)
	v.Evidence.First, v.Evidence.Worst = seriesSeconds(r, metricForcedLogout, nil)
	if v.Evidence.First == "" {
		v.Evidence.First = fmt.Sprintf("auth rejected %d sessions because the store failed", storeErr)
		v.Evidence.Worst = fmt.Sprintf("the gateway logged out %d valid sessions", gw.ForcedLogouts)
	}
	return v
}

// noCrossUserData: no answer carried another user's data — neither one the
// gateway caught and withheld (a store still answered with someone else's
// data) nor one a shopper saw (the series' cross_user_data).
func noCrossUserData(r *Run) Verdict {
	const want = "no answer carrying another user's data"
	if err := r.Audit.Missing(env.SourceGateway); err != nil {
		return wantUnknown(want, "%s", err)
	}
	gw := r.Audit.Gateway
	answers := sumValues(gw.Responses)
	if answers == 0 {
		return wantUnknown(want, "the gateway answered nothing")
	}
	shown, _ := seriesTotal(r, metricCrossUser, nil)
	got := gw.CrossUserData + int(shown)
	v := Verdict{Want: want, Got: float64(got), Measured: true}
	v.Evidence.Samples, v.Evidence.Count = int64(answers), got
	if got == 0 {
		v.Status, v.Reason = Pass, fmt.Sprintf("none of %d answers", answers)
		return v
	}
	v.Status = Fail
	v.Reason = fmt.Sprintf("%d answers withheld by the gateway, %d seen by shoppers", gw.CrossUserData, int(shown))
	v.Evidence.First, v.Evidence.Worst = seriesSeconds(r, metricCrossUser, nil)
	if v.Evidence.First == "" {
		v.Evidence.First = fmt.Sprintf("the gateway withheld %d answers carrying another user's data", gw.CrossUserData)
		v.Evidence.Worst = v.Evidence.First
	}
	return v
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// seriesTotal returns the total of counter metric (with tags) over the whole
// series, and the requests the series holds.
func seriesTotal(r *Run, metric string, tags map[string]string) (total float64, reqs int64) {
	for i := range r.Series {
		p := &r.Series[i]
		if p.Metric == metricReqs {
			reqs += p.Count
		}
		if matches(p, metric, tags) {
			total += p.Sum
		}
	}
	return total, reqs
}

// seriesSeconds describes the first and the worst second in which counter
// metric (with tags) moved: "+21.0s: 3 forced_logout". Both are "" when it
// never did.
func seriesSeconds(r *Run, metric string, tags map[string]string) (first, worst string) {
	bySec := map[int64]float64{}
	for i := range r.Series {
		p := &r.Series[i]
		if matches(p, metric, tags) && p.Sum > 0 {
			bySec[p.T] += p.Sum
		}
	}
	if len(bySec) == 0 {
		return "", ""
	}
	type sec struct {
		t int64
		n float64
	}
	secs := make([]sec, 0, len(bySec))
	for t, n := range bySec {
		secs = append(secs, sec{t, n})
	}
	slices.SortFunc(secs, func(a, b sec) int { return cmp.Compare(a.t, b.t) })
	w := secs[0]
	for _, s := range secs[1:] {
		if s.n > w.n {
			w = s
		}
	}
	desc := func(s sec) string {
		return fmt.Sprintf("%s: %s %s", formatOffset(r.secondOffset(s.t)), formatValue(s.n, UnitCount), metric)
	}
	return desc(secs[0]), desc(w)
}

// money renders an amount in the smallest unit with thousands separators:
// "1,250,000", "-5,000".
func money(x int64) string {
	neg := x < 0
	u := uint64(x)
	if neg {
		u = -u
	}
	s := fmt.Sprint(u)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return b.String()
}

// RetryShare is the most retries the gateway may add to the calls it was
// asked to make, per upstream, before retries_bounded calls it a storm: a
// budget of a tenth of the calls, with room for the jitter of a short run.
const RetryShare = 0.2

// RetryWindow is the span retries_bounded judges the share over when the
// gateway's audit has its calls per second: the retry budget's own window.
// A window with fewer than RetryWindowCalls calls asked for is not judged:
// two retries of five calls are no storm.
const (
	RetryWindow      = 10 * time.Second
	RetryWindowCalls = 20
)

// retriesBounded: for each upstream, the gateway's retries are at most
// RetryShare of the calls asked for (attempts less retries) in every
// RetryWindow of the run — or over the whole run, from an audit without
// calls per second or a run too small to fill a window. A naive gateway retries every failed call at once, several
// times: a storm while the upstream struggles, which a whole run's share
// would dilute.
func retriesBounded(r *Run) Verdict {
	if err := r.Audit.Missing(env.SourceGateway); err != nil {
		return wantUnknown(fmt.Sprintf("retries at most %.0f%% of the calls to each upstream", RetryShare*100), "%s", err)
	}
	if v, ok := retriesBoundedWindows(r); ok {
		return v
	}
	want := fmt.Sprintf("retries at most %.0f%% of the calls to each upstream", RetryShare*100)
	gw := r.Audit.Gateway
	v := Verdict{Want: want, Unit: UnitRatio, Measured: true}
	var worst string
	var calls int
	for _, up := range slices.Sorted(maps.Keys(gw.UpstreamCalls)) {
		attempts, retries := gw.UpstreamCalls[up], gw.Retries[up]
		asked := attempts - retries
		calls += asked
		if asked <= 0 {
			continue
		}
		share := float64(retries) / float64(asked)
		if share > RetryShare {
			v.Evidence.Count++
		}
		if share >= v.Got {
			v.Got = share
			worst = fmt.Sprintf("%s: %d retries for %d calls (%.0f%%)", up, retries, asked, share*100)
		}
	}
	return retryVerdict(v, int64(calls), worst, "the gateway called no upstream")
}

// retriesBoundedWindows judges every window of RetryWindow, second by
// second, of each upstream's calls per second; ok is false when no window
// held RetryWindowCalls calls.
func retriesBoundedWindows(r *Run) (Verdict, bool) {
	want := fmt.Sprintf("retries at most %.0f%% of the calls to each upstream in any %s", RetryShare*100, RetryWindow)
	v := Verdict{Want: want, Unit: UnitRatio, Measured: true}
	span := int64(RetryWindow / time.Second)
	var worst string
	var calls, windows int64
	for _, up := range slices.Sorted(maps.Keys(r.Audit.Gateway.UpstreamSeconds)) {
		secs := r.Audit.Gateway.UpstreamSeconds[up]
		// The calls asked for, those the breaker refused included, as the
		// retry budget counts them; an audit without them: attempts less
		// retries.
		asked := func(s mockstore.UpstreamSecond) int { return s.Calls - s.Retries }
		if slices.ContainsFunc(secs, func(s mockstore.UpstreamSecond) bool { return s.Asked > 0 }) {
			asked = func(s mockstore.UpstreamSecond) int { return s.Asked }
		}
		for _, s := range secs {
			calls += int64(asked(s))
		}
		stormy := false
		// The windows start at each second that has calls; two pointers
		// keep the sums of [from, from+span).
		var n, retries int // calls asked for and retries in [secs[i].T, +span)
		j := 0
		for i := range secs {
			for j < len(secs) && secs[j].T < secs[i].T+span {
				n += asked(secs[j])
				retries += secs[j].Retries
				j++
			}
			if n >= RetryWindowCalls {
				windows++
				share := float64(retries) / float64(n)
				if share > RetryShare {
					stormy = true
				}
				if share > v.Got || worst == "" {
					v.Got = share
					from := time.Unix(secs[i].T, 0)
					worst = fmt.Sprintf("%s: %d retries for %d calls (%.0f%%) in %s..%s", up, retries, n, share*100,
						r.at(from), r.at(from.Add(RetryWindow)))
				}
			}
			n -= asked(secs[i])
			retries -= secs[i].Retries
		}
		if stormy {
			v.Evidence.Count++
		}
	}
	if windows == 0 {
		return Verdict{}, false
	}
	return retryVerdict(v, calls, worst, "the gateway called no upstream"), true
}

// retryVerdict finishes a retries_bounded verdict: Count is the upstreams
// that stormed, Got the worst share, worst its evidence.
func retryVerdict(v Verdict, calls int64, worst, none string) Verdict {
	v.Evidence.Samples = calls
	if calls == 0 {
		v.Status, v.Measured, v.Reason = Unknown, false, none
		return v
	}
	v.Evidence.Worst = worst
	if v.Evidence.Count > 0 {
		v.Status = Fail
		v.Evidence.First = worst
		v.Reason = fmt.Sprintf("%d upstreams retried beyond the budget; worst %s", v.Evidence.Count, worst)
		return v
	}
	v.Status, v.Reason = Pass, "worst "+worst
	return v
}
