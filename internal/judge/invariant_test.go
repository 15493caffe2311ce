package judge

import (
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

// totals returns wallet totals of 10 accounts that conserve money.
func totals() *mockstore.WalletTotals {
	return &mockstore.WalletTotals{Accounts: 10, Opening: 5_000_000, Topups: 100_000, Charges: 400_000, Refunds: 50_000,
		Balances: 4_750_000, LedgerSum: 0, Conserved: true}
}

// order makes an order created at offset created whose history is the
// given (state, offset) pairs after "created".
func order(id string, created time.Duration, history ...any) mockstore.OrderRecord {
	o := mockstore.OrderRecord{OrderID: id, UserID: "u00001", Amount: 50_000, CreatedAt: at(created), Status: mockstore.OrderCreated,
		History: []mockstore.StateChange{{State: mockstore.OrderCreated, At: at(created)}}}
	for i := 0; i+1 < len(history); i += 2 {
		st := history[i].(string)
		o.History = append(o.History, mockstore.StateChange{State: st, At: at(history[i+1].(time.Duration))})
		o.Status = st
	}
	return o
}

// charge makes a charge of order at offset when, refunded n times, the last
// at offset refunded (ignored when n is 0).
func charge(id, orderID string, when time.Duration, n int, refunded time.Duration) mockstore.ChargeRecord {
	c := mockstore.ChargeRecord{ChargeID: id, Key: "k-" + id, OrderID: orderID, UserID: "u00001", Amount: 50_000, At: at(when), Refunds: n}
	if n > 0 {
		r := at(refunded)
		c.Refunded = &r
	}
	return c
}

// invariant is the check of the invariant name, held to its catalogue
// least as the parser holds it.
func invariant(name string) scenario.Check {
	least, _ := scenario.Least(scenario.CheckInvariant, name)
	return scenario.Check{Kind: scenario.CheckInvariant, Subject: name, Name: name, MinSamples: least}
}

// withLeast is c held to the least n instead of its catalogue's.
func withLeast(c scenario.Check, n int) scenario.Check {
	c.MinSamples = n
	return c
}

const s = time.Second

func TestInvariants(t *testing.T) {
	afterFaults := func(d time.Duration) *time.Duration { return &d }
	withSLA := func(c scenario.Check, sla time.Duration) scenario.Check { c.SLA = sla; return c }
	withBound := func(c scenario.Check, b time.Duration) scenario.Check { c.Bound = b; return c }
	withAfter := func(c scenario.Check, d time.Duration) scenario.Check { c.AfterFaults = afterFaults(d); return c }
	audited := at(100 * s) // the audit is read well after the load

	tests := []struct {
		name   string
		check  scenario.Check
		audit  func(a *env.Audit)
		series func(b *builder)
		status Status
		got    float64
		say    []string
	}{
		// money_conserved
		{name: "money conserved", check: invariant(scenario.InvMoneyConserved),
			audit: func(a *env.Audit) { a.Wallet = totals() }, status: Pass, got: 0},
		{name: "money created", check: invariant(scenario.InvMoneyConserved),
			audit:  func(a *env.Audit) { a.Wallet = totals(); a.Wallet.Balances += 50_000; a.Wallet.Conserved = false },
			status: Fail, got: 50_000, say: []string{"off by 50,000", "50,000 unaccounted"}},
		{name: "ledger does not sum to zero", check: invariant(scenario.InvMoneyConserved),
			audit:  func(a *env.Audit) { a.Wallet = totals(); a.Wallet.LedgerSum = -700; a.Wallet.Conserved = false },
			status: Fail, got: 700, say: []string{"ledger sums to -700"}},
		{name: "wallet says not conserved", check: invariant(scenario.InvMoneyConserved),
			audit:  func(a *env.Audit) { a.Wallet = totals(); a.Wallet.Conserved = false },
			status: Fail, got: 0, say: []string{"reports its money not conserved"}},
		{name: "money: totals not read", check: invariant(scenario.InvMoneyConserved),
			audit:  func(a *env.Audit) { a.Unread = map[string]string{env.SourceTotals: "connection refused"} },
			status: Unknown, say: []string{"connection refused"}},
		{name: "money: no accounts", check: invariant(scenario.InvMoneyConserved),
			audit:  func(a *env.Audit) { a.Wallet = &mockstore.WalletTotals{Conserved: true} },
			status: Unknown, say: []string{"no accounts"}},

		// no_negative_balance
		{name: "no negative balance", check: invariant(scenario.InvNoNegativeBalance),
			audit: func(a *env.Audit) { a.Wallet = totals() }, status: Pass, got: 0},
		{name: "negative balances", check: invariant(scenario.InvNoNegativeBalance),
			audit: func(a *env.Audit) {
				a.Wallet = totals()
				a.Wallet.Negative = []mockstore.AccountCheck{{UserID: "u00003", Balance: -100}, {UserID: "u00007", Balance: -90_000}}
			},
			status: Fail, got: 2, say: []string{"account u00003 at -100", "account u00007 at -90,000", "2 of 10"}},
		{name: "negative: wallet not read", check: invariant(scenario.InvNoNegativeBalance),
			audit: func(a *env.Audit) {}, status: Unknown, say: []string{"not read"}},

		// ledger_matches
		{name: "ledger matches", check: invariant(scenario.InvLedgerMatches),
			audit: func(a *env.Audit) { a.Wallet = totals() }, status: Pass, got: 0},
		{name: "ledger mismatch", check: invariant(scenario.InvLedgerMatches),
			audit: func(a *env.Audit) {
				a.Wallet = totals()
				a.Wallet.LedgerMismatch = []mockstore.AccountCheck{{UserID: "u00002", Balance: 500_000, Ledger: 450_000}, {UserID: "u00004", Balance: 10, Ledger: 0}}
			},
			status: Fail, got: 2, say: []string{"u00002 stores 500,000, its ledger replays to 450,000 (off by 50,000)"}},
		{name: "ledger: no accounts", check: invariant(scenario.InvLedgerMatches),
			audit: func(a *env.Audit) { a.Wallet = &mockstore.WalletTotals{} }, status: Unknown, say: []string{"no accounts"}},

		// no_double_charge
		{name: "one charge per order", check: invariant(scenario.InvNoDoubleCharge),
			audit: func(a *env.Audit) {
				a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 5*s, 0, 0), charge("c2", "o2", 6*s, 1, 9*s)}
			},
			status: Pass, got: 0},
		{name: "order charged twice", check: invariant(scenario.InvNoDoubleCharge),
			audit: func(a *env.Audit) {
				a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 5*s, 0, 0), charge("c2", "o2", 16*s, 0, 0),
					charge("c3", "o2", 17*s, 0, 0), charge("c4", "o3", 20*s, 0, 0), charge("c5", "o3", 21*s, 0, 0), charge("c6", "o3", 22*s, 0, 0)}
			},
			status: Fail, got: 2, say: []string{"order o2 charged 2 times (100,000 in total), first at +16.0s", "order o3 charged 3 times"}},
		{name: "charge refunded twice", check: invariant(scenario.InvNoDoubleCharge),
			audit:  func(a *env.Audit) { a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 5*s, 2, 8*s)} },
			status: Fail, got: 1, say: []string{"charge c1 refunded 2 times"}},
		{name: "double charge: no charges", check: invariant(scenario.InvNoDoubleCharge),
			audit: func(a *env.Audit) {}, status: Unknown, say: []string{"no charges"}},
		{name: "double charge: charges not read", check: invariant(scenario.InvNoDoubleCharge),
			audit: func(a *env.Audit) { a.Unread = map[string]string{env.SourceCharges: "status 500"} }, status: Unknown, say: []string{"status 500"}},

		// failed_orders_refunded
		{name: "failed charged order refunded in time", check: invariant(scenario.InvFailedOrdersRefunded),
			audit: func(a *env.Audit) {
				a.Orders = []mockstore.OrderRecord{
					order("o1", 16*s, mockstore.OrderPaymentPending, 16*s, mockstore.OrderFailed, 20*s, mockstore.OrderRefunded, 25*s),
					order("o2", 17*s, mockstore.OrderPaymentPending, 17*s, mockstore.OrderPaid, 18*s),
					order("o3", 18*s, mockstore.OrderPaymentPending, 18*s, mockstore.OrderFailed, 19*s), // never charged
				}
				a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 16*s, 1, 25*s), charge("c2", "o2", 18*s, 0, 0)}
			},
			status: Pass, got: 0, say: []string{"1 charged failed orders"}},
		{name: "failed charged order never refunded", check: invariant(scenario.InvFailedOrdersRefunded),
			audit: func(a *env.Audit) {
				a.Orders = []mockstore.OrderRecord{order("o1", 16*s, mockstore.OrderPaymentPending, 16*s, mockstore.OrderFailed, 20*s)}
				a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 16*s, 0, 0)}
			},
			status: Fail, got: 1, say: []string{"order o1 failed at +20.0s, its charge c1 of 50,000 never refunded"}},
		{name: "failed charged order refunded late", check: withSLA(invariant(scenario.InvFailedOrdersRefunded), 5*s),
			audit: func(a *env.Audit) {
				a.Orders = []mockstore.OrderRecord{order("o1", 16*s, mockstore.OrderPaymentPending, 16*s, mockstore.OrderFailed, 20*s, mockstore.OrderRefunded, 32*s)}
				a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 16*s, 1, 32*s)}
			},
			status: Fail, got: 1, say: []string{"refunded 12s later (SLA 5s)"}},
		{name: "refund late by the run's SLA", check: invariant(scenario.InvFailedOrdersRefunded),
			audit: func(a *env.Audit) {
				a.Orders = []mockstore.OrderRecord{order("o1", 16*s, mockstore.OrderFailed, 20*s)}
				a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 16*s, 1, 32*s)}
			},
			status: Fail, got: 1, say: []string{"(SLA 10s)"}},
		{name: "failed charged order refunded twice", check: invariant(scenario.InvFailedOrdersRefunded),
			audit: func(a *env.Audit) {
				a.Orders = []mockstore.OrderRecord{order("o1", 16*s, mockstore.OrderFailed, 20*s)}
				a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 16*s, 2, 22*s)}
			},
			status: Fail, got: 1, say: []string{"refunded 2 times"}},
		{name: "an order with two unrefunded charges offends once", check: invariant(scenario.InvFailedOrdersRefunded),
			audit: func(a *env.Audit) {
				a.Orders = []mockstore.OrderRecord{order("o1", 16*s, mockstore.OrderFailed, 20*s), order("o2", 16*s, mockstore.OrderFailed, 20*s)}
				a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 16*s, 0, 0), charge("c2", "o1", 17*s, 0, 0), charge("c3", "o2", 17*s, 1, 21*s)}
			},
			status: Fail, got: 1, say: []string{"1 of 2 charged failed orders"}},
		{name: "refund still inside the SLA at the audit", check: invariant(scenario.InvFailedOrdersRefunded),
			audit: func(a *env.Audit) {
				a.At = at(61 * s)
				a.Orders = []mockstore.OrderRecord{order("o1", 58*s, mockstore.OrderFailed, 59*s)}
				a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 58*s, 0, 0)}
			},
			status: Unknown, say: []string{"inside the SLA", "o1"}},
		{name: "refunded: no orders", check: invariant(scenario.InvFailedOrdersRefunded),
			audit: func(a *env.Audit) {}, status: Unknown, say: []string{"no orders"}},
		{name: "refunded: orders not read", check: invariant(scenario.InvFailedOrdersRefunded),
			audit: func(a *env.Audit) { a.Unread = map[string]string{env.SourceOrders: "timeout"} }, status: Unknown, say: []string{"the checkout's audit was not served: GET /audit/orders: timeout"}},

		// no_failed_while_charged
		{name: "failed orders had no charge", check: invariant(scenario.InvNoFailedWhileCharged),
			audit: func(a *env.Audit) {
				a.Orders = []mockstore.OrderRecord{
					order("o1", 16*s, mockstore.OrderPaymentPending, 16*s, mockstore.OrderFailed, 17*s),
					order("o2", 16*s, mockstore.OrderPaymentPending, 16*s, mockstore.OrderFailed, 47*s), // gave up after the bound
				}
				a.Charges = []mockstore.ChargeRecord{charge("c2", "o2", 16*s, 1, 50*s)}
			},
			status: Pass, got: 0},
		{name: "failed while its charge had committed", check: invariant(scenario.InvNoFailedWhileCharged),
			audit: func(a *env.Audit) {
				a.Orders = []mockstore.OrderRecord{order("o1", 16*s, mockstore.OrderPaymentPending, 16*s, mockstore.OrderFailed, 18*s)}
				a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 17*s, 1, 20*s)}
			},
			status: Fail, got: 1, say: []string{"order o1 failed at +18.0s after 2s pending, though its charge c1 of 50,000 had committed at +17.0s"}},
		{name: "failed while charged, shorter bound given", check: withBound(invariant(scenario.InvNoFailedWhileCharged), time.Second),
			audit: func(a *env.Audit) {
				a.Orders = []mockstore.OrderRecord{order("o1", 16*s, mockstore.OrderPaymentPending, 16*s, mockstore.OrderFailed, 18*s)}
				a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 17*s, 1, 20*s)}
			},
			status: Pass, got: 0},
		{name: "failed while charged: no orders", check: invariant(scenario.InvNoFailedWhileCharged),
			audit: func(a *env.Audit) {}, status: Unknown, say: []string{"no orders"}},

		// paid_orders_charged
		{name: "paid orders hold their charges", check: invariant(scenario.InvPaidOrdersCharged),
			audit: func(a *env.Audit) {
				a.Orders = []mockstore.OrderRecord{
					order("o1", 10*s, mockstore.OrderPaymentPending, 10*s, mockstore.OrderPaid, 11*s),
					order("o2", 12*s, mockstore.OrderPaymentPending, 12*s, mockstore.OrderPaid, 13*s, mockstore.OrderRefunded, 20*s),
					order("o3", 14*s, mockstore.OrderPaymentPending, 14*s, mockstore.OrderFailed, 15*s), // never paid: nothing to hold
				}
				a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 11*s, 0, 0), charge("c2", "o2", 13*s, 1, 20*s)}
			},
			status: Pass, got: 0, say: []string{"all 2 paid orders hold their charge"}},
		{name: "paid order whose charge the wallet lost", check: invariant(scenario.InvPaidOrdersCharged),
			audit: func(a *env.Audit) {
				a.Orders = []mockstore.OrderRecord{
					order("o1", 10*s, mockstore.OrderPaymentPending, 10*s, mockstore.OrderPaid, 11*s),
					order("o2", 30*s, mockstore.OrderPaymentPending, 30*s, mockstore.OrderPaid, 31*s),
				}
				a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 11*s, 0, 0)}
			},
			status: Fail, got: 1, say: []string{"1 of 2 paid orders", "order o2 was marked paid at +31.0s for 50,000, but the wallet holds no charge of that amount for it"}},
		{name: "paid order charged another amount", check: invariant(scenario.InvPaidOrdersCharged),
			audit: func(a *env.Audit) {
				a.Orders = []mockstore.OrderRecord{order("o1", 10*s, mockstore.OrderPaymentPending, 10*s, mockstore.OrderPaid, 11*s)}
				c := charge("c1", "o1", 11*s, 0, 0)
				c.Amount = 5_000
				a.Charges = []mockstore.ChargeRecord{c}
			},
			status: Fail, got: 1},
		{name: "order still paid with its charge refunded", check: invariant(scenario.InvPaidOrdersCharged),
			audit: func(a *env.Audit) {
				a.Orders = []mockstore.OrderRecord{order("o1", 10*s, mockstore.OrderPaymentPending, 10*s, mockstore.OrderPaid, 11*s)}
				a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 11*s, 1, 25*s)}
			},
			status: Fail, got: 1, say: []string{"order o1 is paid, but its charge c1 was refunded at +25.0s"}},
		{name: "paid orders: none paid", check: invariant(scenario.InvPaidOrdersCharged),
			audit: func(a *env.Audit) {
				a.Orders = []mockstore.OrderRecord{order("o1", 10*s, mockstore.OrderPaymentPending, 10*s, mockstore.OrderFailed, 11*s)}
			},
			status: Unknown, say: []string{"no order was paid"}},

		// no_stuck_pending
		{name: "nothing stuck", check: withAfter(invariant(scenario.InvNoStuckPending), 20*s),
			audit: func(a *env.Audit) {
				a.At = audited
				a.Orders = []mockstore.OrderRecord{
					order("o1", 16*s, mockstore.OrderPaymentPending, 16*s, mockstore.OrderPaid, 40*s),
					order("o2", 54*s, mockstore.OrderPaymentPending, 54*s), // fresh at the checkpoint 55s
					order("o3", 56*s, mockstore.OrderPaymentPending, 56*s), // after the checkpoint
				}
			},
			status: Pass, got: 0, say: []string{"none of 2 orders pending at +55.0s"}},
		{name: "left pending by the faults", check: withAfter(invariant(scenario.InvNoStuckPending), 20*s),
			audit: func(a *env.Audit) {
				a.At = audited
				a.Orders = []mockstore.OrderRecord{
					order("o1", 30*s, mockstore.OrderPaymentPending, 30*s, mockstore.OrderPaid, 56*s), // resolved too late
					order("o2", 20*s, mockstore.OrderPaymentPending, 20*s),                            // never resolved
				}
			},
			status: Fail, got: 2, say: []string{"order o2 created at +20.0s still payment_pending at +55.0s (35s old)"}},
		{name: "pending longer than the bound", check: withBound(invariant(scenario.InvNoStuckPending), 10*s),
			audit: func(a *env.Audit) {
				a.At = at(70 * s)
				a.Orders = []mockstore.OrderRecord{
					order("o1", 50*s, mockstore.OrderPaymentPending, 50*s),
					order("o2", 65*s, mockstore.OrderPaymentPending, 65*s),
					order("o3", 40*s),
				}
			},
			status: Fail, got: 2, say: []string{"order o3 created at +40.0s still created at +70.0s (30s old)"}},
		{name: "pending within the run's bound and grace", check: invariant(scenario.InvNoStuckPending),
			audit: func(a *env.Audit) {
				a.At = at(70 * s)
				a.Orders = []mockstore.OrderRecord{order("o1", 36*s, mockstore.OrderPaymentPending, 36*s)}
			},
			status: Pass, got: 0},
		{name: "audit read before the checkpoint", check: withAfter(invariant(scenario.InvNoStuckPending), 20*s),
			audit: func(a *env.Audit) {
				a.At = at(50 * s)
				a.Orders = []mockstore.OrderRecord{order("o1", 16*s, mockstore.OrderPaid, 17*s)}
			},
			status: Unknown, say: []string{"before the checkpoint"}},
		{name: "stuck: no orders", check: invariant(scenario.InvNoStuckPending),
			audit: func(a *env.Audit) { a.At = audited }, status: Unknown, say: []string{"no orders"}},

		// no_lost_sessions
		{name: "no session lost", check: invariant(scenario.InvNoLostSessions),
			audit: func(a *env.Audit) {
				a.Auth = &mockstore.AuthAudit{SessionsIssued: 300, SessionsRejected: map[string]int{"store_error": 0, "expired": 4}}
				a.Gateway = &mockstore.GatewayAudit{}
			},
			status: Pass, got: 0},
		{name: "sessions lost to store errors", check: invariant(scenario.InvNoLostSessions),
			audit: func(a *env.Audit) {
				a.Auth = &mockstore.AuthAudit{SessionsIssued: 300, SessionsRejected: map[string]int{"store_error": 12}}
				a.Gateway = &mockstore.GatewayAudit{ForcedLogouts: 9}
			},
			series: func(b *builder) { b.counter(21, 22, "forced_logout", nil, 3).counter(24, 25, "forced_logout", nil, 6) },
			status: Fail, got: 12, say: []string{"12 sessions rejected", "9 forced logouts", "+21.0s: 3 forced_logout", "+24.0s: 6"}},
		{name: "forced logouts alone", check: invariant(scenario.InvNoLostSessions),
			audit: func(a *env.Audit) {
				a.Auth = &mockstore.AuthAudit{SessionsIssued: 300}
				a.Gateway = &mockstore.GatewayAudit{ForcedLogouts: 2}
			},
			status: Fail, got: 2},
		{name: "sessions: none issued", check: invariant(scenario.InvNoLostSessions),
			audit:  func(a *env.Audit) { a.Auth = &mockstore.AuthAudit{}; a.Gateway = &mockstore.GatewayAudit{} },
			status: Unknown, say: []string{"no sessions"}},
		{name: "sessions: gateway not read", check: invariant(scenario.InvNoLostSessions),
			audit:  func(a *env.Audit) { a.Auth = &mockstore.AuthAudit{SessionsIssued: 3} },
			status: Unknown, say: []string{"gateway"}},

		// no_cross_user_data
		{name: "no cross-user data", check: invariant(scenario.InvNoCrossUserData),
			audit:  func(a *env.Audit) { a.Gateway = &mockstore.GatewayAudit{Responses: map[string]int{"200": 900}} },
			status: Pass, got: 0},
		{name: "cross-user data withheld by the gateway", check: invariant(scenario.InvNoCrossUserData),
			audit: func(a *env.Audit) {
				a.Gateway = &mockstore.GatewayAudit{Responses: map[string]int{"200": 900}, CrossUserData: 2}
			},
			status: Fail, got: 2, say: []string{"2 answers withheld"}},
		{name: "cross-user data seen by shoppers", check: invariant(scenario.InvNoCrossUserData),
			audit:  func(a *env.Audit) { a.Gateway = &mockstore.GatewayAudit{Responses: map[string]int{"200": 900}} },
			series: func(b *builder) { b.counter(30, 31, "cross_user_data", nil, 1) },
			status: Fail, got: 1, say: []string{"1 seen by shoppers", "+30.0s: 1 cross_user_data"}},
		{name: "cross-user: nothing answered", check: invariant(scenario.InvNoCrossUserData),
			audit: func(a *env.Audit) { a.Gateway = &mockstore.GatewayAudit{} }, status: Unknown, say: []string{"answered nothing"}},

		// retries_bounded
		{name: "retries within the budget over the run", check: invariant(scenario.InvRetriesBounded),
			audit: func(a *env.Audit) {
				a.Gateway = &mockstore.GatewayAudit{UpstreamCalls: map[string]int{"checkout": 1100, "auth": 500}, Retries: map[string]int{"checkout": 100, "auth": 0}}
			},
			status: Pass, got: 0.1, say: []string{"checkout: 100 retries for 1000 calls (10%)"}},
		{name: "a retry storm over the run", check: invariant(scenario.InvRetriesBounded),
			audit: func(a *env.Audit) {
				a.Gateway = &mockstore.GatewayAudit{UpstreamCalls: map[string]int{"checkout": 1300, "auth": 500}, Retries: map[string]int{"checkout": 300}}
			},
			status: Fail, got: 0.3, say: []string{"1 upstreams retried beyond the budget", "checkout: 300 retries for 1000 calls (30%)"}},
		{name: "retries: no upstream called", check: invariant(scenario.InvRetriesBounded),
			audit:  func(a *env.Audit) { a.Gateway = &mockstore.GatewayAudit{} },
			status: Unknown, say: []string{"called no upstream"}},
		{name: "a storm a whole run dilutes, caught in its window", check: invariant(scenario.InvRetriesBounded),
			audit: func(a *env.Audit) {
				// 10 calls a second for 60 s; from 20 s to 24 s each is
				// retried three times: 120 retries of 600 calls (20%) over
				// the run, 120 of 100 in the window that holds them.
				var secs []mockstore.UpstreamSecond
				for i := range 60 {
					s := mockstore.UpstreamSecond{T: sec(i), Calls: 10}
					if i >= 20 && i < 24 {
						s.Calls, s.Retries = 40, 30
					}
					secs = append(secs, s)
				}
				a.Gateway = &mockstore.GatewayAudit{UpstreamCalls: map[string]int{"checkout": 720}, Retries: map[string]int{"checkout": 120},
					UpstreamSeconds: map[string][]mockstore.UpstreamSecond{"checkout": secs}}
			},
			status: Fail, got: 1.2, say: []string{"checkout: 120 retries for 100 calls (120%) in +14.0s..+24.0s"}},
		{name: "retries within the budget in every window", check: invariant(scenario.InvRetriesBounded),
			audit: func(a *env.Audit) {
				var secs []mockstore.UpstreamSecond
				for i := range 60 {
					secs = append(secs, mockstore.UpstreamSecond{T: sec(i), Calls: 11, Retries: 1})
				}
				a.Gateway = &mockstore.GatewayAudit{UpstreamCalls: map[string]int{"checkout": 660}, Retries: map[string]int{"checkout": 60},
					UpstreamSeconds: map[string][]mockstore.UpstreamSecond{"checkout": secs}}
			},
			status: Pass, got: 0.1, say: []string{"in any 10s"}},
		{name: "calls the breaker refused count as asked for", check: invariant(scenario.InvRetriesBounded),
			audit: func(a *env.Audit) {
				// 30 calls asked a second, 10 let through, 3 of them retries:
				// 10% of the calls asked for, 43% of those sent.
				var secs []mockstore.UpstreamSecond
				for i := range 20 {
					secs = append(secs, mockstore.UpstreamSecond{T: sec(i), Asked: 30, Calls: 10, Retries: 3})
				}
				a.Gateway = &mockstore.GatewayAudit{UpstreamCalls: map[string]int{"checkout": 200}, Retries: map[string]int{"checkout": 60},
					UpstreamSeconds: map[string][]mockstore.UpstreamSecond{"checkout": secs}}
			},
			status: Pass, got: 0.1},
		{name: "windows too small: the run's share", check: withLeast(invariant(scenario.InvRetriesBounded), 1),
			audit: func(a *env.Audit) {
				secs := []mockstore.UpstreamSecond{{T: sec(1), Calls: 3, Retries: 2}, {T: sec(30), Calls: 4}}
				a.Gateway = &mockstore.GatewayAudit{UpstreamCalls: map[string]int{"checkout": 7}, Retries: map[string]int{"checkout": 2},
					UpstreamSeconds: map[string][]mockstore.UpstreamSecond{"checkout": secs}}
			},
			status: Fail, got: 0.4, say: []string{"checkout: 2 retries for 5 calls (40%)"}},

		{name: "an invariant the judge does not know", check: invariant("no_unicorns"),
			audit: func(a *env.Audit) { a.Wallet = totals() }, status: Unknown, say: []string{"no_unicorns"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{Timeline: timeline()}
			tt.audit(&r.Audit)
			if tt.series != nil {
				var b builder
				tt.series(&b)
				r.Series = b.pts
			}
			v := Decide(r, tt.check)
			wantVerdict(t, v, tt.status, tt.got, tt.say...)
			if v.Status == Fail && (v.Evidence.Count == 0 || v.Evidence.First == "" || v.Evidence.Worst == "") {
				t.Errorf("a failure without evidence: %+v", v.Evidence)
			}
			if v.Status == Pass && v.Evidence.Count != 0 {
				t.Errorf("a pass with %d offences", v.Evidence.Count)
			}
		})
	}
}

func TestFirstAndWorstOffence(t *testing.T) {
	r := &Run{Timeline: timeline()}
	r.Audit.Charges = []mockstore.ChargeRecord{
		charge("c1", "o9", 30*s, 0, 0), charge("c2", "o9", 31*s, 0, 0), // later, twice
		charge("c3", "o1", 20*s, 0, 0), charge("c4", "o1", 21*s, 0, 0), charge("c5", "o1", 22*s, 0, 0), // earlier, three times
		charge("c6", "o5", 10*s, 0, 0), charge("c7", "o5", 40*s, 0, 0), // earliest, twice
	}
	v := Decide(r, invariant(scenario.InvNoDoubleCharge))
	wantVerdict(t, v, Fail, 3)
	if want := "order o5 charged 2 times (100,000 in total), first at +10.0s"; v.Evidence.First != want {
		t.Errorf("first %q, want %q", v.Evidence.First, want)
	}
	if want := "order o1 charged 3 times (150,000 in total), first at +20.0s"; v.Evidence.Worst != want {
		t.Errorf("worst %q, want %q", v.Evidence.Worst, want)
	}
	if v.Evidence.Samples != 7 {
		t.Errorf("samples %d, want 7", v.Evidence.Samples)
	}
}

// TestSettled: the audits wait for the checks that judge the storefront
// after the load: a refund SLA from the load's end, an after_faults from the
// last fault's end, whichever is later; no wait for the other checks.
func TestSettled(t *testing.T) {
	afterFaults := func(c scenario.Check, d time.Duration) scenario.Check { c.AfterFaults = &d; return c }
	withSLA := func(c scenario.Check, sla time.Duration) scenario.Check { c.SLA = sla; return c }
	loadEnd := at(60 * s) // the timeline's last fault ends at 35s
	tests := []struct {
		name   string
		sla    time.Duration // the run's refund SLA
		checks []scenario.Check
		want   time.Duration // from the load's start
	}{
		{"nothing to wait for", 0, []scenario.Check{invariant(scenario.InvMoneyConserved), experience(scenario.ExpForcedLogouts, 0)}, 60 * s},
		{"the default refund SLA", 0, []scenario.Check{invariant(scenario.InvFailedOrdersRefunded)}, 60*s + DefaultRefundSLA},
		{"the run's refund SLA", 4 * s, []scenario.Check{invariant(scenario.InvFailedOrdersRefunded)}, 64 * s},
		{"the check's own SLA", 4 * s, []scenario.Check{withSLA(invariant(scenario.InvFailedOrdersRefunded), 7*s)}, 67 * s},
		{"after_faults past the load's end", 0, []scenario.Check{afterFaults(invariant(scenario.InvNoStuckPending), 30*s)}, 65 * s},
		{"after_faults within the load", 0, []scenario.Check{afterFaults(invariant(scenario.InvNoStuckPending), 10*s)}, 60 * s},
		{"the latest wins", 2 * s, []scenario.Check{invariant(scenario.InvFailedOrdersRefunded), afterFaults(invariant(scenario.InvFoodOrdersDispatched), 29*s)}, 64 * s},
		// after_faults sets when the check judges: it does not wait for a refund SLA too.
		{"after_faults on failed_orders_refunded", 0, []scenario.Check{afterFaults(invariant(scenario.InvFailedOrdersRefunded), 26*s)}, 61 * s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{Timeline: timeline(), RefundSLA: tt.sla}
			if got := r.Settled(tt.checks, loadEnd); !got.Equal(at(tt.want)) {
				t.Errorf("Settled = +%v; want +%v", got.Sub(t0), tt.want)
			}
		})
	}
}
