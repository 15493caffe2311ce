package storefront

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/checkout"
	"github.com/gameday/gameday/mockstore/food"
	shopperapi "github.com/gameday/gameday/mockstore/shopper"
	"github.com/gameday/gameday/mockstore/wallet"
)

// auditHC reads the services' audit handlers and own addresses.
var auditHC = mockstore.NewClient(testTimeout)

// TestJourneys walks shoppers through every journey on the resilient
// storefront, each on an account of its own.
func TestJourneys(t *testing.T) {
	t.Parallel()
	e := startEnv(t, env.Options{})
	t.Run("visit", func(t *testing.T) { t.Parallel(); checkVisit(t, e) })
	t.Run("WhatsApp login", func(t *testing.T) { t.Parallel(); checkWhatsAppLogin(t, e) })
	t.Run("QR payment", func(t *testing.T) { t.Parallel(); checkQR(t, e) })
	t.Run("food with partners", func(t *testing.T) { t.Parallel(); checkFood(t, e) })
}

// checkVisit: a shopper whose wallet runs low makes two whole visits:
// log in by SMS, browse, cart, wallet with a top-up, checkout paid,
// logout; the second visit logs in again. Every journey succeeds, every
// request is tagged with its endpoint and journey, nothing is counted
// against the storefront, and what the shopper knows of the wallet is
// exactly what it holds.
func checkVisit(t *testing.T, e *env.Inproc) {
	s := quick()
	s.Logout = 1
	sc := scriptFor(t, e, s)
	rec := newRecorder()
	u := shopperOf(t, sc, rec, func(u mockstore.User) bool { return u.Balance < lowBalance })
	ctx := ctxFor(t)

	u.Iterate(ctx, load.Iteration{N: 0})
	wantJourneys(t, rec, "login=true", "browse=true", "cart=true", "wallet=true", "checkout=true", "logout=true")
	if u.token != "" {
		t.Fatal("the shopper still holds a token after logging out")
	}
	for _, ep := range []struct{ endpoint, journey string }{
		{"login", "login"}, {"inbox", "login"}, {"login_verify", "login"}, {"products", "browse"}, {"me", "browse"},
		{"cart_add", "cart"}, {"cart", "cart"}, {"wallet", "wallet"}, {"topup", "wallet"}, {"checkout", "checkout"},
		{"logout", "logout"},
	} {
		if rec.n(load.MetricReqs, load.Tags{Endpoint: ep.endpoint, Journey: ep.journey, Status: "2xx"}) == 0 {
			t.Errorf("no answered request with endpoint %s, journey %s; recorded:\n%s", ep.endpoint, ep.journey, rec)
		}
	}
	if rec.n(MetricOTPWait, load.Tags{Journey: JourneyLogin}) != 1 {
		t.Errorf("otp_wait has %d samples, want 1", rec.n(MetricOTPWait, load.Tags{}))
	}
	wantCount(t, rec, MetricOrdersPaid, load.Tags{Journey: JourneyCheckout}, 1)
	for _, m := range []string{MetricShopperError, MetricForcedLogout, MetricBare5xx, MetricCrossUserData, MetricZeroBalanceShown} {
		wantCount(t, rec, m, load.Tags{}, 0)
	}
	orders, err := checkout.ReadOrders(ctx, auditHC, e.Info().Audit[mockstore.ServiceCheckout])
	if err != nil {
		t.Fatal(err)
	}
	var mine []mockstore.OrderRecord
	for _, o := range orders {
		if o.UserID == u.userID {
			mine = append(mine, o)
		}
	}
	if len(mine) != 1 || mine[0].Status != mockstore.OrderPaid {
		t.Fatalf("orders of %s: %+v, want one paid", u.userID, mine)
	}
	if got := accountOf(t, e, u.userID); u.balance != got {
		t.Errorf("the shopper knows of at least %d in the wallet, which holds %d", u.balance, got)
	}

	u.Iterate(ctx, load.Iteration{N: 1})
	if n, ok := rec.journey(JourneyLogin); n != 2 || ok != 2 {
		t.Fatalf("logins %d (%d ok) after a visit that logged out, want 2 (2 ok); recorded:\n%s", n, ok, rec)
	}
	wantCount(t, rec, MetricOrdersPaid, load.Tags{}, 2)
	wantCount(t, rec, MetricShopperError, load.Tags{}, 0)
}

// checkWhatsAppLogin: a login by WhatsApp reads the code from the login
// link of the message the phone received.
func checkWhatsAppLogin(t *testing.T, e *env.Inproc) {
	s := quick()
	s.WhatsApp = 1
	rec := newRecorder()
	u := shopperOf(t, scriptFor(t, e, s), rec, nil)
	if err := u.login(ctxFor(t)); err != nil {
		t.Fatalf("login: %v; recorded:\n%s", err, rec)
	}
	wantJourneys(t, rec, "login=true")
	var msgs []shopperapi.Message
	if err := mockstore.Call(ctxFor(t), auditHC, http.MethodGet, e.Info().OTPInbox+"/inbox/"+url.PathEscape(u.phone), nil, &msgs, nil); err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Channel != channelWhatsApp || !strings.Contains(msgs[0].Link, "code="+msgs[0].Code) {
		t.Fatalf("the phone received %+v, want one WhatsApp message with its login link", msgs)
	}
	if u.token == "" || u.userID != u.wantUser || rec.n(MetricOTPWait, load.Tags{}) != 1 {
		t.Fatalf("logged in as %q (token %t), want %s with otp_wait", u.userID, u.token != "", u.wantUser)
	}
}

// checkQR: a visit that pays a restaurant by QR code, then goes on with
// the shopping; what a payment took is what the shopper takes off the
// balance it knows of.
func checkQR(t *testing.T, e *env.Inproc) {
	s := quick()
	s.QR = 1
	sc := scriptFor(t, e, s)
	rec := newRecorder()
	u := shopperOf(t, sc, rec, nil)
	ctx := ctxFor(t)
	u.Iterate(ctx, load.Iteration{N: 0})
	wantJourneys(t, rec, "login=true", "qr=true", "browse=true", "cart=true", "wallet=true", "checkout=true")
	charges, err := wallet.ReadCharges(ctx, auditHC, e.Info().Audit[mockstore.ServiceWallet])
	if err != nil {
		t.Fatal(err)
	}
	var paid []mockstore.ChargeRecord
	for _, c := range charges {
		if c.UserID == u.userID && strings.HasPrefix(c.OrderID, "qr-") {
			paid = append(paid, c)
		}
	}
	if len(paid) != 1 || paid[0].Amount < 10_000 || paid[0].Amount > 50_000 || paid[0].Amount%1000 != 0 ||
		!strings.HasSuffix(paid[0].OrderID, u.key("qr")) {
		t.Fatalf("QR charges of %s: %+v, want one of 10 000..50 000 in thousands under key %s", u.userID, paid, u.key("qr"))
	}
	u.iter++ // a payment of its own, under a key of its own
	if err := u.qr(ctx); err != nil {
		t.Fatalf("a second payment: %v", err)
	}
	if got := accountOf(t, e, u.userID); u.balance != got {
		t.Errorf("after paying, the shopper knows of %d in the wallet, which holds %d", u.balance, got)
	}
}

// checkFood: with the merchants and drivers working, a visit orders food,
// writes to the restaurant and gets a driver, then shops; the partners'
// rounds succeed, and they stop as soon as their context ends.
func checkFood(t *testing.T, e *env.Inproc) {
	s := quick()
	s.Food, s.FoodWait = 1, 15*time.Second
	sc := scriptFor(t, e, s)
	ds := e.Dataset()
	if want := len(ds.Restaurants) + len(ds.Drivers); sc.Partners() != want || want == 0 {
		t.Fatalf("%d partners, want %d", sc.Partners(), want)
	}
	partners := newRecorder()
	ctx, cancel := context.WithCancel(ctxFor(t))
	var wg sync.WaitGroup
	for i := range sc.Partners() {
		p := sc.NewPartner(newVU(t, 1000+i, partners), i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Work(ctx)
		}()
	}
	stop := func() time.Duration {
		cancel()
		start := time.Now()
		wg.Wait()
		return time.Since(start)
	}
	t.Cleanup(func() { stop() })

	rec := newRecorder()
	u := shopperOf(t, sc, rec, nil)
	u.Iterate(ctx, load.Iteration{N: 7})
	wantJourneys(t, rec, "login=true", "food=true", "chat=true", "food_delivery=true", "browse=true", "cart=true", "wallet=true", "checkout=true")
	if took := stop(); took > time.Second {
		t.Errorf("the partners stopped %v after their context ended", took)
	}
	if n, ok := partners.journey(JourneyLogin); n != sc.Partners() || ok != n {
		t.Errorf("partners logged in %d times (%d ok), want once each (%d)", n, ok, sc.Partners())
	}
	for _, j := range []string{JourneyMerchant, JourneyDriver} {
		if n, ok := partners.journey(j); n == 0 || ok != n {
			t.Errorf("%s rounds: %d, %d ok; want some, all ok; recorded:\n%s", j, n, ok, partners)
		}
	}
	for _, ep := range []string{"merchant_queue", "merchant_accept", "driver_offers", "driver_take"} {
		if partners.n(load.MetricReqs, load.Tags{Endpoint: ep, Status: "2xx"}) == 0 {
			t.Errorf("no answered %s request", ep)
		}
	}
	wantCount(t, partners, MetricShopperError, load.Tags{}, 0)
	a, err := food.NewClient(e.Info().Audit[mockstore.ServiceFood], auditHC).Audit(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	var orders []mockstore.FoodOrderRecord
	for _, o := range a.Orders {
		if o.UserID == u.userID {
			orders = append(orders, o)
		}
	}
	if len(orders) != 1 || orders[0].Status != mockstore.FoodAssigned || orders[0].Key != u.key("food") || orders[0].DriverID == "" {
		t.Fatalf("food orders of %s: %+v, want one assigned under key %s", u.userID, orders, u.key("food"))
	}
	if len(a.Messages) != 1 || a.Messages[0].From != u.userID || a.Messages[0].Key != u.key("chat") {
		t.Fatalf("messages %+v, want one from %s under key %s", a.Messages, u.userID, u.key("chat"))
	}
}

// TestSessionStoreFails: the session store resets every connection while
// a logged-in shopper browses. Naive: /me is refused (401), a forced
// logout the shopper counts as the gateway does. Resilient: a 503 with a
// code and Retry-After, waited out; no forced logout, nothing bare.
func TestSessionStoreFails(t *testing.T) {
	t.Parallel()
	for _, side := range []string{mockstore.ProfileNaive, mockstore.ProfileResilient} {
		t.Run(side, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, env.Options{Features: profile(t, side)})
			rec := newRecorder()
			u := shopperOf(t, scriptFor(t, e, quick()), rec, nil)
			ctx := ctxFor(t)
			if err := u.login(ctx); err != nil {
				t.Fatalf("login: %v", err)
			}
			u.products = nil
			remove := addToxic(t, e, "auth->sessions", resetPeer())
			if side == mockstore.ProfileResilient {
				// The store comes back once the shopper was told to wait.
				go func() {
					if rec.await(ctx, func() bool { return rec.sum(MetricShopperError, load.Tags{}) > 0 }) {
						remove()
					}
				}()
			}
			err := u.browse(ctx)
			audit := gatewayAudit(t, e)
			if side == mockstore.ProfileNaive {
				wantCount(t, rec, MetricForcedLogout, load.Tags{Endpoint: "me", Journey: JourneyBrowse}, 1)
				wantCount(t, rec, MetricShopperError, load.Tags{Endpoint: "me", Code: string(mockstore.CodeUnauthenticated), Status: "4xx"}, 1)
				if audit.ForcedLogouts != 1 {
					t.Errorf("the gateway counted %d forced logouts, the shopper 1", audit.ForcedLogouts)
				}
				if err == nil {
					t.Errorf("browse succeeded while the session store was down; recorded:\n%s", rec)
				}
				return
			}
			if err != nil {
				t.Fatalf("browse: %v; recorded:\n%s", err, rec)
			}
			wantCount(t, rec, MetricForcedLogout, load.Tags{}, 0)
			wantCount(t, rec, MetricBare5xx, load.Tags{}, 0)
			if n := rec.sum(MetricShopperError, load.Tags{Endpoint: "me", Journey: JourneyBrowse, Status: "5xx"}); n < 1 {
				t.Errorf("no 503 shown on /me while the store was down; recorded:\n%s", rec)
			}
			if audit.ForcedLogouts != 0 {
				t.Errorf("the gateway counted %d forced logouts", audit.ForcedLogouts)
			}
			wantJourneys(t, rec, "login=true", "browse=true")
		})
	}
}

// TestLostLogoutAnswer: the answer to a logout is lost after the gateway
// ended the session. The app forgets the session all the same, so the
// next visit logs in again and no forced logout is counted; had it kept
// the token, its refusal would have been counted as one, which the
// storefront rightly does not.
func TestLostLogoutAnswer(t *testing.T) {
	t.Parallel()
	e := startEnv(t, env.Options{})
	s := quick()
	rec := newRecorder()
	u := shopperOf(t, scriptFor(t, e, s), rec, nil)
	ctx := ctxFor(t)
	if err := u.login(ctx); err != nil {
		t.Fatalf("login: %v", err)
	}
	old := u.token
	remove := addToxic(t, e, "client->gateway", lostAnswers())
	u.logout(ctx)
	remove()
	if u.token != "" {
		t.Fatal("the app kept the session after a logout without answer")
	}
	wantJourneys(t, rec, "login=true", "logout=false")
	wantCount(t, rec, MetricShopperError, load.Tags{Endpoint: "logout", Code: "no_response", Status: "0"}, maxAttempts)
	if logouts := authAudit(t, e).Logouts; logouts < 1 {
		t.Fatalf("auth ended %d sessions: the logout never reached it", logouts)
	}

	u.Iterate(ctx, load.Iteration{N: 1})
	wantJourneys(t, rec, "login=true", "logout=false", "login=true", "browse=true", "cart=true", "wallet=true", "checkout=true")
	wantCount(t, rec, MetricForcedLogout, load.Tags{}, 0)

	kept := newRecorder()
	k := shopperOf(t, scriptFor(t, e, s), kept, nil)
	k.token = old
	if a, _ := k.call(ctx, http.MethodGet, "/api/v1/me", nil, callOpts{endpoint: "me", journey: JourneyBrowse, safe: true}); a.status != 401 {
		t.Fatalf("the ended session answered %d, want 401", a.status)
	}
	wantCount(t, kept, MetricForcedLogout, load.Tags{}, 1)
	if n := gatewayAudit(t, e).ForcedLogouts; n != 0 {
		t.Errorf("the gateway counted %d forced logouts for a session its shopper ended", n)
	}
}

// TestBalanceShown: zero_balance_shown on the resilient storefront. A
// stale balance is no lower bound: a wallet emptied after one was shown is
// no zero shown in error; a shopper who had seen money and not been told
// of the spending is. A wallet the shopper itself spent to exactly 0 is
// not counted either.
func TestBalanceShown(t *testing.T) {
	t.Parallel()
	e := startEnv(t, env.Options{})
	sc := scriptFor(t, e, quick())
	ctx := ctxFor(t)
	stale, fresh, spender := newRecorder(), newRecorder(), newRecorder()
	a := shopperOf(t, sc, stale, nil)
	b := shopperOf(t, sc, fresh, nil)
	c := shopperOf(t, sc, spender, nil)
	for _, u := range []*shopper{a, b, c} {
		if err := u.login(ctx); err != nil {
			t.Fatal(err)
		}
		if err := u.wallet(ctx); err != nil || u.balance <= 0 {
			t.Fatalf("wallet: %v, balance %d", err, u.balance)
		}
	}

	remove := addToxic(t, e, "gateway->wallet", resetPeer())
	if err := a.wallet(ctx); err != nil {
		t.Fatalf("wallet while it cannot be read: %v; recorded:\n%s", err, stale)
	}
	if a.balance != -1 {
		t.Fatalf("after a stale balance the shopper knows of %d, want unknown", a.balance)
	}
	remove()
	drain(t, e, a)
	drain(t, e, b)
	for _, u := range []*shopper{a, b} {
		if err := u.wallet(ctx); err != nil {
			t.Fatalf("wallet once emptied: %v", err)
		}
	}
	wantCount(t, stale, MetricZeroBalanceShown, load.Tags{}, 0)
	wantCount(t, fresh, MetricZeroBalanceShown, load.Tags{Endpoint: "wallet", Journey: JourneyWallet}, 1)

	if err := c.pay(ctx, qrPrefix+"r01", accountOf(t, e, c.userID)); err != nil {
		t.Fatalf("pay the whole balance: %v", err)
	}
	if c.balance != 0 {
		t.Fatalf("after paying it all the shopper knows of %d, want 0", c.balance)
	}
	if err := c.wallet(ctx); err != nil {
		t.Fatalf("wallet once spent: %v", err)
	}
	wantCount(t, spender, MetricZeroBalanceShown, load.Tags{}, 0)
	if n := spender.n(load.MetricReqs, load.Tags{Endpoint: "topup", Status: "2xx"}); n != 1 {
		t.Errorf("%d top-ups of the empty wallet, want 1", n)
	}
}

// TestNaiveIncidents: on the naive storefront, a wallet that cannot be
// read shows 0 while the shopper knows it holds money (zero_balance_shown),
// and a catalogue that cannot be read is a 500 without Retry-After
// (bare_5xx).
func TestNaiveIncidents(t *testing.T) {
	t.Parallel()
	e := startEnv(t, env.Options{Features: profile(t, mockstore.ProfileNaive)})
	rec := newRecorder()
	u := shopperOf(t, scriptFor(t, e, quick()), rec, nil)
	ctx := ctxFor(t)
	if err := u.login(ctx); err != nil {
		t.Fatal(err)
	}
	if err := u.wallet(ctx); err != nil || u.balance <= 0 {
		t.Fatalf("wallet: %v, balance %d", err, u.balance)
	}
	remove := addToxic(t, e, "gateway->wallet", resetPeer())
	_ = u.wallet(ctx)
	remove()
	wantCount(t, rec, MetricZeroBalanceShown, load.Tags{Endpoint: "wallet", Journey: JourneyWallet}, 1)

	addToxic(t, e, "gateway->checkout", resetPeer())
	if err := u.browse(ctx); err == nil {
		t.Fatal("browse succeeded without a catalogue")
	}
	wantCount(t, rec, MetricBare5xx, load.Tags{Endpoint: "products", Journey: JourneyBrowse}, 1)
	wantCount(t, rec, MetricShopperError, load.Tags{Endpoint: "products", Code: string(mockstore.CodeInternal), Status: "5xx"}, 1)
	if n := gatewayAudit(t, e).Bare5xx; n < 1 {
		t.Errorf("the gateway counted %d bare 5xx, the shopper 1 or more", n)
	}
}

// TestMaintenance: the operator's maintenance switch answers every call
// 503 maintenance with a Retry-After of 1 s; the shopper waits it out
// (never sooner) and goes on once it is over.
func TestMaintenance(t *testing.T) {
	t.Parallel()
	e := startEnv(t, env.Options{})
	rec := newRecorder()
	u := shopperOf(t, scriptFor(t, e, quick()), rec, nil)
	ctx := ctxFor(t)
	if err := u.login(ctx); err != nil {
		t.Fatal(err)
	}
	maintenance(t, e, true)
	go func() {
		if rec.await(ctx, func() bool { return rec.sum(MetricShopperError, load.Tags{}) > 0 }) {
			maintenance(t, e, false)
		}
	}()
	if err := u.browse(ctx); err != nil {
		t.Fatalf("browse: %v; recorded:\n%s", err, rec)
	}
	wantCount(t, rec, MetricShopperError, load.Tags{Endpoint: "products", Journey: JourneyBrowse, Code: string(mockstore.CodeMaintenance), Status: "5xx"}, 1)
	wantCount(t, rec, MetricBare5xx, load.Tags{}, 0)
	reqs := rec.find(load.MetricReqs, load.Tags{Endpoint: "products"})
	if len(reqs) != 2 || reqs[0].tags.Status != "5xx" || reqs[1].tags.Status != "2xx" {
		t.Fatalf("products requests %+v, want a 503 then a 200", reqs)
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second {
		t.Errorf("retried %v after a Retry-After of 1 s", gap)
	}
}

// maintenance switches the gateway's maintenance, with a Retry-After of
// 1 s. It may run on any goroutine: it reports a failure without stopping
// the test.
func maintenance(tb testing.TB, e *env.Inproc, on bool) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	err := mockstore.Call(ctx, auditHC, http.MethodPost, e.Info().Audit[mockstore.ServiceGateway]+"/audit/maintenance",
		map[string]any{"on": on, "retry_after_s": 1}, nil, nil)
	if err != nil {
		tb.Errorf("switch maintenance on=%v: %v", on, err)
	}
}

// drain pays all of u's balance by QR code from another device of the
// shopper (the same session, outside the load): the app does not know.
func drain(tb testing.TB, e *env.Inproc, u *shopper) {
	tb.Helper()
	amount := accountOf(tb, e, u.userID)
	var out struct {
		Balance int64 `json:"balance"`
	}
	err := mockstore.Call(ctxFor(tb), auditHC, http.MethodPost, e.Info().Gateway+"/api/v1/wallet/pay",
		map[string]any{"qr": qrPrefix + "r01", "amount": amount}, &out,
		map[string]string{"Authorization": "Bearer " + u.token, "Idempotency-Key": "drain-" + u.userID})
	if err != nil || out.Balance != 0 {
		tb.Fatalf("pay all %d of %s: balance %d, %v", amount, u.userID, out.Balance, err)
	}
}

// accountOf returns the balance the wallet holds for userID, read from
// the wallet service's own address (where faults do not reach).
func accountOf(tb testing.TB, e *env.Inproc, userID string) int64 {
	tb.Helper()
	ps, err := fault.NewClient(e.Info().Toxiproxy).Proxies(ctxFor(tb))
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range ps {
		if p.Name == e.Info().Links["checkout->wallet"] {
			acct, err := wallet.NewClient("http://"+p.Upstream, auditHC).Account(ctxFor(tb), userID)
			if err != nil {
				tb.Fatalf("read the account of %s: %v", userID, err)
			}
			return acct.Balance
		}
	}
	tb.Fatal("no proxy for checkout->wallet")
	return 0
}

// gatewayAudit returns what the gateway counted of what it told shoppers.
func gatewayAudit(tb testing.TB, e *env.Inproc) mockstore.GatewayAudit {
	tb.Helper()
	var a mockstore.GatewayAudit
	if err := mockstore.Call(ctxFor(tb), auditHC, http.MethodGet, e.Info().Audit[mockstore.ServiceGateway]+"/audit/gateway", nil, &a, nil); err != nil {
		tb.Fatalf("read the gateway audit: %v", err)
	}
	return a
}

// authAudit returns what auth counted.
func authAudit(tb testing.TB, e *env.Inproc) mockstore.AuthAudit {
	tb.Helper()
	var a mockstore.AuthAudit
	if err := mockstore.Call(ctxFor(tb), auditHC, http.MethodGet, e.Info().Audit[mockstore.ServiceAuth]+"/audit/auth", nil, &a, nil); err != nil {
		tb.Fatalf("read the auth audit: %v", err)
	}
	return a
}
