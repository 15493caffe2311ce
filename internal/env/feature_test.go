package env

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/auth"
	"github.com/gameday/gameday/mockstore/checkout"
	"github.com/gameday/gameday/mockstore/food"
	"github.com/gameday/gameday/mockstore/gateway"
	"github.com/gameday/gameday/mockstore/otp"
	"github.com/gameday/gameday/mockstore/shopper"
)

// featureCases holds, for every feature, a check run twice: with the feature
// off (the rest of the resilient profile on), where it must show the
// incident's behaviour, and with it on, where the storefront must hold. Each
// check breaks a link through the Toxiproxy HTTP API, as a scenario would.
var featureCases = map[mockstore.Feature]func(t *testing.T, on bool){
	mockstore.SessionFallback:       checkSessionFallback,
	mockstore.HonestErrors:          checkHonestErrors,
	mockstore.AsyncOTP:              checkAsyncOTP,
	mockstore.OTPFallbackChannel:    checkOTPFallbackChannel,
	mockstore.FaultAwareLockout:     checkFaultAwareLockout,
	mockstore.IdempotentPayments:    checkIdempotentPayments,
	mockstore.PaymentReconciliation: checkPaymentReconciliation,
	mockstore.RefundOutbox:          checkRefundOutbox,
	mockstore.BalanceCache:          checkBalanceCache,
	mockstore.CircuitBreakers:       checkCircuitBreakers,
	mockstore.RetryBudget:           checkRetryBudget,
	mockstore.IdempotentRequests:    checkIdempotentRequests,
	mockstore.CheckoutOncePerCart:   checkCheckoutOncePerCart,
	mockstore.OTPSendLimits:         checkOTPSendLimits,
}

func TestFeatures(t *testing.T) {
	for _, f := range mockstore.AllFeatures() {
		check, ok := featureCases[f]
		if !ok {
			t.Errorf("feature %s has no end-to-end check", f)
			continue
		}
		t.Run(string(f), func(t *testing.T) {
			for _, side := range []struct {
				name string
				on   bool
			}{{"naive", false}, {"resilient", true}} {
				t.Run(side.name, func(t *testing.T) { check(t, side.on) })
			}
		})
	}
}

// startFor starts a storefront with the resilient profile, f switched as on
// says, and opts otherwise.
func startFor(tb testing.TB, f mockstore.Feature, on bool, opts Options) *Inproc {
	tb.Helper()
	opts.Features = withOff(tb)
	if !on {
		opts.Features = withOff(tb, f)
	}
	return startEnv(tb, opts)
}

// checkSessionFallback: the session store resets every connection while a
// logged-in browser loads /me. Off: 401, the cookie is cleared (the shopper
// is logged out, and stays so after the store is back), a forced logout.
// On: 503 + Retry-After, the cookie is kept and works once the store is back.
func checkSessionFallback(t *testing.T, on bool) {
	e := startFor(t, mockstore.SessionFallback, on, Options{})
	browser := cookieClient(t)
	s := shopper.New(e.Info().Gateway, e.Info().OTPInbox, activePhone(t, e, 0), browser)
	if err := s.Login(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	me := func() apiResult { return api(t, e, browser, "GET", "/api/v1/me", "", nil) }
	wantStatus(t, "/me by cookie", me(), 200, "")

	remove := addToxic(t, e, "auth->sessions", resetPeer())
	r := me()
	cleared := strings.Contains(r.header.Get("Set-Cookie"), gateway.SessionCookie+"=;")
	a := gatewayAudit(t, e)
	if !on {
		wantStatus(t, "/me while the session store fails", r, http.StatusUnauthorized, mockstore.CodeUnauthenticated)
		if !cleared {
			t.Errorf("the 401 does not clear the session cookie: Set-Cookie %q", r.header.Get("Set-Cookie"))
		}
		if a.ForcedLogouts != 1 {
			t.Errorf("gateway counted %d forced logouts, want 1", a.ForcedLogouts)
		}
		if n := authAudit(t, e).SessionsRejected["store_error"]; n < 1 {
			t.Errorf("auth counted %d sessions rejected for a store error, want ≥ 1", n)
		}
	} else {
		wantRetryable(t, "/me while the session store fails", r)
		if cleared || r.header.Get("Set-Cookie") != "" {
			t.Errorf("a store failure touched the session cookie: Set-Cookie %q", r.header.Get("Set-Cookie"))
		}
		if a.ForcedLogouts != 0 {
			t.Errorf("gateway counted %d forced logouts, want 0", a.ForcedLogouts)
		}
	}

	remove()
	r = me()
	if !on {
		// The store is back, but the browser has lost its session.
		wantStatus(t, "/me after the store is back", r, http.StatusUnauthorized, mockstore.CodeUnauthenticated)
		return
	}
	wantStatus(t, "/me after the store is back", r, 200, "")
	var got shopper.Me
	r.decode(t, &got)
	if got.UserID != s.UserID {
		t.Errorf("/me after the store is back is %s, want %s", got.UserID, s.UserID)
	}
}

// checkHonestErrors: gateway->auth resets while a registered shopper starts
// a login. Off: "phone number not registered" (404). On: 503 + Retry-After.
func checkHonestErrors(t *testing.T, on bool) {
	e := startFor(t, mockstore.HonestErrors, on, Options{})
	phone := activePhone(t, e, 0)
	login := func() apiResult {
		return api(t, e, nil, "POST", "/api/v1/login", "", map[string]string{"phone": phone})
	}
	remove := addToxic(t, e, "gateway->auth", resetPeer())
	r := login()
	told := gatewayAudit(t, e).Responses["404:"+string(mockstore.CodeNotRegistered)]
	if !on {
		wantStatus(t, "login of a registered phone while auth fails", r, http.StatusNotFound, mockstore.CodeNotRegistered)
		if told != 1 {
			t.Errorf("gateway audit counts %d not-registered answers, want 1", told)
		}
	} else {
		wantRetryable(t, "login of a registered phone while auth fails", r)
		if r.code != mockstore.CodeUnavailable || told != 0 {
			t.Errorf("login while auth fails: code %s, %d not-registered answers; want %s, 0", r.code, told, mockstore.CodeUnavailable)
		}
	}
	remove()
	wantStatus(t, "login with auth back", login(), http.StatusAccepted, "")
}

// checkAsyncOTP: the OTP provider's link gets 3s of latency while a shopper
// starts a login. Off: the login start waits on the provider until the
// gateway gives up on auth (503). On: 202 at once, and the code arrives once
// the latency is gone.
func checkAsyncOTP(t *testing.T, on bool) {
	const latency = 3 * time.Second
	e := startFor(t, mockstore.AsyncOTP, on, Options{})
	s := newShopper(t, e, 0)
	remove := addToxic(t, e, "auth->otp", fault.Toxic{Type: "latency", Stream: fault.Upstream,
		Attributes: map[string]any{"latency": latency.Milliseconds()}})
	r := api(t, e, nil, "POST", "/api/v1/login", "", map[string]string{"phone": s.Phone})
	if !on {
		wantRetryable(t, "login start with a slow provider", r)
		if r.elapsed < gateway.DefaultAuthTimeout {
			t.Errorf("the login start failed after %v, before the gateway's auth timeout %v", r.elapsed, gateway.DefaultAuthTimeout)
		}
		return
	}
	wantStatus(t, "login start with a slow provider", r, http.StatusAccepted, "")
	if r.elapsed >= latency/3 {
		t.Errorf("the login start took %v with %v on the provider's link: it waited for the send", r.elapsed, latency)
	}
	var ls shopper.LoginStarted
	r.decode(t, &ls)
	remove()
	m, err := s.WaitCode(ctxFor(t), ls.LoginID, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(ctxFor(t), ls.LoginID, m.Code); err != nil {
		t.Fatalf("verify the code that arrived: %v", err)
	}
}

// checkOTPFallbackChannel: SMS sends (POST /send/sms on the provider) are
// held far past auth's OTP timeout while WhatsApp sends pass. Off: no code
// reaches the phone. On: the code comes by WhatsApp, with its login link.
func checkOTPFallbackChannel(t *testing.T, on bool) {
	const (
		otpTimeout = 500 * time.Millisecond
		fallback   = 200 * time.Millisecond
	)
	e := startFor(t, mockstore.OTPFallbackChannel, on, Options{OTPTimeout: otpTimeout, OTPFallbackAfter: fallback})
	s := newShopper(t, e, 0)
	addToxic(t, e, "auth->otp", fault.Toxic{Type: fault.HTTPLatencyType, Stream: fault.Upstream,
		Attributes: map[string]any{"path": "/send/" + otp.ChannelSMS, "latency": int64(60_000)}})
	ls, err := s.StartLogin(ctxFor(t), "")
	if err != nil {
		t.Fatalf("start login: %v", err)
	}
	if !on {
		// Long enough for the SMS to time out and for a fallback to have
		// gone out and arrived several times over.
		holdsUntil(t, time.Now().Add(3*(otpTimeout+fallback)), "no message reaches the phone", func() bool {
			sent := otpAudit(t, e).Sent
			return sent[otp.ChannelSMS]+sent[otp.ChannelWhatsApp] == 0
		})
		if a := authAudit(t, e); a.CodesDelivered != 0 {
			t.Fatalf("auth counts %d codes delivered, want 0", a.CodesDelivered)
		}
		return
	}
	m, err := s.WaitCode(ctxFor(t), ls.LoginID, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if m.Channel != otp.ChannelWhatsApp || m.Link == "" {
		t.Fatalf("the code came by %s (link %q), want whatsapp with a login link", m.Channel, m.Link)
	}
	if _, err := s.Verify(ctxFor(t), ls.LoginID, m.Code); err != nil {
		t.Fatalf("verify the WhatsApp code: %v", err)
	}
	if sent := otpAudit(t, e).Sent; sent[otp.ChannelSMS] != 0 || sent[otp.ChannelWhatsApp] != 1 {
		t.Errorf("the provider accepted %v, want only one whatsapp", sent)
	}
}

// checkFaultAwareLockout: after four wrong codes, the right one is sent
// while the session store resets connections. Off: that failure counts as
// the fifth wrong attempt and locks the login. On: it does not count, and
// the same code logs in once the store is back.
func checkFaultAwareLockout(t *testing.T, on bool) {
	e := startFor(t, mockstore.FaultAwareLockout, on, Options{})
	s := newShopper(t, e, 0)
	ctx := ctxFor(t)
	ls, err := s.StartLogin(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.WaitCode(ctx, ls.LoginID, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	wrong := []byte(m.Code)
	wrong[5] = '0' + (wrong[5]-'0'+1)%10
	verify := func(code string) apiResult {
		return api(t, e, nil, "POST", "/api/v1/login/verify", "", map[string]string{"login_id": ls.LoginID, "code": code})
	}
	for i := range 4 {
		wantStatus(t, fmt.Sprintf("wrong code %d", i+1), verify(string(wrong)), http.StatusUnauthorized, mockstore.CodeInvalidCode)
	}
	remove := addToxic(t, e, "auth->sessions", resetPeer())
	wantRetryable(t, "the right code while the session store fails", verify(m.Code))
	remove()
	r := verify(m.Code)
	a := authAudit(t, e)
	if a.WrongCodes != 4 {
		t.Errorf("auth counts %d wrong codes, want 4", a.WrongCodes)
	}
	if !on {
		wantStatus(t, "the right code with the store back", r, http.StatusLocked, mockstore.CodeLoginLocked)
		if a.FaultCounted != 1 || a.Lockouts != 1 {
			t.Errorf("auth counts %d faults as attempts and %d lockouts, want 1 and 1", a.FaultCounted, a.Lockouts)
		}
		return
	}
	wantStatus(t, "the right code with the store back", r, 200, "")
	if a.FaultCounted != 0 || a.Lockouts != 0 || a.Verified != 1 {
		t.Errorf("auth counts %d faults as attempts, %d lockouts, %d verified; want 0, 0, 1", a.FaultCounted, a.Lockouts, a.Verified)
	}
}

// ambiguous is a checkout placed while the wallet's answers to checkout
// were lost: the wallet charged, checkout never heard of it.
type ambiguous struct {
	s       *shopper.Client
	order   shopper.Order
	err     error                    // what the shopper was told, if not an order
	charges []mockstore.ChargeRecord // the wallet's, right after the answer
	restore func()                   // removes the fault
}

// checkoutAmbiguous logs a shopper in, fills the cart, loses the wallet's
// answers on checkout->wallet and checks out.
func checkoutAmbiguous(tb testing.TB, e *Inproc) ambiguous {
	tb.Helper()
	s := loggedIn(tb, e, 0)
	req := fillCart(tb, e, s)
	restore := addToxic(tb, e, "checkout->wallet", lostAnswers())
	o, err := s.Checkout(ctxFor(tb), "ambiguous-1", req)
	return ambiguous{s: s, order: o, err: err, charges: chargesOf(tb, e, s.UserID), restore: restore}
}

// checkIdempotentPayments: checkout retries a charge whose answer was lost.
// Off: the retry goes under a fresh key and the wallet charges twice. On:
// the same key, one charge, and the order ends paid.
func checkIdempotentPayments(t *testing.T, on bool) {
	e := startFor(t, mockstore.IdempotentPayments, on, Options{})
	amb := checkoutAmbiguous(t, e)
	s, o, charges := amb.s, amb.order, amb.charges
	if amb.err != nil || o.Status != mockstore.OrderPaymentPending {
		t.Fatalf("checkout with lost wallet answers: %+v, %v; want payment_pending", o, amb.err)
	}
	keys := map[string]bool{}
	for _, k := range onlyOrder(t, e, s.UserID).PaymentKeys {
		keys[k] = true
	}
	if !on {
		if len(charges) < 2 || len(keys) < 2 {
			t.Fatalf("order %s: %d charges under %d keys, want a double charge under fresh keys: %+v", o.OrderID, len(charges), len(keys), charges)
		}
		for _, c := range charges {
			if c.OrderID != o.OrderID || c.Amount != o.Amount {
				t.Fatalf("charge %+v is not for order %s of %d", c, o.OrderID, o.Amount)
			}
		}
		return
	}
	if len(charges) != 1 || len(keys) != 1 {
		t.Fatalf("order %s: %d charges under %d keys, want 1 under 1: %+v", o.OrderID, len(charges), len(keys), charges)
	}
	amb.restore()
	o, err := s.WaitOrder(ctxFor(t), o.OrderID, 10*time.Millisecond)
	if err != nil || o.Status != mockstore.OrderPaid {
		t.Fatalf("order after the wallet is back: %+v, %v; want paid", o, err)
	}
	if cs := chargesOf(t, e, s.UserID); len(cs) != 1 || cs[0].Amount != o.Amount {
		t.Fatalf("charges once the order is paid: %+v, want one of %d", cs, o.Amount)
	}
}

// checkPaymentReconciliation: the wallet charges but checkout never hears
// back. Off: the order is failed at once while the wallet holds the money.
// On: it stays payment_pending and the reconciler settles it to paid, with
// one charge.
func checkPaymentReconciliation(t *testing.T, on bool) {
	e := startFor(t, mockstore.PaymentReconciliation, on, Options{})
	amb := checkoutAmbiguous(t, e)
	s, o, charges := amb.s, amb.order, amb.charges
	if !on {
		if mockstore.ErrorCode(amb.err) != mockstore.CodeUnavailable {
			t.Fatalf("checkout with lost wallet answers: %+v, %v; want the failure %s", o, amb.err, mockstore.CodeUnavailable)
		}
		rec := onlyOrder(t, e, s.UserID)
		if rec.Status != mockstore.OrderFailed {
			t.Fatalf("order %s is %s, want failed", rec.OrderID, rec.Status)
		}
		if len(charges) != 1 || charges[0].OrderID != rec.OrderID || charges[0].Amount != rec.Amount {
			t.Fatalf("the wallet's charges for the failed order %s: %+v, want the money taken once", rec.OrderID, charges)
		}
		return
	}
	if amb.err != nil || o.Status != mockstore.OrderPaymentPending {
		t.Fatalf("checkout with lost wallet answers: %+v, %v; want payment_pending", o, amb.err)
	}
	amb.restore()
	o, err := s.WaitOrder(ctxFor(t), o.OrderID, 10*time.Millisecond)
	if err != nil || o.Status != mockstore.OrderPaid {
		t.Fatalf("order after the wallet is back: %+v, %v; want paid", o, err)
	}
	if cs := chargesOf(t, e, s.UserID); len(cs) != 1 || len(charges) != 1 {
		t.Fatalf("charges: %d during the fault, %d once paid; want 1 and 1", len(charges), len(cs))
	}
}

// checkRefundOutbox: an order whose payment cannot be confirmed within the
// pending bound fails after the wallet took the money. Off: nobody refunds
// it, not within the SLA either. On: the outbox refunds it exactly once
// within the SLA, unasked.
func checkRefundOutbox(t *testing.T, on bool) {
	const sla = 2 * time.Second
	e := startFor(t, mockstore.RefundOutbox, on, Options{RefundSLA: sla, PendingBound: 300 * time.Millisecond})
	amb := checkoutAmbiguous(t, e)
	s, o := amb.s, amb.order
	if amb.err != nil || o.Status != mockstore.OrderPaymentPending {
		t.Fatalf("checkout with lost wallet answers: %+v, %v; want payment_pending", o, amb.err)
	}
	var failedAt time.Time
	waitFor(t, testTimeout, "the unconfirmed order fails", func() bool {
		for _, h := range onlyOrder(t, e, s.UserID).History {
			if h.State == mockstore.OrderFailed {
				failedAt = h.At
				return true
			}
		}
		return false
	})
	amb.restore()
	charge := func() mockstore.ChargeRecord {
		cs := chargesOf(t, e, s.UserID)
		if len(cs) != 1 {
			t.Fatalf("charges of the failed order: %+v, want 1", cs)
		}
		return cs[0]
	}
	if c := charge(); c.OrderID != o.OrderID || c.Amount != o.Amount {
		t.Fatalf("charge %+v, want %d for %s", c, o.Amount, o.OrderID)
	}
	if !on {
		// Watch the wallet until the SLA is over: no refund may come.
		holdsUntil(t, failedAt.Add(sla), "no refund without refund_outbox", func() bool { return charge().Refunds == 0 })
		if got, err := s.Order(ctxFor(t), o.OrderID); err != nil || got.Status != mockstore.OrderFailed || got.Refund != nil {
			t.Fatalf("order past the SLA: %+v, %v; want failed without a refund", got, err)
		}
		return
	}
	// Refunded is when checkout has the wallet's confirmation, which is
	// what the SLA is about (the wallet itself may have refunded earlier,
	// its answer lost to the fault).
	var refundedAt time.Time
	waitFor(t, testTimeout, "the failed order is refunded", func() bool {
		for _, h := range onlyOrder(t, e, s.UserID).History {
			if h.State == mockstore.OrderRefunded {
				refundedAt = h.At
				return true
			}
		}
		return false
	})
	if late := refundedAt.Sub(failedAt); late > sla {
		t.Errorf("refunded %v after the order failed, over the SLA of %v", late, sla)
	}
	if c := charge(); c.Refunds != 1 || c.Refunded == nil {
		t.Errorf("the wallet's charge %+v: want refunded exactly once", c)
	}
	got, err := s.Order(ctxFor(t), o.OrderID)
	if err != nil || got.Status != mockstore.OrderRefunded || got.Refund == nil {
		t.Fatalf("the shopper's order after the refund: %+v, %v; want refunded", got, err)
	}
}

// checkBalanceCache: gateway->wallet resets after the shopper saw their
// balance. Off: the balance shows as 0. On: the last balance, marked stale
// with its time; a shopper whose balance was never read gets 503.
func checkBalanceCache(t *testing.T, on bool) {
	e := startFor(t, mockstore.BalanceCache, on, Options{})
	s := loggedIn(t, e, 0)
	seen, err := s.Wallet(ctxFor(t))
	if err != nil || seen.Balance <= 0 || seen.Stale {
		t.Fatalf("balance before the fault: %+v, %v", seen, err)
	}
	other := loggedIn(t, e, 1)
	addToxic(t, e, "gateway->wallet", resetPeer())
	w, err := s.Wallet(ctxFor(t))
	if err != nil {
		t.Fatalf("balance while the wallet fails: %v", err)
	}
	if !on {
		if w.Balance != 0 {
			t.Fatalf("balance while the wallet fails: %+v, want the incident's 0", w)
		}
		return
	}
	if w.Balance != seen.Balance || !w.Stale || !w.AsOf.Equal(seen.AsOf) {
		t.Fatalf("balance while the wallet fails: %+v, want %d stale as of %v", w, seen.Balance, seen.AsOf)
	}
	wantRetryable(t, "a balance never read while the wallet fails", api(t, e, nil, "GET", "/api/v1/wallet", other.Token, nil))
}

// checkCircuitBreakers: gateway->checkout swallows every request, so each
// call waits for the gateway's 500ms timeout. Off: every call keeps waiting.
// On: after five failures the breaker opens and calls fail fast with 503 +
// Retry-After.
func checkCircuitBreakers(t *testing.T, on bool) {
	const timeout = 500 * time.Millisecond
	e := startFor(t, mockstore.CircuitBreakers, on, Options{GatewayTimeouts: gateway.Timeouts{Checkout: timeout}})
	addToxic(t, e, "gateway->checkout", fault.Toxic{Type: "timeout", Stream: fault.Upstream, Attributes: map[string]any{"timeout": 0}})
	const calls = gateway.DefaultBreakerThreshold + 2
	var fast int
	for i := range calls {
		r := api(t, e, nil, "GET", "/api/v1/products", "", nil)
		wantRetryable(t, "products while checkout hangs", r)
		if r.elapsed < timeout {
			fast++
			if !on || i < gateway.DefaultBreakerThreshold {
				t.Errorf("call %d answered in %v, before the %v timeout", i+1, r.elapsed, timeout)
			}
		}
	}
	opened := gatewayAudit(t, e).BreakerOpenings[mockstore.ServiceCheckout]
	if !on {
		if fast != 0 || opened != 0 {
			t.Errorf("%d calls failed fast, breaker opened %d times; want 0, 0", fast, opened)
		}
		return
	}
	if opened != 1 || fast != calls-gateway.DefaultBreakerThreshold {
		t.Errorf("breaker opened %d times, %d calls failed fast; want 1, %d", opened, fast, calls-gateway.DefaultBreakerThreshold)
	}
}

// checkRetryBudget: gateway->checkout resets every connection while a
// shopper browses. Off: every idempotent call is retried three times at
// once. On: retries stay within a tenth of the calls. Breakers are off on
// both sides: an open breaker stops all calls, retries included, and would
// hide what the budget does while it is closed.
func checkRetryBudget(t *testing.T, on bool) {
	feats := withOff(t, mockstore.CircuitBreakers)
	if !on {
		feats = withOff(t, mockstore.CircuitBreakers, mockstore.RetryBudget)
	}
	e := startEnv(t, Options{Features: feats})
	before := gatewayAudit(t, e)
	addToxic(t, e, "gateway->checkout", resetPeer())
	const calls = 20
	for range calls {
		wantRetryable(t, "products while checkout resets", api(t, e, nil, "GET", "/api/v1/products", "", nil))
	}
	after := gatewayAudit(t, e)
	sent := after.UpstreamCalls[mockstore.ServiceCheckout] - before.UpstreamCalls[mockstore.ServiceCheckout]
	retries := after.Retries[mockstore.ServiceCheckout] - before.Retries[mockstore.ServiceCheckout]
	if sent != calls+retries {
		t.Errorf("%d attempts sent for %d calls and %d retries", sent, calls, retries)
	}
	if !on {
		if retries != 3*calls {
			t.Errorf("%d retries for %d calls, want the herd's %d", retries, calls, 3*calls)
		}
		return
	}
	if retries > calls/10 {
		t.Errorf("%d retries for %d calls, want at most %d", retries, calls, calls/10)
	}
}

// TestOptionsRefuseNegativeKnobs: the timeouts the feature checks tune are
// refused when negative, before anything starts; zero means the defaults.
func TestOptionsRefuseNegativeKnobs(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"zero values", Options{}, true},
		{"all set", Options{OTPTimeout: time.Second, OTPFallbackAfter: time.Second, GatewayTimeouts: gateway.Timeouts{Checkout: time.Second}}, true},
		{"negative OTP timeout", Options{OTPTimeout: -time.Second}, false},
		{"negative fallback", Options{OTPFallbackAfter: -time.Second}, false},
		{"negative gateway timeout", Options{GatewayTimeouts: gateway.Timeouts{Wallet: -time.Second}}, false},
		{"OTP lifetime", Options{OTPLifetime: 8 * time.Second}, true},
		{"negative OTP lifetime", Options{OTPLifetime: -time.Second}, false},
		{"OTP lifetime over auth's most", Options{OTPLifetime: 6 * time.Minute}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.opts.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%t", err, tt.ok)
			}
		})
	}
}

// TestDockerRefusesNewAuth: an auth of a test's own runs in-process only;
// the docker runtime says so before it looks for an engine.
func TestDockerRefusesNewAuth(t *testing.T) {
	_, err := StartDocker(ctxFor(t), Options{NewAuth: auth.New})
	if err == nil || !strings.Contains(err.Error(), "NewAuth") {
		t.Fatalf("StartDocker with NewAuth: %v, want it refused", err)
	}
}

// TestOTPLifetime: the lifetime Options gives reaches auth (the login
// start answers it), built by Options.NewAuth when that is set.
func TestOTPLifetime(t *testing.T) {
	var got auth.Config
	newAuth := func(ctx context.Context, cfg auth.Config) (*auth.Service, error) {
		got = cfg
		return auth.New(ctx, cfg)
	}
	e, err := StartInproc(ctxFor(t), Options{OTPLifetime: 2 * time.Second, Shoppers: 5, NewAuth: newAuth})
	if err != nil {
		t.Fatal(err)
	}
	if got.CodeTTL != 2*time.Second {
		t.Errorf("NewAuth was given CodeTTL %v, want the 2s of Options", got.CodeTTL)
	}
	t.Cleanup(func() { e.Close() })
	phone := e.Info().SamplePhone
	r := api(t, e, nil, "POST", "/api/v1/login", "", map[string]string{"phone": phone})
	wantStatus(t, "login", r, http.StatusAccepted, "")
	var ls auth.LoginStarted
	r.decode(t, &ls)
	if ls.ExpiresInS != 2 {
		t.Fatalf("login start %+v: expires_in_s, want 2", ls)
	}
}

// checkIdempotentRequests: the food service's answers are lost after it
// stored the order. Off: the shopper's retry with the same Idempotency-Key
// (and the gateway's own retry) places the order again. On: the retry gets
// the first order back, and the food service holds one.
func checkIdempotentRequests(t *testing.T, on bool) {
	e := startFor(t, mockstore.IdempotentRequests, on, Options{})
	s := loggedIn(t, e, 0)
	rest := e.Dataset().Restaurants[0]
	order := map[string]any{"restaurant_id": rest.ID, "items": []map[string]any{{"item_id": rest.Menu[0].ID, "qty": 1}}}
	place := func() apiResult {
		return api(t, e, nil, "POST", "/api/v1/food/orders", s.Token, order, gateway.IdempotencyHeader, "food-1")
	}
	remove := addToxic(t, e, "gateway->food", lostAnswers())
	wantRetryable(t, "a food order with its answer lost", place())
	remove()
	r := place()
	var o food.Order
	if on {
		wantStatus(t, "the retry", r, http.StatusOK, "")
	} else {
		wantStatus(t, "the retry", r, http.StatusCreated, "")
	}
	r.decode(t, &o)
	if o.Replayed != on {
		t.Fatalf("the retry with the same key: %+v, want replayed %v", o, on)
	}
	fc := food.NewClient(e.Info().Audit[mockstore.ServiceFood], auditHC)
	a, err := fc.Audit(ctxFor(t))
	if err != nil {
		t.Fatalf("read the food audit: %v", err)
	}
	n := 0
	for _, rec := range a.Orders {
		if rec.UserID == s.UserID && rec.Key == "food-1" {
			n++
		}
	}
	if on && n != 1 || !on && n < 2 {
		t.Fatalf("one food order (one key) stored %d times; want 1 with the feature on, 2 or more off", n)
	}
}

// checkCheckoutOncePerCart: the shopper's own link cuts the answer to a
// checkout after the gateway answered (http_cut on client->gateway), and
// the app sends the checkout again under a new Idempotency-Key. Off: the
// cart was emptied by the paid order, the retry is refused cart_empty. On:
// the retry is answered with the cart's order, replayed "cart". Either way
// one order and one charge.
func checkCheckoutOncePerCart(t *testing.T, on bool) {
	e := startFor(t, mockstore.CheckoutOncePerCart, on, Options{})
	s := loggedIn(t, e, 0)
	req := fillCart(t, e, s)
	// A connection per request: Go's transport would otherwise resend the
	// cut request by itself (it carries an Idempotency-Key) on a new one.
	fresh := &http.Client{Timeout: testTimeout, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	checkoutUnder := func(key string) apiResult {
		return api(t, e, fresh, "POST", "/api/v1/checkout", s.Token, req, gateway.IdempotencyHeader, key)
	}
	remove := addToxic(t, e, "client->gateway", fault.Toxic{Type: fault.HTTPCutType, Stream: fault.Downstream})
	if r := checkoutUnder("co-1"); r.err == nil {
		t.Fatalf("the checkout's answer came through the cut: %d %s", r.status, r.body)
	}
	remove()
	placed := onlyOrder(t, e, s.UserID) // the gateway had answered: the order exists
	r := checkoutUnder("co-2")
	if !on {
		wantStatus(t, "the retry under a new key", r, http.StatusUnprocessableEntity, mockstore.CodeCartEmpty)
	} else {
		wantStatus(t, "the retry under a new key", r, http.StatusCreated, "")
		var o checkout.Order
		r.decode(t, &o)
		if o.OrderID != placed.OrderID || o.Replayed != checkout.ReplayCart {
			t.Fatalf("the retry under a new key answered %+v; want order %s, replayed %q", o, placed.OrderID, checkout.ReplayCart)
		}
	}
	if os := ordersOf(t, e, s.UserID); len(os) != 1 {
		t.Fatalf("%d orders for one cart, want 1", len(os))
	}
	if cs := chargesOf(t, e, s.UserID); len(cs) != 1 {
		t.Fatalf("%d charges for one cart, want 1: %+v", len(cs), cs)
	}
}

// checkOTPSendLimits: an attacker asks the gateway for 40 codes for one
// registered phone, then 31 for a number nobody registered, from its own
// address (X-Forwarded-For, which the gateway believes from the proxy in
// front of it). Off: every start is 202 and the provider delivers 40 codes.
// On: past auth's 30 per phone the answer is 429 rate_limited with
// Retry-After, the same for the unregistered number, the provider delivers
// 30 codes, and a shopper from another address still gets a code.
func checkOTPSendLimits(t *testing.T, on bool) {
	e := startFor(t, mockstore.OTPSendLimits, on, Options{})
	victim := activePhone(t, e, 0)
	start := func(phone, from string) apiResult {
		return api(t, e, nil, "POST", "/api/v1/login", "", map[string]string{"phone": phone}, gateway.ForwardedForHeader, from)
	}
	const attacks = 40
	var over []apiResult
	for i := range attacks {
		r := start(victim, "203.0.113.7")
		if !on || i < 30 {
			wantStatus(t, fmt.Sprintf("start %d", i+1), r, http.StatusAccepted, "")
			continue
		}
		wantStatus(t, fmt.Sprintf("start %d", i+1), r, http.StatusTooManyRequests, mockstore.CodeRateLimited)
		if r.retryAfter() < 1 {
			t.Fatalf("start %d: 429 without Retry-After", i+1)
		}
		over = append(over, r)
	}
	want := attacks
	if on {
		want = 30
	}
	codes := func() int { return otpAudit(t, e).Codes[victim] }
	waitFor(t, 10*time.Second, fmt.Sprintf("%d codes delivered to the flooded phone", want), func() bool { return codes() >= want })
	if got := codes(); got != want {
		t.Fatalf("the provider delivered %d codes to the flooded phone, want %d", got, want)
	}
	if !on {
		return
	}
	const stranger = "+6289900000100"
	for range 30 {
		start(stranger, "203.0.113.8")
	}
	r := start(stranger, "203.0.113.8")
	// The same answer (auth's own test holds it byte for byte on a fake
	// clock; here the Retry-After may differ by the seconds the sends took).
	if r.status != over[0].status || r.code != over[0].code || r.retryAfter() < 1 {
		t.Errorf("over the limit an unregistered number got %d %s Retry-After %d, a registered one %d %s Retry-After %d",
			r.status, r.code, r.retryAfter(), over[0].status, over[0].code, over[0].retryAfter())
	}
	wantStatus(t, "a shopper from another address", start(activePhone(t, e, 1), "100.64.0.9"), http.StatusAccepted, "")
}
