package judge

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/load/storefront"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/otp"
)

// The attackers' phones and the code lifetime of leastRun.
const (
	floodVictim, floodStranger = "+6281100000039", "+6289900000100"
	leastOTPLifetime           = 8 * time.Second
)

// leastRun returns a run in which every check of the catalogue passes, each
// having judged a known number of items (TestLeast's table).
func leastRun() *Run {
	var b builder
	shoppers(&b)
	b.journey(0, 15, 10, 10, 100).journey(15, 35, 10, 9, 120).journey(35, 60, 10, 10, 100)
	// 12 checkouts retried under a new key; 12 late codes and 11 reused
	// ones entered, all refused; attackers' login starts on two phones.
	expired := tags("endpoint", "login_verify", "status", "4xx", "code", string(mockstore.CodeCodeExpired))
	b.counter(20, 32, metricCheckoutRetry, tags("name", "new_key"), 1).
		counter(20, 32, metricOTPLateEntered, expired, 1).
		counter(30, 41, metricOTPReuseEntered, expired, 1).
		counter(0, 5, metricFloodAttempts, tags("name", floodVictim), 4).
		counter(0, 5, metricFloodAttempts, tags("name", floodStranger), 3)
	truth := truthAudit()
	r := &Run{Timeline: timeline(), Series: b.pts, OTPLifetime: leastOTPLifetime}
	a := &r.Audit
	a.Ledger, a.Accounts, a.Catalogue = truth.Ledger, truth.Accounts, truth.Catalogue
	a.Wallet = totals()
	fromCart := func(o mockstore.OrderRecord, cart string) mockstore.OrderRecord {
		o.Cart, o.CartRev = cart, 1
		return o
	}
	a.Orders = []mockstore.OrderRecord{
		fromCart(order("o1", 16*s, mockstore.OrderPaymentPending, 16*s, mockstore.OrderFailed, 20*s, mockstore.OrderRefunded, 25*s), "u1:a"),
		fromCart(order("o2", 17*s, mockstore.OrderPaymentPending, 17*s, mockstore.OrderPaid, 18*s), "u2:a"),
		fromCart(order("o3", 18*s, mockstore.OrderPaymentPending, 18*s, mockstore.OrderFailed, 19*s), "u3:a"), // never charged
	}
	// o1's charge was taken after it failed, so it did not fail while charged.
	a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 21*s, 1, 25*s), charge("c2", "o2", 18*s, 0, 0)}
	// Auth's verifies: 20 codes accepted in time, 14 of them entered again
	// and refused, 13 codes entered past their lifetime and refused.
	accepted := verifies("a", 20, 5*s, s, mockstore.VerifyAccepted)
	again := make([]mockstore.VerifyRecord, 0, 14)
	for _, v := range accepted[:14] {
		v.At, v.Outcome = v.At.Add(s), string(mockstore.CodeCodeExpired)
		again = append(again, v)
	}
	late := verifies("x", 13, 5*s, leastOTPLifetime+s, string(mockstore.CodeCodeExpired))
	a.Auth = &mockstore.AuthAudit{LoginsStarted: 240, CodesIssued: 30, CodesDelivered: 30, SessionsIssued: 50,
		Verifies: slices.Concat(accepted, again, late)}
	a.Gateway = &mockstore.GatewayAudit{Responses: map[string]int{"200": 900, "503:temporarily_unavailable": 40},
		UpstreamCalls: map[string]int{"wallet": 100}, Retries: map[string]int{"wallet": 5}}
	a.OTP = &otp.Audit{Sent: map[string]int{"sms": 60}, Codes: map[string]int{floodVictim: 5, floodStranger: 5}}
	// What the shoppers were told at checkout: 24 orders and a true
	// refusal answered, one checkout never answered (not judged).
	for i := range 24 {
		r.Observations = append(r.Observations, storefront.Observation{Kind: storefront.ObserveCheckout, UserID: fmt.Sprint("u", i),
			Status: 201, Sent: at(time.Second), At: at(time.Second)})
	}
	r.Observations = append(r.Observations,
		refusal(mockstore.CodeAddressNotServed, 0, time.Second, func(o *storefront.Observation) { o.Area = "papua" }),
		storefront.Observation{Kind: storefront.ObserveCheckout, UserID: "u1", Sent: at(2 * time.Second)})
	a.Food = &mockstore.FoodAudit{
		Orders: []mockstore.FoodOrderRecord{
			foodOrder("f1", "u1", "k1", 10*s, mockstore.FoodAccepted, 11*s, mockstore.FoodAssigned, 12*s),
			foodOrder("f2", "u2", "k1", 20*s, mockstore.FoodAccepted, 21*s, mockstore.FoodAssigned, 22*s),
			foodOrder("f3", "u3", "k1", 30*s, mockstore.FoodAccepted, 31*s, mockstore.FoodAssigned, 32*s),
		},
		Messages: []mockstore.ChatRecord{chat("m1", "f1", "u1", "c1", 11*s), chat("m2", "f1", "u1", "c2", 12*s)},
	}
	return r
}

// TestLeast holds every check of the catalogue to its least: at the least
// it is judged (here: passes), one item below it the verdict is unknown and
// says what was judged against the least. The table must name every
// invariant and experience of the catalogue, so that a new check cannot
// come without its least.
func TestLeast(t *testing.T) {
	tests := []struct {
		check  scenario.Check
		judged int64 // the items the check judges in leastRun
	}{
		{invariant(scenario.InvMoneyConserved), 10},      // accounts
		{invariant(scenario.InvNoNegativeBalance), 10},   // accounts
		{invariant(scenario.InvLedgerMatches), 10},       // accounts
		{invariant(scenario.InvNoDoubleCharge), 2},       // charges
		{invariant(scenario.InvFailedOrdersRefunded), 1}, // o1: failed and charged
		{invariant(scenario.InvNoFailedWhileCharged), 2}, // o1 and o2 were charged
		{invariant(scenario.InvPaidOrdersCharged), 1},    // o2
		{invariant(scenario.InvNoStuckPending), 3},       // every order
		{invariant(scenario.InvNoLostSessions), 50},      // sessions issued
		{invariant(scenario.InvNoCrossUserData), 940},    // the gateway's answers
		{invariant(scenario.InvRetriesBounded), 95},      // calls asked for
		{invariant(scenario.InvFoodOrdersOnce), 3},
		{invariant(scenario.InvChatMessagesOnce), 2},
		{invariant(scenario.InvFoodOrdersDispatched), 3},
		{experience(scenario.ExpNoFalseNotRegistered, 0), 240}, // login requests
		{experience(scenario.ExpErrorsHaveRetryAfter, 0), 40},  // the gateway's 503s, more than the 20 shoppers saw
		{experience(scenario.ExpForcedLogouts, 0), 1220},       // every request
		{experience(scenario.ExpNoZeroBalance, 0), 240},        // wallet reads
		{experience(scenario.ExpNoLockoutByFault, 0), 240},     // codes entered
		{experience(scenario.ExpNoFalseRefusal, 0), 25},        // checkouts answered, as the shoppers observed them
		{experience(scenario.ExpUndeliveredCodes, 0), 30},      // codes issued
		{experience(scenario.ExpFloodCodesBounded, 5), 35},     // the attackers' login starts
		{invariant(scenario.InvOneOrderPerCart), 12},           // checkouts retried under a new key
		{invariant(scenario.InvOTPLateRefused), 12},            // late codes answered
		{invariant(scenario.InvOTPReuseRefused), 11},           // reused codes answered
		{invariant(scenario.InvOTPWithinLifetime), 13},         // verifies past issue + lifetime
		{invariant(scenario.InvOTPUsedOnce), 14},               // verifies of a code already accepted
		{metricCheck("journey_success", checkoutJourney, "fault", "rate", cmpOf(">=", 0.6, "0.6")), 200},
		{recovery("checkout", 10*time.Second), 250}, // journeys after the fault
	}
	named := map[string]bool{}
	for _, tt := range tests {
		named[string(tt.check.Kind)+" "+tt.check.Subject] = true
		t.Run(tt.check.Name, func(t *testing.T) {
			least, judges := scenario.Least(tt.check.Kind, tt.check.Subject)
			if least < 1 || judges == "" || judges == "items" {
				t.Errorf("the catalogue gives %s a least of %d %q", tt.check.Subject, least, judges)
			}
			c := tt.check
			c.MinSamples = int(tt.judged)
			v := Decide(leastRun(), c)
			if v.Status != Pass || v.Evidence.Samples != tt.judged || v.Evidence.Least != tt.judged {
				t.Fatalf("at its least %d: %s (judged %d), want pass having judged %d", tt.judged, v, v.Evidence.Samples, tt.judged)
			}
			c.MinSamples = int(tt.judged) + 1
			v = Decide(leastRun(), c)
			if tt.check.Kind == scenario.CheckMetric {
				judges = "samples of journey_success{journey:checkout} in fault"
			}
			say := fmt.Sprintf("judged %d %s, fewer than %d", tt.judged, judges, tt.judged+1)
			if v.Status != Unknown || !strings.Contains(v.Reason, say) {
				t.Errorf("below its least: %s, want unknown saying %q", v, say)
			}
		})
	}
	for _, inv := range scenario.Invariants() {
		if !named["invariant "+inv.Name] {
			t.Errorf("invariant %s has no case here", inv.Name)
		}
	}
	for _, e := range scenario.Experiences() {
		if !named["experience "+e.Name] {
			t.Errorf("experience %s has no case here", e.Name)
		}
	}
}

// TestLeastKeepsFinalFailures: below its least, a fail stands when what it
// found is already more than the check allows (a count of offences, a
// count above an upper bound), and a pass when a count already meets its
// lower bound with something found; a verdict that more items could undo
// (a share, a rate) is unknown.
func TestLeastKeepsFinalFailures(t *testing.T) {
	least := func(c scenario.Check, n int) scenario.Check { c.MinSamples = n; return c }
	var storm builder
	storm.counter(0, 60, "http_reqs", nil, 1).rate(15, 18, "journey_success", checkoutJourney, 1, 0).
		counter(15, 17, "bare_5xx", nil, 1)
	tests := []struct {
		name   string
		check  scenario.Check
		audit  func(a *env.Audit)
		status Status
	}{
		{name: "a double charge among 2 charges", check: least(invariant(scenario.InvNoDoubleCharge), 100),
			audit: func(a *env.Audit) {
				a.Charges = []mockstore.ChargeRecord{charge("c1", "o1", 5*s, 0, 0), charge("c2", "o1", 6*s, 0, 0)}
			},
			status: Fail},
		{name: "money lost in a wallet of 10 accounts", check: least(invariant(scenario.InvMoneyConserved), 100),
			audit:  func(a *env.Audit) { a.Wallet = totals(); a.Wallet.Balances -= 5 },
			status: Fail},
		{name: "a retry storm over 10 calls", check: least(invariant(scenario.InvRetriesBounded), 100),
			audit: func(a *env.Audit) {
				a.Gateway = &mockstore.GatewayAudit{UpstreamCalls: map[string]int{"wallet": 20}, Retries: map[string]int{"wallet": 10}}
			},
			status: Unknown},
		{name: "a rate below its bound over 3 samples", check: metricCheck("journey_success", checkoutJourney, "fault", "rate", cmpOf(">=", 0.6, "0.6")),
			audit: func(a *env.Audit) {}, status: Unknown},
		{name: "a count above its bound over 2 samples", check: metricCheck("bare_5xx", nil, "fault", "count", cmpOf("==", 0, "0")),
			audit: func(a *env.Audit) {}, status: Fail},
		// more samples could only add to a count that already meets its
		// lower bound, but a count of nothing meets none
		{name: "a count at its lower bound over 2 samples", check: metricCheck("bare_5xx", nil, "fault", "count", cmpOf(">=", 1, "1")),
			audit: func(a *env.Audit) {}, status: Pass},
		{name: "a count at a lower bound of 0 over 0 samples", check: least(metricCheck("bare_5xx", map[string]string{"name": "nowhere"}, "fault", "count", cmpOf(">=", 0, "0")), 100),
			audit: func(a *env.Audit) {}, status: Unknown},
		{name: "a rate above its lower bound over 3 samples", check: metricCheck("journey_success", checkoutJourney, "fault", "rate", cmpOf(">=", 0, "0")),
			audit: func(a *env.Audit) {}, status: Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{Timeline: timeline(), Series: storm.pts}
			tt.audit(&r.Audit)
			v := Decide(r, tt.check)
			if v.Status != tt.status {
				t.Errorf("%s, want %s", v, tt.status)
			}
			if v.Status == Unknown && !strings.Contains(v.Reason, "fewer than") {
				t.Errorf("unknown without saying what was judged against the least: %s", v.Reason)
			}
		})
	}
}
