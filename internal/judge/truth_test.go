package judge

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/load/storefront"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

// truthAudit is a storefront whose stores say: u1 is active with 100 000
// until +10s, when a charge leaves 5 000; u2 is restricted; phone +1 is
// u1's; jne serves jakarta up to 10 kg and 50 cm; only wallet payments.
func truthAudit() env.Audit {
	return env.Audit{
		Ledger: []mockstore.LedgerEntry{
			{UserID: "u1", Kind: "opening", Amount: 100_000, At: at(-time.Minute)},
			{UserID: "u1", Kind: "charge", Amount: -95_000, At: at(10 * time.Second)},
			{UserID: "u2", Kind: "opening", Amount: 100_000, At: at(-time.Minute)},
		},
		Accounts: []mockstore.AccountRecord{
			{UserID: "u1", Phone: "+1", Status: mockstore.StatusActive},
			{UserID: "u2", Phone: "+2", Status: mockstore.StatusRestricted},
		},
		Catalogue: &mockstore.CatalogueAudit{
			Products:       []mockstore.Product{{ID: "light", WeightG: 1_000, SizeCM: 20}, {ID: "long", WeightG: 1_000, SizeCM: 90}},
			Couriers:       []mockstore.Courier{{ID: "jne", Areas: []string{"jakarta"}, MaxWeightG: 10_000, MaxSizeCM: 50}},
			PaymentMethods: []string{mockstore.PaymentWallet},
		},
		Gateway: &mockstore.GatewayAudit{},
	}
}

// refusal is a checkout of u1's cart of one light product (10 000) by jne
// to jakarta, paid by wallet, told code, sent at from and answered at to.
func refusal(code mockstore.Code, from, to time.Duration, edit func(*storefront.Observation)) storefront.Observation {
	o := storefront.Observation{Kind: storefront.ObserveCheckout, Sent: at(from), At: at(to), UserID: "u1", Status: 422, Code: string(code),
		Cart: []storefront.CartLine{{ProductID: "light", Qty: 1, Price: 10_000}}, Amount: 10_000,
		Area: "jakarta", Courier: "jne", PaymentMethod: mockstore.PaymentWallet}
	if edit != nil {
		edit(&o)
	}
	return o
}

func TestJudgeRefusal(t *testing.T) {
	a := truthAudit()
	tr, err := newTruth(&a)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    storefront.Observation
		want verdictOfRefusal
	}{
		{"funds while the ledger held enough", refusal(mockstore.CodeInsufficientFunds, 2*time.Second, 3*time.Second, nil), refusalFalse},
		{"funds after the balance fell", refusal(mockstore.CodeInsufficientFunds, 11*time.Second, 12*time.Second, nil), refusalTrue},
		{"funds while the balance fell", refusal(mockstore.CodeInsufficientFunds, 9*time.Second, 11*time.Second, nil), refusalTrue},
		{"funds for a cart above the balance", refusal(mockstore.CodeInsufficientFunds, 2*time.Second, 3*time.Second,
			func(o *storefront.Observation) { o.Amount = 150_000 }), refusalTrue},
		{"funds without the cart's total", refusal(mockstore.CodeInsufficientFunds, 2*time.Second, 3*time.Second,
			func(o *storefront.Observation) { o.Amount = 0 }), refusalUndecided},
		{"funds of an account the ledger lacks", refusal(mockstore.CodeInsufficientFunds, 2*time.Second, 3*time.Second,
			func(o *storefront.Observation) { o.UserID = "u9" }), refusalUndecided},
		{"restricted, active account", refusal(mockstore.CodeAccountRestricted, 0, time.Second, nil), refusalFalse},
		{"restricted, restricted account", refusal(mockstore.CodeAccountRestricted, 0, time.Second,
			func(o *storefront.Observation) { o.UserID = "u2" }), refusalTrue},
		{"payment method, wallet", refusal(mockstore.CodePaymentUnsupported, 0, time.Second, nil), refusalFalse},
		{"payment method, card", refusal(mockstore.CodePaymentUnsupported, 0, time.Second,
			func(o *storefront.Observation) { o.PaymentMethod = mockstore.PaymentCard }), refusalTrue},
		{"address served", refusal(mockstore.CodeAddressNotServed, 0, time.Second, nil), refusalFalse},
		{"address not served", refusal(mockstore.CodeAddressNotServed, 0, time.Second,
			func(o *storefront.Observation) { o.Area = "papua" }), refusalTrue},
		{"unknown courier that exists", refusal(mockstore.CodeUnknownCourier, 0, time.Second, nil), refusalFalse},
		{"weight within the limit", refusal(mockstore.CodeOverWeight, 0, time.Second, nil), refusalFalse},
		{"weight over the limit", refusal(mockstore.CodeOverWeight, 0, time.Second,
			func(o *storefront.Observation) { o.Cart[0].Qty = 11 }), refusalTrue},
		{"size within the limit", refusal(mockstore.CodeOverSize, 0, time.Second, nil), refusalFalse},
		{"size over the limit", refusal(mockstore.CodeOverSize, 0, time.Second,
			func(o *storefront.Observation) {
				o.Cart = append(o.Cart, storefront.CartLine{ProductID: "long", Qty: 1})
			}), refusalTrue},
		{"size of a cart never read", refusal(mockstore.CodeOverSize, 0, time.Second,
			func(o *storefront.Observation) { o.Cart = nil }), refusalUndecided},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, why := tr.judgeRefusal(tc.o); got != tc.want {
				t.Fatalf("judged %d (%s), want %d", got, why, tc.want)
			}
		})
	}
}

func TestNoFalseRefusal(t *testing.T) {
	check := experience(scenario.ExpNoFalseRefusal, 0)
	leastCheckouts := leastOf(scenario.ExpNoFalseRefusal)
	// answers returns n checkouts answered 201 and the refusals given.
	answers := func(n int, refusals ...storefront.Observation) []storefront.Observation {
		var out []storefront.Observation
		for i := range n {
			out = append(out, storefront.Observation{Kind: storefront.ObserveCheckout, UserID: fmt.Sprint("u", i), Status: 201,
				Sent: at(time.Second), At: at(time.Second)})
		}
		return append(out, refusals...)
	}
	falseOne := refusal(mockstore.CodeAddressNotServed, 0, time.Second, nil)
	trueOne := refusal(mockstore.CodeAddressNotServed, 0, time.Second, func(o *storefront.Observation) { o.Area = "papua" })
	for _, tc := range []struct {
		name        string
		obs         []storefront.Observation
		obsErr      string
		gateway     int
		edit        func(*env.Audit)
		want        Status
		got         float64
		reasonWants string
	}{
		{name: "true refusals only", obs: answers(30, trueOne, trueOne), want: Pass, reasonWants: "2 refusals, 2 true and 0 false"},
		{name: "a false refusal the gateway did not count", obs: answers(30, falseOne, trueOne), want: Fail, got: 1,
			reasonWants: "the gateway counted 0 false refusals of its own — the two disagree"},
		{name: "the gateway's count, the shoppers saw none", obs: answers(30), gateway: 2, want: Fail, got: 2,
			reasonWants: "the gateway counted 2 false refusals of its own — the two disagree"},
		{name: "both agree", obs: answers(30, falseOne), gateway: 1, want: Fail, got: 1, reasonWants: "the gateway counted 1, the same"},
		{name: "too few checkouts", obs: answers(leastCheckouts-2, trueOne), want: Unknown,
			reasonWants: fmt.Sprintf("judged %d checkout answers, fewer than %d", leastCheckouts-1, leastCheckouts)},
		{name: "unanswered checkouts are not judged", obs: append(answers(leastCheckouts-1), storefront.Observation{Kind: storefront.ObserveCheckout}),
			want: Unknown, reasonWants: "fewer than"},
		{name: "no observations", obsErr: "open observations.jsonl: no such file", want: Unknown, reasonWants: "only the storefront's shoppers write them"},
		{name: "no ledger", obs: answers(30), edit: func(a *env.Audit) { a.Ledger = nil }, want: Unknown, reasonWants: "the wallet's audit was not served: GET /audit/ledger"},
		{name: "no catalogue", obs: answers(30), edit: func(a *env.Audit) { a.Catalogue = nil }, want: Unknown, reasonWants: "the checkout's audit was not served: GET /audit/catalogue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := truthAudit()
			a.Gateway.FalseRefusals = tc.gateway
			if tc.edit != nil {
				tc.edit(&a)
			}
			v := Decide(&Run{Timeline: timeline(), Audit: a, Observations: tc.obs, ObservationsErr: tc.obsErr}, check)
			if v.Status != tc.want || v.Got != tc.got || !strings.Contains(v.Reason, tc.reasonWants) {
				t.Fatalf("verdict %s; want %s, got %v, reason saying %q", v, tc.want, tc.got, tc.reasonWants)
			}
		})
	}
}

// TestExperienceFromObservations: the login checks judge what the phones
// and the shoppers saw beside auth's own counts.
func TestExperienceFromObservations(t *testing.T) {
	logins := func(n int, phone, code string) []storefront.Observation {
		var out []storefront.Observation
		for range n {
			status := 202
			if code != "" {
				status = 404
			}
			out = append(out, storefront.Observation{Kind: storefront.ObserveLogin, Phone: phone, Status: status, Code: code})
		}
		return out
	}
	codes := func(came, missing int) []storefront.Observation {
		var out []storefront.Observation
		for i := range came + missing {
			status := 200
			if i >= came {
				status = 0
			}
			out = append(out, storefront.Observation{Kind: storefront.ObserveCode, Phone: "+1", Status: status, At: at(time.Duration(i) * time.Second)})
		}
		return out
	}
	nr := string(mockstore.CodeNotRegistered)
	for _, tc := range []struct {
		name  string
		check scenario.Check
		auth  mockstore.AuthAudit
		obs   []storefront.Observation
		edit  func(*env.Audit)
		want  Status
		got   float64
		say   string
	}{
		{name: "a registered phone told not registered, auth counted none", check: experience(scenario.ExpNoFalseNotRegistered, 0),
			obs: append(logins(20, "+1", ""), logins(3, "+1", nr)...), want: Fail, got: 3,
			say: "shoppers with a phone auth's store holds were told it is not registered 3"},
		{name: "an unregistered phone told so", check: experience(scenario.ExpNoFalseNotRegistered, 0),
			obs: append(logins(20, "+1", ""), logins(3, "+9", nr)...), want: Pass, say: "were told it is not registered 0"},
		{name: "logins counted by the shoppers", check: experience(scenario.ExpNoFalseNotRegistered, 0),
			obs: logins(leastOf(scenario.ExpNoFalseNotRegistered)-1, "+1", ""), want: Unknown,
			say: fmt.Sprintf("judged %d login starts, fewer than %d", leastOf(scenario.ExpNoFalseNotRegistered)-1, leastOf(scenario.ExpNoFalseNotRegistered))},
		{name: "codes that never came, auth says delivered", check: experience(scenario.ExpUndeliveredCodes, 0),
			auth: mockstore.AuthAudit{CodesIssued: 30, CodesDelivered: 30}, obs: codes(28, 2), want: Fail, got: 2,
			say: "shoppers waited in vain for 2"},
		{name: "every code came", check: experience(scenario.ExpUndeliveredCodes, 0),
			auth: mockstore.AuthAudit{CodesIssued: 30, CodesDelivered: 30}, obs: codes(30, 0), want: Pass},
		{name: "too few codes", check: experience(scenario.ExpUndeliveredCodes, 0),
			auth: mockstore.AuthAudit{CodesIssued: 4, CodesDelivered: 4}, obs: codes(4, 0), want: Unknown, say: "judged 4 login codes, fewer than 5"},
		{name: "a zero balance shown while the ledger held money", check: experience(scenario.ExpNoZeroBalance, 0),
			obs: []storefront.Observation{zero("u1", 2*time.Second), zero("u3", 2*time.Second)},
			edit: func(a *env.Audit) {
				a.Ledger = append(a.Ledger, mockstore.LedgerEntry{UserID: "u3", Kind: "opening", Amount: 0, At: at(-time.Minute)})
			},
			want: Fail, got: 1, say: "balances shown as 0 while the ledger held money 1"},
		{name: "a zero balance that was true", check: experience(scenario.ExpNoZeroBalance, 0),
			obs: []storefront.Observation{zero("u3", 2*time.Second)},
			edit: func(a *env.Audit) {
				a.Ledger = append(a.Ledger, mockstore.LedgerEntry{UserID: "u3", Kind: "opening", Amount: 0, At: at(-time.Minute)})
			},
			want: Pass, say: "balances shown as 0 while the ledger held money 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := truthAudit()
			a.Auth = &tc.auth
			if tc.edit != nil {
				tc.edit(&a)
			}
			var b builder
			b.counter(0, 60, "http_reqs", tags("endpoint", "wallet"), 10)
			v := Decide(&Run{Timeline: timeline(), Audit: a, Observations: tc.obs, Series: b.pts}, tc.check)
			if v.Status != tc.want || v.Got != tc.got || !strings.Contains(v.Reason, tc.say) {
				t.Fatalf("verdict %s; want %s, got %v, reason saying %q", v, tc.want, tc.got, tc.say)
			}
		})
	}
}

// zero is a balance of 0 shown to user at offset d.
func zero(user string, d time.Duration) storefront.Observation {
	return storefront.Observation{Kind: storefront.ObserveZeroBalance, UserID: user, Sent: at(d), At: at(d + 100*time.Millisecond), Status: 200}
}
