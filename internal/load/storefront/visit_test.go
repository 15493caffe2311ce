package storefront

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/load"
)

// TestAside: a failed food or QR journey does not end the visit, unless
// it left the shopper logged out.
func TestAside(t *testing.T) {
	t.Parallel()
	unauthenticated := reply(401, `{"error":{"code":"unauthenticated"}}`)
	tests := []struct {
		name   string
		routes map[string]http.HandlerFunc
		want   []string
	}{
		{"food fails", map[string]http.HandlerFunc{"GET /api/v1/food/restaurants": reply(500, `{"error":{"code":"internal"}}`)},
			[]string{"food=false", "qr=true", "browse=true", "cart=true", "wallet=true", "checkout=true"}},
		{"driver late", map[string]http.HandlerFunc{"GET /api/v1/food/orders/{id}": reply(200, `{"order_id":"f1","status":"accepted"}`)},
			[]string{"food=true", "chat=true", "food_delivery=false", "qr=true", "browse=true", "cart=true", "wallet=true", "checkout=true"}},
		{"chat fails", map[string]http.HandlerFunc{"POST /api/v1/food/orders/{id}/messages": reply(404, `{"error":{"code":"not_found"}}`)},
			[]string{"food=true", "chat=false", "food_delivery=true", "qr=true", "browse=true", "cart=true", "wallet=true", "checkout=true"}},
		{"QR fails", map[string]http.HandlerFunc{"POST /api/v1/wallet/pay": reply(402, `{"error":{"code":"insufficient_funds"}}`)},
			[]string{"food=true", "chat=true", "food_delivery=true", "qr=false", "browse=true", "cart=true", "wallet=true", "checkout=true"}},
		{"logged out for good", map[string]http.HandlerFunc{"POST /api/v1/food/orders": unauthenticated,
			"POST /api/v1/login": reply(400, `{"error":{"code":"invalid_request"}}`)},
			[]string{"login=false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			for route, h := range tt.routes {
				f.on(route, h)
			}
			s := quick()
			s.Food, s.QR, s.FoodWait = 1, 1, 500*time.Millisecond
			u, rec := loggedIn(t, f, s)
			u.Iterate(ctxFor(t), load.Iteration{})
			wantJourneys(t, rec, tt.want...)
		})
	}
}

// TestLogoutForgetsToken: the app forgets the session whatever the
// logout's answer; the next visit logs in again, and nothing is taken for
// a forced logout.
func TestLogoutForgetsToken(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.on("POST /api/v1/logout", noAnswer)
	s := quick()
	s.Logout = 1
	u, rec := loggedIn(t, f, s)
	u.Iterate(ctxFor(t), load.Iteration{N: 0})
	if u.token != "" {
		t.Fatal("the shopper kept the session after a logout without answer")
	}
	if n := rec.n(load.MetricReqs, load.Tags{Endpoint: "logout", Status: "0"}); n != maxAttempts {
		t.Errorf("%d logout attempts, want %d (it may be repeated)", n, maxAttempts)
	}
	f.on("POST /api/v1/logout", reply(204, ``))
	u.Iterate(ctxFor(t), load.Iteration{N: 1})
	wantJourneys(t, rec, "browse=true", "cart=true", "wallet=true", "checkout=true", "logout=false",
		"login=true", "browse=true", "cart=true", "wallet=true", "checkout=true", "logout=true")
	wantCount(t, rec, MetricForcedLogout, load.Tags{}, 0)
}

// TestCancel: a visit whose context ends returns at once, wherever it is,
// and records no failure for what was cut short; what the storefront
// answered before stays recorded.
func TestCancel(t *testing.T) {
	t.Parallel()
	hang := func(arrived chan<- struct{}) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			select {
			case arrived <- struct{}{}:
			default:
			}
			<-r.Context().Done()
		}
	}
	tests := []struct {
		name   string
		setup  func(f *fake, arrived chan<- struct{})
		think  time.Duration
		want   []string // journeys recorded
		errors float64  // shopper_error recorded
	}{
		{name: "in a request", setup: func(f *fake, arrived chan<- struct{}) {
			f.on(productsRoute, hang(arrived))
		}},
		{name: "waiting out a Retry-After", errors: 1, setup: func(f *fake, arrived chan<- struct{}) {
			f.on(productsRoute, func(w http.ResponseWriter, r *http.Request) {
				reply(503, `{"error":{"code":"maintenance"}}`, "Retry-After", "10")(w, r)
				arrived <- struct{}{}
			})
		}},
		{name: "thinking", think: time.Hour, setup: func(f *fake, arrived chan<- struct{}) { close(arrived) }},
		{name: "waiting for the code", errors: 1, setup: func(f *fake, arrived chan<- struct{}) {
			f.on("GET /api/v1/me", reply(401, `{"error":{"code":"unauthenticated"}}`))
			f.on(inboxRoute, func(w http.ResponseWriter, r *http.Request) {
				reply(200, `[]`)(w, r)
				select {
				case arrived <- struct{}{}:
				default:
				}
			})
		}},
		{name: "waiting for the order", want: []string{"browse=true", "cart=true", "wallet=true"}, setup: func(f *fake, arrived chan<- struct{}) {
			f.on("POST /api/v1/checkout", reply(201, `{"order_id":"o1","status":"payment_pending","amount":1000}`))
			f.on("GET /api/v1/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
				reply(200, `{"order_id":"o1","status":"payment_pending","amount":1000}`)(w, r)
				select {
				case arrived <- struct{}{}:
				default:
				}
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			arrived := make(chan struct{}, 1)
			tt.setup(f, arrived)
			s := quick()
			s.Think = tt.think
			u, rec := loggedIn(t, f, s)
			u.balance = 5000
			ctx, cancel := context.WithCancel(ctxFor(t))
			done := make(chan struct{})
			go func() {
				defer close(done)
				u.Iterate(ctx, load.Iteration{})
			}()
			select {
			case <-arrived:
			case <-time.After(testTimeout):
				t.Fatal("the visit never got where it is to be cancelled")
			}
			rec.waitFor(t, "the errors shown before the end", func() bool { return rec.sum(MetricShopperError, load.Tags{}) == tt.errors })
			cancel()
			cancelled := time.Now()
			select {
			case <-done:
			case <-time.After(testTimeout):
				t.Fatal("the visit did not end after its context")
			}
			if took := time.Since(cancelled); took > 200*time.Millisecond {
				t.Errorf("the visit ended %v after its context", took)
			}
			wantJourneys(t, rec, tt.want...)
			wantCount(t, rec, MetricShopperError, load.Tags{}, tt.errors)
			if tt.name == "waiting for the order" && u.balance != 5_000_000-1000 {
				t.Errorf("the shopper knows of %d in the wallet, want 4 999 000: the order cut short may be charged", u.balance)
			}
		})
	}
}
