package checkout

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/gameday/gameday/mockstore"
)

// TestCheckoutOncePerCart retries a checkout with a new Idempotency-Key, as
// an app that lost the answer and makes a new key per attempt does. On, the
// cart is ordered once: the retry is answered with the cart's order. Off, a
// new key is a new order: a second order and a second charge while the
// first is still being paid, "cart empty" once it is paid.
func TestCheckoutOncePerCart(t *testing.T) {
	ctx := context.Background()
	for _, on := range []bool{false, true} {
		feats := append([]mockstore.Feature{}, allPaymentFeatures...)
		if on {
			feats = append(feats, mockstore.CheckoutOncePerCart)
		}
		name := map[bool]string{false: "off", true: "on"}[on]

		t.Run(name+"/retry after the order was paid", func(t *testing.T) {
			e := newEnv(t, false, withFeatures(feats...))
			req := e.buy(t, "u00001")
			first, err := e.client.Checkout(ctx, "k1", req)
			if err != nil || first.Status != mockstore.OrderPaid {
				t.Fatalf("checkout = %+v, %v; want paid", first, err)
			}
			status, code, raw := call(t, http.MethodPost, e.url+"/checkout", req, map[string]string{IdempotencyHeader: "k2"})
			if !on {
				if status != http.StatusUnprocessableEntity || code != mockstore.CodeCartEmpty {
					t.Fatalf("retry with a new key = %d %q %s; want 422 cart_empty", status, code, raw)
				}
				return
			}
			again := decodeOrder(t, raw)
			if status != http.StatusOK || again.OrderID != first.OrderID || again.Status != mockstore.OrderPaid || again.Replayed != ReplayCart {
				t.Fatalf("retry with a new key = %d %+v; want 200, order %s paid, replayed cart", status, again, first.OrderID)
			}
			if n := len(e.orders(t)); n != 1 {
				t.Errorf("%d orders, want 1", n)
			}
		})

		t.Run(name+"/retry while the order is being paid", func(t *testing.T) {
			e := newEnv(t, true, withFeatures(feats...))
			e.fwd.dropAll.Store(true) // the wallet acts, checkout never hears: the order stays pending
			req := e.buy(t, "u00001")
			bal := e.wallet.balance(t, "u00001")
			first, err := e.client.Checkout(ctx, "k1", req)
			if err != nil || first.Status != mockstore.OrderPaymentPending {
				t.Fatalf("checkout = %+v, %v; want payment_pending", first, err)
			}
			again, err := e.client.Checkout(ctx, "k2", req)
			if err != nil {
				t.Fatalf("retry with a new key: %v", err)
			}
			e.fwd.dropAll.Store(false)
			e.waitStatus(t, "u00001", first.OrderID, mockstore.OrderPaid, "")
			if on {
				if again.OrderID != first.OrderID || again.Replayed != ReplayCart {
					t.Fatalf("retry = %+v; want order %s, replayed cart", again, first.OrderID)
				}
			} else {
				if again.OrderID == first.OrderID || again.Replayed != "" {
					t.Fatalf("retry = %+v; want a new order", again)
				}
				e.waitStatus(t, "u00001", again.OrderID, mockstore.OrderPaid, "")
			}
			recs := e.orders(t)
			charged := int64(0)
			for _, r := range recs {
				if r.Cart != req.Owner || r.CartRev != 1 {
					t.Errorf("order %s recorded from cart %s rev %d, want %s rev 1", r.OrderID, r.Cart, r.CartRev, req.Owner)
				}
				charged += int64(len(e.wallet.chargesFor(t, r.OrderID))) * r.Amount
			}
			wantOrders := map[bool]int{false: 2, true: 1}[on]
			if len(recs) != wantOrders {
				t.Errorf("%d orders for one cart, want %d", len(recs), wantOrders)
			}
			if got := e.wallet.balance(t, "u00001"); got != bal-charged || charged != int64(wantOrders)*first.Amount {
				t.Errorf("charged %d (balance %d → %d), want %d orders of %d", charged, bal, got, wantOrders, first.Amount)
			}
		})

		t.Run(name+"/a cart filled again is a new order", func(t *testing.T) {
			e := newEnv(t, false, withFeatures(feats...))
			first, err := e.client.Checkout(ctx, "k1", e.buy(t, "u00001"))
			if err != nil || first.Status != mockstore.OrderPaid {
				t.Fatalf("checkout = %+v, %v; want paid", first, err)
			}
			second, err := e.client.Checkout(ctx, "k2", e.buy(t, "u00001"))
			if err != nil || second.OrderID == first.OrderID || second.Status != mockstore.OrderPaid || second.Replayed != "" {
				t.Fatalf("checkout of the cart filled again = %+v, %v; want a new paid order", second, err)
			}
		})

		t.Run(name+"/a failed order's cart may be ordered again", func(t *testing.T) {
			e := newEnv(t, true, withFeatures(feats...), func(c *Config) {
				c.Features[mockstore.PaymentReconciliation] = false // an unknown outcome fails the order at once
			})
			e.fwd.dropAll.Store(true)
			req := e.buy(t, "u00001")
			_, err := e.client.Checkout(ctx, "k1", req)
			if got := errCode(t, err); got != mockstore.CodeUnavailable {
				t.Fatalf("checkout = %v; want temporarily_unavailable (the order failed)", err)
			}
			e.fwd.dropAll.Store(false)
			again, err := e.client.Checkout(ctx, "k2", req)
			if err != nil || again.Status != mockstore.OrderPaid || again.Replayed != "" {
				t.Fatalf("checkout with a new key after the failure = %+v, %v; want a new paid order", again, err)
			}
		})
	}
}

func decodeOrder(tb testing.TB, raw []byte) Order {
	tb.Helper()
	var o Order
	if err := json.Unmarshal(raw, &o); err != nil {
		tb.Fatalf("decode order %s: %v", raw, err)
	}
	return o
}
