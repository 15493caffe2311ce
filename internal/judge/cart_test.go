package judge

import (
	"fmt"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

// TestOneOrderPerCart: a cart ordered twice fails, whether both orders came
// from one revision of the cart or the second was placed while the first
// was being paid; a cart filled again, or ordered again after a failure,
// is no offence; too few checkouts retried under a new key is unknown
// (atLeast), unless a cart was ordered twice all the same.
func TestOneOrderPerCart(t *testing.T) {
	fromCart := func(o mockstore.OrderRecord, cart string, rev int64) mockstore.OrderRecord {
		o.Cart, o.CartRev = cart, rev
		return o
	}
	paid := func(id string, created time.Duration, cart string, rev int64) mockstore.OrderRecord {
		return fromCart(order(id, created, mockstore.OrderPaymentPending, created, mockstore.OrderPaid, created+s), cart, rev)
	}
	check := invariant(scenario.InvOneOrderPerCart)
	least, _ := scenario.Least(check.Kind, check.Subject)
	check.MinSamples = least
	retries := func(n int64) func(b *builder) {
		return func(b *builder) { b.counter(20, 21, metricCheckoutRetry, tags("name", "new_key"), n) }
	}
	tests := []struct {
		name   string
		orders []mockstore.OrderRecord
		series func(b *builder)
		unread bool
		status Status
		got    float64
		say    []string
	}{
		{name: "one order per cart", series: retries(12), status: Pass,
			orders: []mockstore.OrderRecord{paid("o1", 10*s, "u:a", 1), paid("o2", 12*s, "u:b", 1)}},
		{name: "two orders from one revision", series: retries(12), status: Fail, got: 1,
			orders: []mockstore.OrderRecord{paid("o1", 10*s, "u:a", 3), paid("o2", 20*s, "u:a", 3)},
			say:    []string{"cart u:a ordered twice", "o1", "o2", "revision 3"}},
		{name: "second placed while the first was being paid", series: retries(12), status: Fail, got: 1,
			orders: []mockstore.OrderRecord{
				fromCart(order("o1", 10*s, mockstore.OrderPaymentPending, 10*s, mockstore.OrderPaid, 14*s), "u:a", 3),
				paid("o2", 12*s, "u:a", 4)},
			say: []string{"created while o1 was payment_pending"}},
		{name: "still being paid at the audit counts", series: retries(12), status: Fail, got: 1,
			orders: []mockstore.OrderRecord{paid("o1", 10*s, "u:a", 3), fromCart(order("o2", 20*s, mockstore.OrderPaymentPending, 20*s), "u:a", 3)}},
		{name: "a cart filled again", series: retries(12), status: Pass,
			orders: []mockstore.OrderRecord{paid("o1", 10*s, "u:a", 3), paid("o2", 20*s, "u:a", 5)}},
		{name: "ordered again after a failure", series: retries(12), status: Pass,
			orders: []mockstore.OrderRecord{
				fromCart(order("o1", 10*s, mockstore.OrderPaymentPending, 10*s, mockstore.OrderFailed, 11*s), "u:a", 3),
				paid("o2", 20*s, "u:a", 3)}},
		{name: "too few retried under a new key", series: retries(int64(least - 1)), status: Unknown,
			orders: []mockstore.OrderRecord{paid("o1", 10*s, "u:a", 3), paid("o2", 20*s, "u:a", 4)},
			say:    []string{fmt.Sprintf("judged %d checkouts retried under a new key, fewer than %d", least-1, least)}},
		{name: "too few retried, a cart ordered twice all the same", series: retries(int64(least - 1)), status: Fail, got: 1,
			orders: []mockstore.OrderRecord{paid("o1", 10*s, "u:a", 3), paid("o2", 20*s, "u:a", 3)},
			say:    []string{"cart u:a ordered twice"}},
		{name: "no load series", status: Unknown, say: []string{"judged 0 checkouts retried under a new key"},
			orders: []mockstore.OrderRecord{paid("o1", 10*s, "u:a", 3)}},
		{name: "orders not read", series: retries(12), unread: true, status: Unknown},
		{name: "no order placed", series: retries(12), status: Unknown, say: []string{"no order was placed"},
			orders: []mockstore.OrderRecord{fromCart(order("o1", 10*s, mockstore.OrderPaymentPending, 10*s, mockstore.OrderFailed, 11*s), "u:a", 3)}},
		{name: "an audit without carts", series: retries(12), status: Unknown, say: []string{"name no cart"},
			orders: []mockstore.OrderRecord{order("o1", 10*s, mockstore.OrderPaymentPending, 10*s, mockstore.OrderPaid, 11*s)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{Timeline: timeline()}
			r.Audit.Orders = tt.orders
			if tt.unread {
				r.Audit.Unread = map[string]string{env.SourceOrders: "connection refused"}
			}
			if tt.series != nil {
				var b builder
				tt.series(&b)
				r.Series = b.pts
			}
			v := Decide(r, check)
			wantVerdict(t, v, tt.status, tt.got, tt.say...)
			if v.Status == Fail && (v.Evidence.First == "" || v.Evidence.Worst == "") {
				t.Errorf("a failure without evidence: %+v", v.Evidence)
			}
		})
	}
}
