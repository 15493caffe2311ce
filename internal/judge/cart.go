package judge

import (
	"fmt"
	"maps"
	"slices"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/mockstore"
)

// metricCheckoutRetry is the load's count of checkouts sent again after a
// lost answer, tag name same_key or new_key (the storefront's journeys
// write it).
const metricCheckoutRetry = "checkout_retry"

// placed reports whether o is an order that took, or may still take, the
// shopper's money for its cart: it was paid at some point, or it is still
// being paid. A failed order that was never paid leaves its cart free to be
// ordered again.
func placed(o mockstore.OrderRecord) bool {
	if _, paid := reachedAt(o, mockstore.OrderPaid); paid {
		return true
	}
	return o.Status == mockstore.OrderCreated || o.Status == mockstore.OrderPaymentPending
}

// oneOrderPerCart: no cart ordered twice, read from checkout's orders. Two
// placed orders of one cart are one too many when they were placed from the
// cart at the same revision (its shopper changed nothing in between), or
// when the later one was created while the earlier one was still being paid
// (its items were still in the cart, so they were ordered again). Its
// samples are the checkouts the shoppers retried under a new key, by the
// load's count — the path on which one cart can be ordered twice — which
// atLeast holds to the check's least. It is unknown when no order was
// placed and when checkout's audit does not say which cart an order came
// from.
func oneOrderPerCart(r *Run) Verdict {
	const want = "each cart ordered at most once: no two placed orders of one cart at one revision, none placed while another of its cart was being paid"
	if err := r.Audit.Missing(env.SourceOrders); err != nil {
		return wantUnknown(want, "%s", err)
	}
	retried, _ := seriesTotal(r, metricCheckoutRetry, map[string]string{"name": "new_key"})
	byCart := map[string][]mockstore.OrderRecord{}
	n, noCart := 0, 0
	for _, o := range r.Audit.Orders {
		if o.Cart == "" {
			noCart++
			continue
		}
		if !placed(o) {
			continue
		}
		byCart[o.Cart] = append(byCart[o.Cart], o)
		n++
	}
	switch {
	case noCart > 0:
		return wantUnknown(want, "%d of checkout's %d orders name no cart in its audit (cart, cart_rev)", noCart, len(r.Audit.Orders))
	case n == 0:
		return wantUnknown(want, "no order was placed")
	}
	var t tally
	for _, cart := range slices.Sorted(maps.Keys(byCart)) {
		orders := byCart[cart]
		slices.SortStableFunc(orders, func(a, b mockstore.OrderRecord) int { return a.CreatedAt.Compare(b.CreatedAt) })
		for i, later := range orders {
			for _, earlier := range orders[:i] {
				var why string
				switch {
				case earlier.CartRev == later.CartRev:
					why = fmt.Sprintf("both from revision %d of the cart", later.CartRev)
				case beingPaid(stateAt(earlier, later.CreatedAt)):
					why = fmt.Sprintf("created while %s was %s", earlier.OrderID, stateAt(earlier, later.CreatedAt))
				default:
					continue
				}
				t.add(later.CreatedAt, float64(later.Amount), "cart %s ordered twice: %s (%s) and %s (%s), %s; the second at %s",
					cart, earlier.OrderID, money(earlier.Amount), later.OrderID, money(later.Amount), why, r.at(later.CreatedAt))
				break
			}
		}
	}
	v := t.verdict(want, int64(retried), fmt.Sprintf("%d placed orders over %d carts, none twice; %d checkouts retried under a new key",
		n, len(byCart), int(retried)))
	if v.Status == Fail {
		v.Reason = fmt.Sprintf("%d orders placed for a cart that was ordered already (%d checkouts retried under a new key)",
			v.Evidence.Count, int(retried))
	}
	return v
}

func beingPaid(state string) bool {
	return state == mockstore.OrderCreated || state == mockstore.OrderPaymentPending
}
