package storefront

import (
	"testing"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/checkout"
	"github.com/gameday/gameday/mockstore/wallet"
)

// auditHC reads the services' audit handlers.
var auditHC = mockstore.NewClient(testTimeout)

// TestVisit walks one shopper whose wallet runs low through two whole
// visits on the resilient storefront: log in by SMS, browse, cart, wallet
// with a top-up, checkout paid, logout; the second visit logs in again.
// Every journey succeeds, every request is tagged with its endpoint and
// journey, and nothing is counted against the storefront.
func TestVisit(t *testing.T) {
	t.Parallel()
	e := startEnv(t, env.Options{})
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

	// The wallet took the order's amount, under the visit's own key, and
	// the shopper's lower bound of the balance is exactly what is left.
	orders, err := checkout.ReadOrders(ctx, auditHC, e.Info().Audit[mockstore.ServiceCheckout])
	if err != nil {
		t.Fatal(err)
	}
	if len(orders) != 1 || orders[0].Status != mockstore.OrderPaid || orders[0].UserID != u.userID {
		t.Fatalf("orders %+v, want one paid of %s", orders, u.userID)
	}
	acct, err := wallet.NewClient(walletURL(t, e), auditHC).Account(ctx, u.userID)
	if err != nil {
		t.Fatal(err)
	}
	if u.balance != acct.Balance {
		t.Errorf("the shopper knows of at least %d in the wallet, which holds %d", u.balance, acct.Balance)
	}

	u.Iterate(ctx, load.Iteration{N: 1})
	if n, ok := rec.journey(JourneyLogin); n != 2 || ok != 2 {
		t.Fatalf("logins %d (%d ok) after a visit that logged out, want 2 (2 ok); recorded:\n%s", n, ok, rec)
	}
	wantCount(t, rec, MetricOrdersPaid, load.Tags{}, 2)
	wantCount(t, rec, MetricShopperError, load.Tags{}, 0)
}

// walletURL returns the wallet service's own address (the upstream of
// its proxies), where faults do not reach: the tests read accounts there.
func walletURL(tb testing.TB, e *env.Inproc) string {
	tb.Helper()
	ps, err := fault.NewClient(e.Info().Toxiproxy).Proxies(ctxFor(tb))
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range ps {
		if p.Name == e.Info().Links["checkout->wallet"] {
			return "http://" + p.Upstream
		}
	}
	tb.Fatal("no proxy for checkout->wallet")
	return ""
}
