package judge

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/load/storefront"
	"github.com/gameday/gameday/mockstore"
)

// refusalCodes are the refusals of a checkout that the stores' truth can
// confirm or deny; each names the condition that makes it true.
var refusalCodes = []mockstore.Code{
	mockstore.CodeInsufficientFunds, mockstore.CodeAccountRestricted, mockstore.CodePaymentUnsupported,
	mockstore.CodeUnknownCourier, mockstore.CodeAddressNotServed, mockstore.CodeOverWeight, mockstore.CodeOverSize,
}

// truth is what the stores say, for judging what shoppers were told: the
// wallet's ledger by account, auth's accounts, checkout's catalogue.
type truth struct {
	ledger   map[string][]mockstore.LedgerEntry // by user, in the ledger's order
	status   map[string]string                  // user → status
	phones   map[string]bool                    // registered phones
	products map[string]mockstore.Product
	couriers map[string]mockstore.Courier
	methods  []string
}

// newTruth gathers the truth from the audit; nil and the error when a
// source it needs could not be read.
func newTruth(a *env.Audit) (*truth, error) {
	if err := a.Missing(env.SourceLedger, env.SourceAccounts, env.SourceCatalog); err != nil {
		return nil, err
	}
	t := &truth{
		ledger: ledgerByUser(a.Ledger), status: map[string]string{}, phones: map[string]bool{},
		products: map[string]mockstore.Product{}, couriers: map[string]mockstore.Courier{},
		methods: a.Catalogue.PaymentMethods,
	}
	for _, u := range a.Accounts {
		t.status[u.UserID] = u.Status
		t.phones[u.Phone] = true
	}
	for _, p := range a.Catalogue.Products {
		t.products[p.ID] = p
	}
	for _, c := range a.Catalogue.Couriers {
		t.couriers[c.ID] = c
	}
	return t, nil
}

// ledgerByUser splits the ledger by account, keeping its order.
func ledgerByUser(es []mockstore.LedgerEntry) map[string][]mockstore.LedgerEntry {
	out := map[string][]mockstore.LedgerEntry{}
	for _, e := range es {
		out[e.UserID] = append(out[e.UserID], e)
	}
	return out
}

// leastBalance returns the least the user's wallet held at any moment from
// from to to (both included), by the ledger: the balance at from, and
// after every entry written up to to. ok is false when the ledger has no
// entry of the user at all.
func (t *truth) leastBalance(user string, from, to time.Time) (least int64, ok bool) {
	es := t.ledger[user]
	if len(es) == 0 {
		return 0, false
	}
	var bal int64
	var during []int64
	for _, e := range es {
		switch {
		case !e.At.After(from):
			bal += e.Amount
		case !e.At.After(to):
			during = append(during, e.Amount)
		}
	}
	least = bal
	for _, amount := range during {
		bal += amount
		least = min(least, bal)
	}
	return least, true
}

// verdictOfRefusal is whether a refusal was true by the stores: true (the
// condition held), false, or undecided (the truth cannot tell: an unknown
// user, a cart the shopper never read).
type verdictOfRefusal int

const (
	refusalTrue verdictOfRefusal = iota
	refusalFalse
	refusalUndecided
)

// judgeRefusal decides the refusal o against the truth and says why.
func (t *truth) judgeRefusal(o storefront.Observation) (verdictOfRefusal, string) {
	switch mockstore.Code(o.Code) {
	case mockstore.CodeAccountRestricted:
		switch st, ok := t.status[o.UserID]; {
		case !ok:
			return refusalUndecided, fmt.Sprintf("auth has no account %q", o.UserID)
		case st == mockstore.StatusRestricted:
			return refusalTrue, ""
		default:
			return refusalFalse, fmt.Sprintf("auth has account %s %s", o.UserID, st)
		}
	case mockstore.CodePaymentUnsupported:
		if slices.Contains(t.methods, o.PaymentMethod) {
			return refusalFalse, fmt.Sprintf("checkout supports %s", o.PaymentMethod)
		}
		return refusalTrue, ""
	case mockstore.CodeUnknownCourier:
		if _, ok := t.couriers[o.Courier]; ok {
			return refusalFalse, fmt.Sprintf("checkout has courier %s", o.Courier)
		}
		return refusalTrue, ""
	}
	c, ok := t.couriers[o.Courier]
	switch mockstore.Code(o.Code) {
	case mockstore.CodeAddressNotServed:
		switch {
		case !ok:
			return refusalUndecided, fmt.Sprintf("checkout has no courier %q", o.Courier)
		case slices.Contains(c.Areas, o.Area):
			return refusalFalse, fmt.Sprintf("courier %s serves %s", c.ID, o.Area)
		}
		return refusalTrue, ""
	case mockstore.CodeOverWeight, mockstore.CodeOverSize:
		if !ok {
			return refusalUndecided, fmt.Sprintf("checkout has no courier %q", o.Courier)
		}
		if len(o.Cart) == 0 {
			return refusalUndecided, "the shopper never read the cart"
		}
		weight, size := 0, 0
		for _, l := range o.Cart {
			p, known := t.products[l.ProductID]
			if !known {
				return refusalUndecided, fmt.Sprintf("checkout has no product %q", l.ProductID)
			}
			weight += p.WeightG * l.Qty
			size = max(size, p.SizeCM)
		}
		if mockstore.Code(o.Code) == mockstore.CodeOverWeight {
			if weight > c.MaxWeightG {
				return refusalTrue, ""
			}
			return refusalFalse, fmt.Sprintf("the cart weighed %d g, courier %s takes %d g", weight, c.ID, c.MaxWeightG)
		}
		if size > c.MaxSizeCM {
			return refusalTrue, ""
		}
		return refusalFalse, fmt.Sprintf("the cart's longest item was %d cm, courier %s takes %d cm", size, c.ID, c.MaxSizeCM)
	case mockstore.CodeInsufficientFunds:
		if o.Amount <= 0 {
			return refusalUndecided, "the shopper never read the cart's total"
		}
		least, known := t.leastBalance(o.UserID, o.Sent, o.At)
		switch {
		case !known:
			return refusalUndecided, fmt.Sprintf("the ledger has no account %q", o.UserID)
		case least < o.Amount:
			return refusalTrue, ""
		}
		return refusalFalse, fmt.Sprintf("the ledger held at least %d throughout, the cart was %d", least, o.Amount)
	}
	return refusalUndecided, fmt.Sprintf("%s is not a refusal the stores can confirm", o.Code)
}

// observationsMissing returns why the run has no observations to judge
// from, or nil.
func observationsMissing(r *Run) error {
	if r.ObservationsErr != "" {
		return fmt.Errorf("the load's observations could not be read (only the storefront's shoppers write them): %s", r.ObservationsErr)
	}
	if r.Observations == nil {
		return fmt.Errorf("the load gave no observations of what shoppers were told (only the storefront's shoppers write them)")
	}
	return nil
}

// falseRefusals decides no_false_refusal: every checkout refusal a shopper
// was given (the load's observations) is checked against the stores'
// truth at that moment, whichever code path produced it; the gateway's own
// count of its false refusals is a second source, and a disagreement
// between the two is in the reason. Got is the larger of the two counts.
func falseRefusals(r *Run, maxAllowed int) Verdict {
	want := fmt.Sprintf("at most %d checkouts refused with a reason the stores say was not true", maxAllowed)
	t, err := newTruth(&r.Audit)
	if err != nil {
		return wantUnknown(want, "%s", err)
	}
	if err := observationsMissing(r); err != nil {
		return wantUnknown(want, "%s", err)
	}
	var (
		answered, refusals, trues, undecided int
		falses                               []string
		byCode                               = map[string]int{}
		firstUndecided                       string
	)
	for _, o := range r.Observations {
		if o.Kind != storefront.ObserveCheckout || o.Status == 0 {
			continue
		}
		answered++
		if !slices.Contains(refusalCodes, mockstore.Code(o.Code)) {
			continue
		}
		refusals++
		switch v, why := t.judgeRefusal(o); v {
		case refusalTrue:
			trues++
		case refusalUndecided:
			undecided++
			if firstUndecided == "" {
				firstUndecided = why
			}
		default:
			byCode[o.Code]++
			falses = append(falses, fmt.Sprintf("%s told %s at %s: %s", o.UserID, o.Code, r.at(o.At), why))
		}
	}
	gateway := -1
	if r.Audit.Gateway != nil {
		gateway = r.Audit.Gateway.FalseRefusals
	}
	got := max(len(falses), gateway)
	v := Verdict{Want: want, Got: float64(got), Measured: true}
	v.Evidence.Samples, v.Evidence.Count = int64(answered), got
	parts := []string{fmt.Sprintf("judged %d checkout answers: %d refusals, %d true and %d false by the stores", answered, refusals, trues, len(falses))}
	if undecided > 0 {
		parts = append(parts, fmt.Sprintf("%d the stores could not decide (first: %s)", undecided, firstUndecided))
	}
	switch {
	case gateway < 0:
		parts = append(parts, "the gateway's own count was not read: "+r.Audit.Missing(env.SourceGateway).Error())
	case gateway != len(falses):
		parts = append(parts, fmt.Sprintf("the gateway counted %d false refusals of its own — the two disagree", gateway))
	default:
		parts = append(parts, fmt.Sprintf("the gateway counted %d, the same", gateway))
	}
	v.Reason = strings.Join(parts, "; ")
	if len(falses) > 0 {
		v.Evidence.First = falses[0]
		v.Evidence.Worst = mostCommon(byCode, len(falses))
	} else if gateway > 0 {
		v.Evidence.First = fmt.Sprintf("the gateway counted %d false refusals the shoppers' answers do not show", gateway)
	}
	switch {
	case got > maxAllowed:
		v.Status = Fail
	default:
		v.Status = Pass
	}
	return v
}

// mostCommon renders the most common code of byCode: "28 of 30 were
// insufficient_funds".
func mostCommon(byCode map[string]int, total int) string {
	codes := make([]string, 0, len(byCode))
	for c := range byCode {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if byCode[codes[i]] != byCode[codes[j]] {
			return byCode[codes[i]] > byCode[codes[j]]
		}
		return codes[i] < codes[j]
	})
	return fmt.Sprintf("%d of %d were %s", byCode[codes[0]], total, codes[0])
}
