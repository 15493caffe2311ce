package storefront

import (
	"context"
	"net/http"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/mockstore"
)

// TestZeroBalanceShown: a wallet shown as 0 is counted only when it is
// not marked stale and the least the shopper knows it holds is above 0; a
// stale balance is no lower bound; a balance shown becomes the new one.
func TestZeroBalanceShown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		known   int64 // the lower bound before
		wallet  string
		counted float64
		after   int64 // the lower bound after (a low balance is topped up to the fake's 7 000 000)
		ok      bool
	}{
		{"zero while money is known", 1000, `{"balance":0}`, 1, 7_000_000, true},
		{"zero after spending it all", 0, `{"balance":0}`, 0, 7_000_000, true},
		{"zero while the balance is unknown", -1, `{"balance":0}`, 0, 7_000_000, true},
		{"stale zero", 1000, `{"balance":0,"stale":true}`, 0, 7_000_000, true},
		{"stale balance", 5_000_000, `{"balance":3000000,"stale":true}`, 0, -1, true},
		{"fresh balance", -1, `{"balance":3000000}`, 0, 3_000_000, true},
		{"no balance", 1000, `{"currency":"IDR"}`, 0, 1000, false},
	}
	for _, tt := range tests {
		f := newFake(t)
		f.on("GET /api/v1/wallet", reply(200, tt.wallet))
		u, rec := loggedIn(t, f, quick())
		u.balance = tt.known
		err := u.wallet(ctxFor(t))
		if (err == nil) != tt.ok {
			t.Errorf("%s: wallet journey %v, want ok %v", tt.name, err, tt.ok)
		}
		if got := rec.sum(MetricZeroBalanceShown, load.Tags{Endpoint: "wallet", Journey: JourneyWallet}); got != tt.counted {
			t.Errorf("%s: zero_balance_shown %v, want %v", tt.name, got, tt.counted)
		}
		if u.balance != tt.after {
			t.Errorf("%s: the shopper knows of %d, want %d", tt.name, u.balance, tt.after)
		}
	}
}

// TestSpent: what a checkout or a QR payment may have taken lowers the
// least the shopper knows the wallet holds: by the amount when it is
// known, to unknown when the outcome is not (no answer, a 5xx, an answer
// without an amount); a 4xx took nothing. An unknown balance stays so.
func TestSpent(t *testing.T) {
	t.Parallel()
	busy := reply(503, `{"error":{"code":"temporarily_unavailable"}}`, "Retry-After", "0.01")
	tests := []struct {
		name   string
		route  string
		answer http.HandlerFunc
		known  int64
		after  int64
	}{
		{"checkout paid", "POST /api/v1/checkout", reply(201, `{"order_id":"o1","status":"paid","amount":1000}`), 5000, 4000},
		{"checkout without amount", "POST /api/v1/checkout", reply(201, `{"order_id":"o1","status":"paid"}`), 5000, -1},
		{"checkout without order", "POST /api/v1/checkout", reply(201, `{}`), 5000, -1},
		{"checkout refused", "POST /api/v1/checkout", reply(422, `{"error":{"code":"cart_empty"}}`), 5000, 5000},
		{"checkout busy", "POST /api/v1/checkout", busy, 5000, -1},
		{"checkout unanswered", "POST /api/v1/checkout", noAnswer, 5000, -1},
		{"checkout failed", "POST /api/v1/checkout", reply(201, `{"order_id":"o1","status":"failed","amount":1000}`), 5000, 4000},
		{"checkout while unknown", "POST /api/v1/checkout", reply(201, `{"order_id":"o1","status":"paid","amount":1000}`), -1, -1},
		{"QR paid more than asked", "POST /api/v1/wallet/pay", reply(200, `{"payment_id":"p","amount":20000}`), 100_000, 80_000},
		{"QR paid", "POST /api/v1/wallet/pay", reply(200, `{"payment_id":"p","amount":10000}`), 100_000, 90_000},
		{"QR paid without amount", "POST /api/v1/wallet/pay", reply(200, `{"payment_id":"p"}`), 100_000, 90_000},
		{"QR refused", "POST /api/v1/wallet/pay", reply(402, `{"error":{"code":"insufficient_funds"}}`), 100_000, 100_000},
		{"QR failed", "POST /api/v1/wallet/pay", reply(500, `{"error":{"code":"internal"}}`), 100_000, -1},
		{"QR unanswered", "POST /api/v1/wallet/pay", noAnswer, 100_000, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.on(tt.route, tt.answer)
			u, _ := loggedIn(t, f, quick())
			u.balance = tt.known
			if strings.Contains(tt.route, "checkout") {
				_ = u.checkout(ctxFor(t), u.s.cfg.Data.Couriers[0])
			} else {
				_ = u.pay(ctxFor(t), qrPrefix+"r01", 10_000)
			}
			if u.balance != tt.after {
				t.Errorf("the shopper knows of %d, want %d", u.balance, tt.after)
			}
		})
	}
}

// TestKeysKeptAcrossRetries: a top-up's reference and the Idempotency-Key
// of a checkout, a food order, a chat message and a QR payment are the
// same on every retry of one visit, and differ from one visit to the next.
func TestKeysKeptAcrossRetries(t *testing.T) {
	t.Parallel()
	busy := reply(503, `{"error":{"code":"temporarily_unavailable"}}`, "Retry-After", "0.01")
	routes := []string{"POST /api/v1/wallet/topup", "POST /api/v1/checkout", "POST /api/v1/food/orders",
		"POST /api/v1/food/orders/{id}/messages", "POST /api/v1/wallet/pay"}
	f := newFake(t)
	f.on("GET /api/v1/wallet", reply(200, `{"balance":10}`))
	f.on("GET /api/v1/orders/{id}", reply(200, `{"order_id":"o1","status":"paid","amount":1000}`))
	s := quick()
	s.Food, s.QR = 1, 1
	u, rec := loggedIn(t, f, s)
	for n := range int64(2) {
		for _, r := range routes {
			f.mu.Lock()
			h := f.handlers[r]
			f.mu.Unlock()
			f.on(r, sequence(busy, h))
		}
		u.Iterate(ctxFor(t), load.Iteration{N: 10 + n})
	}
	wantJourneys(t, rec, slices.Repeat([]string{"food=true", "chat=true", "food_delivery=true", "qr=true",
		"browse=true", "cart=true", "wallet=true", "checkout=true"}, 2)...)
	for _, r := range routes {
		reqs := f.requests(r)
		if len(reqs) != 4 {
			t.Fatalf("%s: %d requests, want 2 visits × 2 attempts", r, len(reqs))
		}
		key := func(rq fakeRequest) string {
			if strings.Contains(r, "topup") {
				return rq.decode(t)["reference"].(string)
			}
			return rq.header.Get("Idempotency-Key")
		}
		k0, k1, k2, k3 := key(reqs[0]), key(reqs[1]), key(reqs[2]), key(reqs[3])
		if k0 == "" || k0 != k1 || k2 != k3 || k0 == k2 {
			t.Errorf("%s: keys %q %q | %q %q; want one per visit, the same on its retry", r, k0, k1, k2, k3)
		}
		if !strings.HasSuffix(k0, "-1-10") || !strings.HasSuffix(k2, "-1-11") {
			t.Errorf("%s: keys %q, %q; want them to end with the VU and the iteration", r, k0, k2)
		}
	}
}

// TestCrossUserData: an answer about another user than the one logged in
// is counted where it was seen, once per answer (twice for a food order
// read that names another order and another user).
func TestCrossUserData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		route      string
		answer     string
		endpoint   string
		journey    string
		perRequest float64 // counted per request of endpoint
	}{
		{"me", "GET /api/v1/me", `{"user_id":"u2"}`, "me", JourneyBrowse, 1},
		{"me without user", "GET /api/v1/me", `{}`, "me", JourneyBrowse, 1},
		{"order", "GET /api/v1/orders/{id}", `{"order_id":"o2","status":"paid","amount":1}`, "order", JourneyCheckout, 1},
		{"food order", "POST /api/v1/food/orders", `{"order_id":"f1","user_id":"u2","status":"placed"}`, "food_order", JourneyFood, 1},
		{"food order without user", "POST /api/v1/food/orders", `{"order_id":"f1","status":"placed"}`, "food_order", JourneyFood, 0},
		{"chat", "POST /api/v1/food/orders/{id}/messages", `{"message_id":"c1","from":"u2"}`, "chat_send", JourneyChat, 1},
		{"food order read", "GET /api/v1/food/orders/{id}", `{"order_id":"f2","user_id":"u2","status":"assigned"}`, "food_order_get", JourneyFoodDelivery, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.on(tt.route, reply(200, tt.answer))
			if tt.endpoint == "order" {
				f.on("POST /api/v1/checkout", reply(201, `{"order_id":"o1","status":"payment_pending","amount":1}`))
			}
			s := quick()
			s.Food, s.FoodWait = 1, 700*time.Millisecond
			u, rec := loggedIn(t, f, s)
			ctx, cancel := context.WithTimeout(ctxFor(t), time.Second) // for the order that never settles
			defer cancel()
			u.Iterate(ctx, load.Iteration{})
			n := rec.n(load.MetricReqs, load.Tags{Endpoint: tt.endpoint, Status: "2xx"})
			if n == 0 {
				t.Fatalf("no answer on %s; recorded:\n%s", tt.endpoint, rec)
			}
			wantCount(t, rec, MetricCrossUserData, load.Tags{Endpoint: tt.endpoint, Journey: tt.journey}, tt.perRequest*float64(n))
			wantCount(t, rec, MetricCrossUserData, load.Tags{}, tt.perRequest*float64(n))
		})
	}
}

// TestCart: the shopper puts in a product the courier can carry (and
// half its weight limit), sometimes a second one taken out again, and
// takes out what the courier cannot carry, keeping the lightest lines up
// to its limit; the journey succeeds when something is kept.
func TestCart(t *testing.T) {
	t.Parallel()
	courier := mockstore.Courier{ID: "c", Areas: []string{"jakarta"}, MaxWeightG: 1000, MaxSizeCM: 50}
	catalogue := []mockstore.Product{
		{ID: "light", WeightG: 100, SizeCM: 10}, {ID: "half", WeightG: 500, SizeCM: 10},
		{ID: "heavy", WeightG: 900, SizeCM: 10}, {ID: "long", WeightG: 100, SizeCM: 60},
	}
	t.Run("trim", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		f.on("GET /api/v1/cart", reply(200, `{"items":[{"product_id":"heavy","qty":1},{"product_id":"long","qty":1},`+
			`{"product_id":"half","qty":1},{"product_id":"gone","qty":1},{"product_id":"light","qty":2}]}`))
		u, rec := loggedIn(t, f, quick())
		u.products = catalogue
		if err := u.cart(ctxFor(t), courier); err != nil {
			t.Fatalf("cart: %v", err)
		}
		wantJourneys(t, rec, "cart=true")
		// By weight: gone (not in the catalogue, so weighing nothing to
		// sort) is taken out, light (2 × 100 g) kept, long does not fit,
		// half (500 g) kept, heavy would go over 1000 g.
		if got, want := removedAfterCart(f), []string{"gone", "long", "heavy"}; !slices.Equal(got, want) {
			t.Errorf("taken out %v, want %v", got, want)
		}
	})
	t.Run("nothing the courier carries", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		u, rec := loggedIn(t, f, quick())
		u.products = catalogue[2:] // heavy is over half the limit, long too long
		if err := u.cart(ctxFor(t), courier); err != errStop {
			t.Fatalf("cart: %v, want it failed", err)
		}
		wantJourneys(t, rec, "cart=false")
		if n := len(f.requests("POST /api/v1/cart/items")); n != 0 {
			t.Errorf("%d products put in, want none", n)
		}
	})
	t.Run("second thoughts", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		f.on("GET /api/v1/cart", reply(200, `{"items":[{"product_id":"light","qty":1}]}`))
		u, _ := loggedIn(t, f, quick())
		u.products = catalogue
		const carts = 60
		for range carts {
			if err := u.cart(ctxFor(t), courier); err != nil {
				t.Fatalf("cart: %v", err)
			}
		}
		// Two products are candidates: 30% of carts draw a second one,
		// half of those the other product, put in and taken out again.
		n := len(f.requests("DELETE /api/v1/cart/items/{id}"))
		if n < 3 || n > 20 {
			t.Errorf("%d of %d carts got a second product taken out again, want about 9", n, carts)
		}
		if adds := len(f.requests("POST /api/v1/cart/items")); adds != carts+n {
			t.Errorf("%d products put in over %d carts with %d second thoughts, want %d", adds, carts, n, carts+n)
		}
	})
}

// removedAfterCart returns the products taken out of the cart after it
// was read, in order.
func removedAfterCart(f *fake) []string {
	var out []string
	read := false
	for _, rq := range f.all() {
		switch {
		case rq.route == "GET /api/v1/cart":
			read = true
		case read && rq.route == "DELETE /api/v1/cart/items/{id}":
			out = append(out, path.Base(rq.path))
		}
	}
	return out
}
