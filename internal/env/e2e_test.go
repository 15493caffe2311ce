package env

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	tpclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/shopper"
)

// TestEndToEnd walks one shopper through a whole journey on the default
// (resilient) storefront, then shows that every link carries its step: with
// the link broken through the Toxiproxy API the step fails (or, for the OTP
// provider, is held back by exactly the injected latency), and with the link
// restored it works again.
func TestEndToEnd(t *testing.T) {
	e := startEnv(t, Options{})
	info := e.Info()
	ctx := ctxFor(t)

	s := shopper.New(info.Gateway, info.OTPInbox, info.SamplePhone, mockstore.NewClient(testTimeout))
	if err := s.Login(ctx); err != nil {
		t.Fatalf("log in through the OTP inbox: %v", err)
	}
	if me, err := s.Me(ctx); err != nil || me.UserID != s.UserID || me.Phone != info.SamplePhone {
		t.Fatalf("/me = %+v, %v; want %s with %s", me, err, s.UserID, info.SamplePhone)
	}
	before, err := s.Wallet(ctx)
	if err != nil {
		t.Fatalf("read the wallet: %v", err)
	}
	req := fillCart(t, e, s)
	cart, err := s.Cart(ctx)
	if err != nil || len(cart.Items) != 1 || cart.Total <= 0 {
		t.Fatalf("cart = %+v, %v; want one item", cart, err)
	}
	const topup = 250_000
	bal, err := s.Topup(ctx, topup, "e2e-topup-1")
	if err != nil || bal != before.Balance+topup {
		t.Fatalf("top-up: balance %d, %v; want %d", bal, err, before.Balance+topup)
	}
	o, err := s.Checkout(ctx, "e2e-checkout-1", req)
	if err != nil {
		t.Fatalf("check out: %v", err)
	}
	if o.Amount != cart.Total {
		t.Fatalf("order amount %d, cart total %d", o.Amount, cart.Total)
	}
	o, err = s.WaitOrder(ctx, o.OrderID, 10*time.Millisecond)
	if err != nil || o.Status != mockstore.OrderPaid {
		t.Fatalf("order %+v, %v; want paid", o, err)
	}
	after, err := s.Wallet(ctx)
	if err != nil || after.Balance != before.Balance+topup-o.Amount || after.Stale {
		t.Fatalf("wallet after paying %d: %+v, %v; want %d, fresh", o.Amount, after, err, before.Balance+topup-o.Amount)
	}
	if cs := chargesOf(t, e, s.UserID); len(cs) != 1 || cs[0].OrderID != o.OrderID || cs[0].Amount != o.Amount {
		t.Fatalf("wallet charges of %s = %+v; want one of %d for %s", s.UserID, cs, o.Amount, o.OrderID)
	}

	// Each link, broken, breaks the step that crosses it.
	steps := []struct {
		link  string
		check func(t *testing.T)
	}{
		{"client->gateway", func(t *testing.T) {
			// The link down, through Toxiproxy's own client: enabled=false.
			tp := tpclient.NewClient(info.Toxiproxy)
			tp.UserAgent = "gameday-e2e-test"
			p, err := tp.Proxy(proxyOf(t, e, "client->gateway"))
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Disable(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Enable() })
			if _, err := s.Products(ctx); !isUnreachable(err) {
				t.Fatalf("products with the link down: %v, want no answer", err)
			}
			if err := p.Enable(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Products(ctx); err != nil {
				t.Fatalf("products with the link up again: %v", err)
			}
		}},
		{"gateway->auth", func(t *testing.T) { meBreaks(t, e, s, "gateway->auth") }},
		{"auth->sessions", func(t *testing.T) { meBreaks(t, e, s, "auth->sessions") }},
		{"auth->otp", func(t *testing.T) {
			// With async_otp the login answers at once; the code is what
			// crosses the link, so the code is what the latency holds back.
			const latency = 1500 * time.Millisecond
			remove := addToxic(t, e, "auth->otp", fault.Toxic{Type: "latency", Stream: fault.Upstream,
				Attributes: map[string]any{"latency": latency.Milliseconds()}})
			other := newShopper(t, e, 1)
			if took := codeTime(t, other); took < latency {
				t.Fatalf("the code came %v after the login start, with %v on the link", took, latency)
			}
			remove()
			if took := codeTime(t, other); took >= latency {
				t.Fatalf("the code came %v after the login start, with the link restored", took)
			}
		}},
		{"gateway->checkout", func(t *testing.T) {
			remove := addToxic(t, e, "gateway->checkout", resetPeer())
			wantRetryable(t, "products with gateway->checkout reset", api(t, e, nil, "GET", "/api/v1/products", "", nil))
			remove()
			wantStatus(t, "products with gateway->checkout restored", api(t, e, nil, "GET", "/api/v1/products", "", nil), 200, "")
		}},
		{"checkout->wallet", func(t *testing.T) {
			req := fillCart(t, e, s)
			remove := addToxic(t, e, "checkout->wallet", lostAnswers())
			o, err := s.Checkout(ctx, "e2e-checkout-2", req)
			if err != nil || o.Status != mockstore.OrderPaymentPending {
				t.Fatalf("checkout with the wallet's answers lost: %+v, %v; want payment_pending", o, err)
			}
			remove()
			o, err = s.WaitOrder(ctx, o.OrderID, 10*time.Millisecond)
			if err != nil || o.Status != mockstore.OrderPaid {
				t.Fatalf("order with checkout->wallet restored: %+v, %v; want paid", o, err)
			}
		}},
		{"gateway->wallet", func(t *testing.T) {
			remove := addToxic(t, e, "gateway->wallet", resetPeer())
			if _, err := s.Topup(ctx, 1000, "e2e-topup-2"); mockstore.ErrorCode(err) != mockstore.CodeUnavailable {
				t.Fatalf("top-up with gateway->wallet reset: %v, want %s", err, mockstore.CodeUnavailable)
			}
			if w, err := s.Wallet(ctx); err != nil || !w.Stale {
				t.Fatalf("balance with gateway->wallet reset: %+v, %v; want the last one, stale", w, err)
			}
			remove()
			if _, err := s.Topup(ctx, 1000, "e2e-topup-2"); err != nil {
				t.Fatalf("top-up with gateway->wallet restored: %v", err)
			}
		}},
		{"gateway->food", func(t *testing.T) {
			restaurants := func() apiResult { return api(t, e, nil, "GET", "/api/v1/food/restaurants", "", nil) }
			remove := addToxic(t, e, "gateway->food", resetPeer())
			wantRetryable(t, "restaurants with gateway->food reset", restaurants())
			remove()
			wantStatus(t, "restaurants with gateway->food restored", restaurants(), http.StatusOK, "")
		}},
	}
	covered := map[string]bool{}
	for _, st := range steps {
		covered[st.link] = true
		t.Run(st.link, st.check)
	}
	for _, l := range mockstore.Links() {
		if !covered[l.Name] {
			t.Errorf("link %s is not shown to carry any step", l.Name)
		}
	}
}

// meBreaks shows that GET /api/v1/me crosses link: reset, it answers a
// retryable 503 (the session is kept); restored, it answers again.
func meBreaks(tb testing.TB, e *Inproc, s *shopper.Client, link string) {
	tb.Helper()
	remove := addToxic(tb, e, link, resetPeer())
	wantRetryable(tb, "/me with "+link+" reset", api(tb, e, nil, "GET", "/api/v1/me", s.Token, nil))
	remove()
	wantStatus(tb, "/me with "+link+" restored", api(tb, e, nil, "GET", "/api/v1/me", s.Token, nil), 200, "")
}

// codeTime starts a login for s and returns how long its code took to reach
// the inbox.
func codeTime(tb testing.TB, s *shopper.Client) time.Duration {
	tb.Helper()
	ctx := ctxFor(tb)
	start := time.Now()
	ls, err := s.StartLogin(ctx, "")
	if err != nil {
		tb.Fatalf("start login: %v", err)
	}
	if _, err := s.WaitCode(ctx, ls.LoginID, 5*time.Millisecond); err != nil {
		tb.Fatal(err)
	}
	return time.Since(start)
}

// TestCloseReleasesEverything: after Close every port the environment
// listened on refuses connections and its temporary directory is gone; the
// audit endpoints listen on loopback only.
func TestCloseReleasesEverything(t *testing.T) {
	e := startEnv(t, Options{})
	info := e.Info()

	addrs := map[string]string{} // what -> host:port
	hostOf := func(what, raw string) string {
		t.Helper()
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			t.Fatalf("%s: %q is not a URL", what, raw)
		}
		return u.Host
	}
	addrs["toxiproxy API"] = hostOf("toxiproxy", info.Toxiproxy)
	addrs["otp inbox"] = hostOf("otp inbox", info.OTPInbox)
	for svc, u := range info.Audit {
		addrs["audit of "+svc] = hostOf("audit of "+svc, u)
	}
	proxies, err := fault.NewClient(info.Toxiproxy).Proxies(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(proxies) != len(mockstore.Links()) {
		t.Fatalf("%d proxies, want one per link (%d)", len(proxies), len(mockstore.Links()))
	}
	for _, p := range proxies {
		addrs["proxy "+p.Name] = p.Listen
		addrs["upstream of "+p.Name] = p.Upstream // the services' own listeners
	}
	if addrs["proxy client_gateway"] != hostOf("gateway", info.Gateway) {
		t.Fatalf("the gateway URL %s is not the client->gateway proxy %s", info.Gateway, addrs["proxy client_gateway"])
	}
	if len(info.Audit) != len(mockstore.Services) {
		t.Fatalf("audit URLs for %d services, want %d: %v", len(info.Audit), len(mockstore.Services), info.Audit)
	}

	t.Run("audit on loopback only", func(t *testing.T) {
		others := otherAddrs(t)
		for svc, u := range info.Audit {
			host, port, err := net.SplitHostPort(hostOf(svc, u))
			if err != nil {
				t.Fatal(err)
			}
			if host != "127.0.0.1" {
				t.Errorf("audit of %s at %s, want 127.0.0.1", svc, u)
			}
			for _, ip := range others {
				if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, port), time.Second); err == nil {
					c.Close()
					t.Errorf("audit of %s answers on %s too", svc, ip)
				}
			}
		}
		if len(others) == 0 {
			t.Log("no address besides loopback to try the audit ports on")
		}
	})

	for what, a := range addrs {
		c, err := net.DialTimeout("tcp", a, time.Second)
		if err != nil {
			t.Fatalf("%s at %s does not accept before Close: %v", what, a, err)
		}
		c.Close()
	}
	if _, err := os.Stat(info.Dir); err != nil {
		t.Fatalf("run directory before Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for what, a := range addrs {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s at %s still accepts connections after Close", what, a)
		}
	}
	if _, err := os.Stat(info.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run directory %s after Close: %v, want it gone", info.Dir, err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := http.Get(info.Gateway + "/healthz"); err == nil {
		t.Errorf("the gateway still answers after Close")
	}
}

// otherAddrs returns this machine's IPv4 addresses besides loopback.
func otherAddrs(tb testing.TB) []string {
	tb.Helper()
	as, err := net.InterfaceAddrs()
	if err != nil {
		tb.Logf("interface addresses: %v", err)
		return nil
	}
	var out []string
	for _, a := range as {
		ipn, ok := a.(*net.IPNet)
		if ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			out = append(out, ipn.IP.String())
		}
	}
	return out
}
