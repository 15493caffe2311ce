package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/auth"
	"github.com/gameday/gameday/mockstore/checkout"
	"github.com/gameday/gameday/mockstore/food"
	"github.com/gameday/gameday/mockstore/otp"
	"github.com/gameday/gameday/mockstore/sessions"
	"github.com/gameday/gameday/mockstore/wallet"
)

// stack is the real storefront: every service on an httptest server, the
// gateway's upstreams and auth's session store behind links the test can cut.
type stack struct {
	data     mockstore.Dataset
	gw       *Service
	url      string
	auditURL string
	inbox    *otp.Client

	authLink, coLink, walLink, sessLink, foodLink *link
	walletAudit, foodAudit                        string // audit base URLs
}

func newStack(tb testing.TB, f mockstore.Features, tweak func(*Config)) *stack {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	st := &stack{data: mockstore.Seed(7, 20)}
	serve := func(h http.Handler) *httptest.Server {
		srv := httptest.NewServer(h)
		tb.Cleanup(srv.Close)
		return srv
	}
	closeLater := func(c interface{ Close() error }) {
		tb.Cleanup(func() {
			if err := c.Close(); err != nil {
				tb.Errorf("close: %v", err)
			}
		})
	}

	sess, err := sessions.New(ctx, sessions.Config{DBPath: filepath.Join(dir, "sessions.db"), Features: f})
	if err != nil {
		tb.Fatalf("sessions: %v", err)
	}
	closeLater(sess)
	st.sessLink = newLink(tb, hostOf(serve(sess.Handler())), linkPass)

	op, err := otp.New(ctx, otp.Config{DBPath: filepath.Join(dir, "otp.db"), Features: f})
	if err != nil {
		tb.Fatalf("otp: %v", err)
	}
	closeLater(op)
	otpSrv := serve(op.Handler())
	st.inbox = otp.NewClient(otpSrv.URL, nil)

	wal, err := wallet.New(ctx, wallet.Config{DBPath: filepath.Join(dir, "wallet.db"), Dataset: st.data, Features: f})
	if err != nil {
		tb.Fatalf("wallet: %v", err)
	}
	closeLater(wal)
	walSrv := serve(wal.Handler())

	au, err := auth.New(ctx, auth.Config{
		DBPath:          filepath.Join(dir, "auth.db"),
		Dataset:         st.data,
		SessionsURL:     st.sessLink.URL(),
		OTPURL:          otpSrv.URL,
		SessionsTimeout: 500 * time.Millisecond,
		Features:        f,
	})
	if err != nil {
		tb.Fatalf("auth: %v", err)
	}
	closeLater(au)

	co, err := checkout.New(ctx, checkout.Config{
		DBPath:    filepath.Join(dir, "checkout.db"),
		WalletURL: walSrv.URL,
		Dataset:   st.data,
		Features:  f,
	})
	if err != nil {
		tb.Fatalf("checkout: %v", err)
	}
	closeLater(co)

	fd, err := food.New(ctx, food.Config{DBPath: filepath.Join(dir, "food.db"), Dataset: st.data, Features: f})
	if err != nil {
		tb.Fatalf("food: %v", err)
	}
	closeLater(fd)
	st.walletAudit = serve(wal.AuditHandler()).URL
	st.foodAudit = serve(fd.AuditHandler()).URL

	st.authLink = newLink(tb, hostOf(serve(au.Handler())), linkPass)
	st.foodLink = newLink(tb, hostOf(serve(fd.Handler())), linkPass)
	st.coLink = newLink(tb, hostOf(serve(co.Handler())), linkPass)
	st.walLink = newLink(tb, hostOf(serve(wal.Handler())), linkPass)
	cfg := Config{
		AuthURL:     st.authLink.URL(),
		CheckoutURL: st.coLink.URL(),
		WalletURL:   st.walLink.URL(),
		FoodURL:     st.foodLink.URL(),
		Features:    f,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	st.gw, st.url, st.auditURL = startGateway(tb, cfg)
	return st
}

func (st *stack) call(tb testing.TB, method, path, body string, hdr ...string) resp {
	tb.Helper()
	return call(tb, st.url, method, path, body, hdr...)
}

// user returns the first seeded user with status.
func (st *stack) user(tb testing.TB, status string) mockstore.User {
	tb.Helper()
	for _, u := range st.data.Users {
		if u.Status == status {
			return u
		}
	}
	tb.Fatalf("no %s user in the dataset", status)
	return mockstore.User{}
}

// login signs u in the way a shopper does: start, read the code from the
// phone's inbox, verify. It returns the token.
func (st *stack) login(tb testing.TB, u mockstore.User) string {
	tb.Helper()
	var ls auth.LoginStarted
	st.call(tb, "POST", "/api/v1/login", `{"phone":"`+u.Phone+`"}`).decode(tb, http.StatusAccepted, &ls)
	code := st.waitCode(tb, u.Phone, ls.LoginID)
	r := st.call(tb, "POST", "/api/v1/login/verify", fmt.Sprintf(`{"login_id":%q,"code":%q}`, ls.LoginID, code))
	var v auth.Verified
	r.decode(tb, http.StatusOK, &v)
	if v.UserID != u.ID || v.Token == "" {
		tb.Fatalf("verify: %+v, want user %s", v, u.ID)
	}
	if c := r.cookie(SessionCookie); c == nil || c.Value != v.Token {
		tb.Fatalf("verify set no session cookie: %v", r.header.Values("Set-Cookie"))
	}
	return v.Token
}

// waitCode polls the phone's inbox, with a deadline, for loginID's code.
func (st *stack) waitCode(tb testing.TB, phone, loginID string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		msgs, err := st.inbox.Inbox(ctx, phone)
		if err != nil && ctx.Err() == nil {
			tb.Fatalf("inbox: %v", err)
		}
		for _, m := range msgs {
			if m.LoginID == loginID {
				return m.Code
			}
		}
		if !sleep(ctx, 10*time.Millisecond) {
			tb.Fatalf("no code for login %s within the deadline", loginID)
		}
	}
}

func productByID(tb testing.TB, ps []mockstore.Product, id string) mockstore.Product {
	tb.Helper()
	for _, p := range ps {
		if p.ID == id {
			return p
		}
	}
	tb.Fatalf("no product %s", id)
	return mockstore.Product{}
}

// TestJourney walks a shopper through the whole public API against the real
// services.
func TestJourney(t *testing.T) {
	st := newStack(t, features(), nil)
	u := st.user(t, mockstore.StatusActive)
	tok := st.login(t, u)
	authz := bearer(tok)
	cookie := []string{"Cookie", SessionCookie + "=" + tok}

	var me meResponse
	st.call(t, "GET", "/api/v1/me", "", cookie...).decode(t, 200, &me)
	if me.UserID != u.ID || me.Phone != u.Phone {
		t.Fatalf("me = %+v, want %s %s", me, u.ID, u.Phone)
	}

	var ps []mockstore.Product
	st.call(t, "GET", "/api/v1/products", "").decode(t, 200, &ps)
	if len(ps) != len(st.data.Products) {
		t.Fatalf("%d products, want %d", len(ps), len(st.data.Products))
	}
	p1, p2 := productByID(t, ps, "p001"), productByID(t, ps, "p002")

	var cart checkout.Cart
	st.call(t, "POST", "/api/v1/cart/items", `{"product_id":"p001","qty":2}`, authz...).decode(t, 200, &cart)
	st.call(t, "POST", "/api/v1/cart/items", `{"product_id":"p002","qty":1}`, authz...).decode(t, 200, &cart)
	if cart.Total != 2*p1.Price+p2.Price {
		t.Fatalf("cart %+v", cart)
	}
	st.call(t, "DELETE", "/api/v1/cart/items/p002", "", authz...).decode(t, 200, &cart)
	st.call(t, "GET", "/api/v1/cart", "", cookie...).decode(t, 200, &cart)
	if len(cart.Items) != 1 || cart.Items[0].ProductID != "p001" || cart.Items[0].Qty != 2 || cart.Total != 2*p1.Price {
		t.Fatalf("cart after remove %+v", cart)
	}
	st.call(t, "POST", "/api/v1/cart/items", `{"product_id":"p404","qty":1}`, authz...).wantError(t, 422, mockstore.CodeUnknownProduct)

	var w walletResponse
	st.call(t, "GET", "/api/v1/wallet", "", authz...).decode(t, 200, &w)
	if w.Balance != u.Balance || w.Currency != mockstore.Currency || w.AsOf.IsZero() || w.Stale {
		t.Fatalf("wallet %+v, want balance %d", w, u.Balance)
	}
	var tp topupResponse
	st.call(t, "POST", "/api/v1/wallet/topup", `{"amount":10000,"reference":"ref-1"}`, authz...).decode(t, 200, &tp)
	if tp.Balance != u.Balance+10_000 || tp.Replayed {
		t.Fatalf("topup %+v", tp)
	}
	st.call(t, "POST", "/api/v1/wallet/topup", `{"amount":10000,"reference":"ref-1"}`, authz...).decode(t, 200, &tp)
	if tp.Balance != u.Balance+10_000 || !tp.Replayed {
		t.Fatalf("topup replay %+v: the same reference must not add money twice", tp)
	}
	st.call(t, "POST", "/api/v1/wallet/topup", `{"amount":999,"reference":"ref-1"}`, authz...).wantError(t, 409, mockstore.CodeIdempotencyConflict)

	// Refusals come through with their specific codes.
	body := func(area, courier, method string) string {
		return fmt.Sprintf(`{"address":{"line":"Jl. Sudirman 1","area":%q},"courier":%q,"payment_method":%q}`, area, courier, method)
	}
	withKey := func(k string) []string { return append(bearer(tok), "Idempotency-Key", k) }
	st.call(t, "POST", "/api/v1/checkout", body("jakarta", "jne", "card"), withKey("k-card")...).wantError(t, 422, mockstore.CodePaymentUnsupported)
	st.call(t, "POST", "/api/v1/checkout", body("papua", "jne", "wallet"), withKey("k-papua")...).wantError(t, 422, mockstore.CodeAddressNotServed)
	st.call(t, "POST", "/api/v1/checkout", body("jakarta", "ojek", "wallet"), withKey("k-ojek")...).wantError(t, 422, mockstore.CodeUnknownCourier)
	st.call(t, "POST", "/api/v1/checkout", body("jakarta", "jne", "wallet"), authz...).wantError(t, 400, mockstore.CodeIdempotencyKey)

	var o checkout.Order
	st.call(t, "POST", "/api/v1/checkout", body("jakarta", "jne", "wallet"), withKey("k-1")...).decode(t, 201, &o)
	if o.OrderID == "" || o.Amount != 2*p1.Price {
		t.Fatalf("order %+v", o)
	}
	var again checkout.Order
	st.call(t, "POST", "/api/v1/checkout", body("jakarta", "jne", "wallet"), withKey("k-1")...).decode(t, 201, &again)
	if again.OrderID != o.OrderID {
		t.Fatalf("a retry with the same key made order %s, first %s", again.OrderID, o.OrderID)
	}
	o = st.waitOrder(t, tok, o.OrderID)
	if o.Status != mockstore.OrderPaid {
		t.Fatalf("order settled %s, want paid", o.Status)
	}
	st.call(t, "GET", "/api/v1/wallet", "", authz...).decode(t, 200, &w)
	if want := u.Balance + 10_000 - o.Amount; w.Balance != want {
		t.Fatalf("balance after checkout %d, want %d", w.Balance, want)
	}

	// Another shopper sees neither the order nor the cart.
	other := st.data.Users[1]
	otok := st.login(t, other)
	st.call(t, "GET", "/api/v1/orders/"+o.OrderID, "", bearer(otok)...).wantError(t, 404, mockstore.CodeNotFound)

	// A restricted account is refused at checkout: its status came from auth.
	ru := st.user(t, mockstore.StatusRestricted)
	rtok := st.login(t, ru)
	st.call(t, "POST", "/api/v1/cart/items", `{"product_id":"p001","qty":1}`, bearer(rtok)...).decode(t, 200, nil)
	st.call(t, "POST", "/api/v1/checkout", body("jakarta", "jne", "wallet"), append(bearer(rtok), "Idempotency-Key", "k-r")...).
		wantError(t, 403, mockstore.CodeAccountRestricted)

	// Logout revokes the session.
	r := st.call(t, "POST", "/api/v1/logout", "", cookie...)
	r.decode(t, 204, nil)
	if c := r.cookie(SessionCookie); c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout left the cookie: %v", r.header.Values("Set-Cookie"))
	}
	st.call(t, "GET", "/api/v1/me", "", authz...).wantError(t, 401, mockstore.CodeUnauthenticated)
	st.call(t, "GET", "/api/v1/orders/"+o.OrderID, "", authz...).wantError(t, 401, mockstore.CodeUnauthenticated)

	a := readAudit(t, st.auditURL)
	if a.ForcedLogouts != 0 || a.Bare5xx != 0 || a.CrossUserData != 0 {
		t.Fatalf("audit after a clean journey: %+v", a)
	}
	for k := range a.Responses {
		if strings.HasPrefix(k, "5") {
			t.Fatalf("5xx in a clean journey: %v", a.Responses)
		}
	}
}

// waitOrder polls an order, with a deadline, until it settles.
func (st *stack) waitOrder(tb testing.TB, token, orderID string) checkout.Order {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		var o checkout.Order
		st.call(tb, "GET", "/api/v1/orders/"+orderID, "", bearer(token)...).decode(tb, 200, &o)
		if o.Status == mockstore.OrderPaid || o.Status == mockstore.OrderFailed || o.Status == mockstore.OrderRefunded {
			return o
		}
		if !sleep(ctx, 20*time.Millisecond) {
			tb.Fatalf("order %s still %s at the deadline", orderID, o.Status)
		}
	}
}

// TestFeaturesWithRealServices turns each gateway defence on and off with
// a real upstream cut off behind its link.
func TestFeaturesWithRealServices(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run("honest_errors "+onOff(on), func(t *testing.T) {
			f := features()
			f[mockstore.HonestErrors] = on
			st := newStack(t, f, nil)
			u := st.user(t, mockstore.StatusActive)
			st.authLink.set(linkReset)
			r := st.call(t, "POST", "/api/v1/login", `{"phone":"`+u.Phone+`"}`)
			if on {
				r.wantError(t, 503, mockstore.CodeUnavailable)
			} else {
				r.wantError(t, 404, mockstore.CodeNotRegistered)
			}
			st.authLink.set(linkPass)
			st.coLink.set(linkReset)
			r = st.call(t, "GET", "/api/v1/cart", "")
			if on {
				r.wantError(t, 503, mockstore.CodeUnavailable)
			} else {
				r.wantError(t, 500, mockstore.CodeInternal)
			}
		})
		t.Run("session_fallback "+onOff(on), func(t *testing.T) {
			f := features()
			f[mockstore.SessionFallback] = on
			st := newStack(t, f, nil)
			tok := st.login(t, st.user(t, mockstore.StatusActive))
			cookie := []string{"Cookie", SessionCookie + "=" + tok}
			st.sessLink.set(linkReset) // the session store is gone: auth cannot validate
			r := st.call(t, "GET", "/api/v1/me", "", cookie...)
			if on {
				r.wantError(t, 503, mockstore.CodeUnavailable)
				if c := r.cookie(SessionCookie); c != nil {
					t.Fatalf("cookie touched: %+v", c)
				}
			} else {
				r.wantError(t, 401, mockstore.CodeUnauthenticated)
				if c := r.cookie(SessionCookie); c == nil || c.MaxAge >= 0 {
					t.Fatalf("cookie not cleared: %v", r.header.Values("Set-Cookie"))
				}
			}
			st.sessLink.set(linkPass)
			st.call(t, "GET", "/api/v1/me", "", cookie...).decode(t, 200, nil)
			if a := readAudit(t, st.auditURL); a.ForcedLogouts != map[bool]int{true: 0, false: 1}[on] {
				t.Fatalf("forced logouts %d", a.ForcedLogouts)
			}
		})
		t.Run("circuit_breakers "+onOff(on), func(t *testing.T) {
			f := features()
			f[mockstore.CircuitBreakers] = on
			st := newStack(t, f, nil)
			st.coLink.set(linkReset)
			const calls = DefaultBreakerThreshold + 3
			for range calls {
				e := st.call(t, "GET", "/api/v1/products", "").wantError(t, 503, mockstore.CodeUnavailable)
				if e.RetryAfter > int(DefaultBreakerOpenFor/time.Second) {
					t.Fatalf("Retry-After %d beyond the breaker's open time", e.RetryAfter)
				}
			}
			// With the budget on, nothing is retried before ten calls: one
			// attempt per call until the breaker opens.
			want := int64(calls)
			if on {
				want = DefaultBreakerThreshold
			}
			if got := st.coLink.accepted.Load(); got != want {
				t.Fatalf("checkout was tried %d times, want %d", got, want)
			}
			if a := readAudit(t, st.auditURL); a.BreakerOpenings["checkout"] != map[bool]int{true: 1, false: 0}[on] {
				t.Fatalf("breaker openings %v", a.BreakerOpenings)
			}
		})
		t.Run("balance_cache "+onOff(on), func(t *testing.T) {
			f := features()
			f[mockstore.BalanceCache] = on
			st := newStack(t, f, nil)
			u := st.user(t, mockstore.StatusActive)
			tok := st.login(t, u)
			var w walletResponse
			st.call(t, "GET", "/api/v1/wallet", "", bearer(tok)...).decode(t, 200, &w)
			st.walLink.set(linkReset)
			var got walletResponse
			st.call(t, "GET", "/api/v1/wallet", "", bearer(tok)...).decode(t, 200, &got)
			if on && (got.Balance != u.Balance || !got.Stale || !got.AsOf.Equal(w.AsOf)) {
				t.Fatalf("on: %+v, want the last balance %d, stale, as of %v", got, u.Balance, w.AsOf)
			}
			if !on && (got.Balance != 0 || got.Stale) {
				t.Fatalf("off: %+v, want balance 0", got)
			}
		})
	}
}
