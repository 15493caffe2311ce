package env

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/auth"
	"github.com/gameday/gameday/mockstore/checkout"
	"github.com/gameday/gameday/mockstore/otp"
	"github.com/gameday/gameday/mockstore/shopper"
	"github.com/gameday/gameday/mockstore/wallet"
)

// testTimeout bounds every single wait of these tests; each test finishes
// far sooner when the storefront behaves.
const testTimeout = 15 * time.Second

// startEnv starts an in-process storefront for tb and stops it at cleanup.
// The cleanup is registered before the error is looked at, so a failed start
// leaves nothing behind either.
func startEnv(tb testing.TB, opts Options) *Inproc {
	tb.Helper()
	if opts.Shoppers == 0 {
		opts.Shoppers = 5
	}
	e, err := StartInproc(context.Background(), opts)
	tb.Cleanup(func() {
		if e == nil {
			return
		}
		if err := e.Close(); err != nil {
			tb.Errorf("close the environment: %v", err)
		}
	})
	if err != nil {
		tb.Fatalf("StartInproc: %v", err)
	}
	return e
}

// withOff returns the resilient profile with the named features off.
func withOff(tb testing.TB, off ...mockstore.Feature) mockstore.Features {
	tb.Helper()
	f, err := mockstore.Profile(mockstore.ProfileResilient)
	if err != nil {
		tb.Fatal(err)
	}
	for _, name := range off {
		if err := f.Set(string(name) + "=off"); err != nil {
			tb.Fatal(err)
		}
	}
	return f
}

// ctxFor returns a context that ends with the test or after testTimeout.
func ctxFor(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// proxyOf returns the Toxiproxy proxy name of the link called name.
func proxyOf(tb testing.TB, e *Inproc, link string) string {
	tb.Helper()
	p, ok := e.Info().Links[link]
	if !ok {
		tb.Fatalf("the environment has no link %q (links: %v)", link, e.Info().Links)
	}
	return p
}

// addToxic adds t to the proxy of link through the Toxiproxy HTTP API and
// returns a function that removes it again; the removal also runs at
// cleanup, when the test has not done it itself.
func addToxic(tb testing.TB, e *Inproc, link string, t fault.Toxic) (remove func()) {
	tb.Helper()
	fc := fault.NewClient(e.Info().Toxiproxy)
	proxy := proxyOf(tb, e, link)
	if t.Name == "" {
		t.Name = t.Type + "_" + link
	}
	if err := fc.AddToxic(ctxFor(tb), proxy, t); err != nil {
		tb.Fatalf("add %s to %s: %v", t.Type, link, err)
	}
	removed := false
	remove = func() {
		tb.Helper()
		if removed {
			return
		}
		removed = true
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := fc.RemoveToxic(ctx, proxy, t.Name); err != nil {
			tb.Errorf("remove %s from %s: %v", t.Name, link, err)
		}
	}
	tb.Cleanup(remove)
	return remove
}

// resetPeer is a toxic that resets every connection of the link as soon
// as a request arrives: the upstream never sees the request.
func resetPeer() fault.Toxic {
	return fault.Toxic{Type: "reset_peer", Stream: fault.Upstream, Attributes: map[string]any{"timeout": 0}}
}

// lostAnswers is a toxic that resets every connection of the link as soon
// as the answer starts back: the upstream has done the work, the caller
// never hears of it (the ambiguous commit).
func lostAnswers() fault.Toxic {
	return fault.Toxic{Type: "reset_peer", Stream: fault.Downstream, Attributes: map[string]any{"timeout": 0}}
}

// waitFor polls cond every 10ms until it holds, failing tb after within.
func waitFor(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %v", what, within)
		}
		<-tick.C
	}
}

// holdsUntil polls cond every 10ms until deadline, failing tb as soon as
// it does not hold: what must not happen within a bound.
func holdsUntil(tb testing.TB, deadline time.Time, what string, cond func() bool) {
	tb.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if !cond() {
			tb.Fatalf("%s: broken %v before the deadline", what, time.Until(deadline).Round(time.Millisecond))
		}
		if !time.Now().Before(deadline) {
			return
		}
		<-tick.C
	}
}

// activePhone returns the phone of the i-th active shopper of the dataset.
func activePhone(tb testing.TB, e *Inproc, i int) string {
	tb.Helper()
	for _, u := range e.Dataset().Users {
		if u.Status != mockstore.StatusActive {
			continue
		}
		if i == 0 {
			return u.Phone
		}
		i--
	}
	tb.Fatalf("the dataset has too few active shoppers")
	return ""
}

// newShopper returns a shopper with the i-th active phone who has not
// logged in yet.
func newShopper(tb testing.TB, e *Inproc, i int) *shopper.Client {
	tb.Helper()
	info := e.Info()
	return shopper.New(info.Gateway, info.OTPInbox, activePhone(tb, e, i), mockstore.NewClient(testTimeout))
}

// loggedIn returns the i-th active shopper, logged in through the OTP inbox.
func loggedIn(tb testing.TB, e *Inproc, i int) *shopper.Client {
	tb.Helper()
	s := newShopper(tb, e, i)
	if err := s.Login(ctxFor(tb)); err != nil {
		tb.Fatalf("log in %s: %v", s.Phone, err)
	}
	return s
}

// apiResult is one answer of the public API, as the wire had it.
type apiResult struct {
	status  int
	header  http.Header
	body    []byte
	code    mockstore.Code // from the error envelope, if any
	elapsed time.Duration
	err     error // no answer at all
}

// retryAfter returns the Retry-After header in seconds, or 0 when absent.
func (r apiResult) retryAfter() int {
	n, _ := strconv.Atoi(r.header.Get("Retry-After"))
	return n
}

// decode decodes the body into v.
func (r apiResult) decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		tb.Fatalf("decode %s: %v", r.body, err)
	}
}

// api sends one request to the gateway's public API with hc (nil: a plain
// client) and token as bearer ("" for none) and returns what came back.
func api(tb testing.TB, e *Inproc, hc *http.Client, method, path, token string, in any, headers ...string) apiResult {
	tb.Helper()
	if hc == nil {
		hc = &http.Client{Timeout: testTimeout}
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			tb.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctxFor(tb), method, e.Info().Gateway+path, body)
	if err != nil {
		tb.Fatal(err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return apiResult{err: err, elapsed: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	r := apiResult{status: resp.StatusCode, header: resp.Header, body: b, elapsed: time.Since(start), err: err}
	if resp.StatusCode >= 400 {
		var env struct {
			Error struct {
				Code mockstore.Code `json:"code"`
			} `json:"error"`
		}
		if json.Unmarshal(b, &env) == nil {
			r.code = env.Error.Code
		}
	}
	return r
}

// wantStatus fails tb unless r answered status with code ("" for any code).
func wantStatus(tb testing.TB, what string, r apiResult, status int, code mockstore.Code) {
	tb.Helper()
	if r.err != nil {
		tb.Fatalf("%s: no answer: %v", what, r.err)
	}
	if r.status != status || (code != "" && r.code != code) {
		tb.Fatalf("%s: %d %s, want %d %s: %s", what, r.status, r.code, status, code, r.body)
	}
}

// wantRetryable fails tb unless r is a 503 with a code and a Retry-After.
func wantRetryable(tb testing.TB, what string, r apiResult) {
	tb.Helper()
	wantStatus(tb, what, r, http.StatusServiceUnavailable, "")
	if r.code == "" || r.retryAfter() < 1 {
		tb.Fatalf("%s: 503 without a code or a Retry-After (code %q, Retry-After %q): %s",
			what, r.code, r.header.Get("Retry-After"), r.body)
	}
}

// cookieClient returns an HTTP client with a cookie jar: a browser.
func cookieClient(tb testing.TB) *http.Client {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: testTimeout}
}

// auditHC is the client of the audit reads.
var auditHC = mockstore.NewClient(testTimeout)

func gatewayAudit(tb testing.TB, e *Inproc) mockstore.GatewayAudit {
	tb.Helper()
	var a mockstore.GatewayAudit
	if err := mockstore.Call(ctxFor(tb), auditHC, http.MethodGet, e.Info().Audit[mockstore.ServiceGateway]+"/audit/gateway", nil, &a, nil); err != nil {
		tb.Fatalf("read the gateway audit: %v", err)
	}
	return a
}

func authAudit(tb testing.TB, e *Inproc) mockstore.AuthAudit {
	tb.Helper()
	a, err := auth.ReadAudit(ctxFor(tb), auditHC, e.Info().Audit[mockstore.ServiceAuth])
	if err != nil {
		tb.Fatalf("read the auth audit: %v", err)
	}
	return a
}

func otpAudit(tb testing.TB, e *Inproc) otp.Audit {
	tb.Helper()
	a, err := otp.ReadAudit(ctxFor(tb), auditHC, e.Info().Audit[mockstore.ServiceOTP])
	if err != nil {
		tb.Fatalf("read the otp audit: %v", err)
	}
	return a
}

// chargesOf returns the wallet's charges for the orders of userID.
func chargesOf(tb testing.TB, e *Inproc, userID string) []mockstore.ChargeRecord {
	tb.Helper()
	all, err := wallet.ReadCharges(ctxFor(tb), auditHC, e.Info().Audit[mockstore.ServiceWallet])
	if err != nil {
		tb.Fatalf("read the wallet's charges: %v", err)
	}
	var out []mockstore.ChargeRecord
	for _, c := range all {
		if c.UserID == userID {
			out = append(out, c)
		}
	}
	return out
}

// ordersOf returns checkout's records of the orders of userID.
func ordersOf(tb testing.TB, e *Inproc, userID string) []mockstore.OrderRecord {
	tb.Helper()
	all, err := checkout.ReadOrders(ctxFor(tb), auditHC, e.Info().Audit[mockstore.ServiceCheckout])
	if err != nil {
		tb.Fatalf("read checkout's orders: %v", err)
	}
	var out []mockstore.OrderRecord
	for _, o := range all {
		if o.UserID == userID {
			out = append(out, o)
		}
	}
	return out
}

// onlyOrder returns the single order of userID.
func onlyOrder(tb testing.TB, e *Inproc, userID string) mockstore.OrderRecord {
	tb.Helper()
	os := ordersOf(tb, e, userID)
	if len(os) != 1 {
		tb.Fatalf("%s has %d orders, want 1: %+v", userID, len(os), os)
	}
	return os[0]
}

// fillCart puts one of the cheapest product into s's cart and returns the
// checkout request for it: a courier that serves the area and takes it.
func fillCart(tb testing.TB, e *Inproc, s *shopper.Client) shopper.CheckoutRequest {
	tb.Helper()
	ds := e.Dataset()
	c := ds.Couriers[0]
	var pick mockstore.Product
	for _, p := range ds.Products {
		if p.WeightG <= c.MaxWeightG && p.SizeCM <= c.MaxSizeCM && (pick.ID == "" || p.Price < pick.Price) {
			pick = p
		}
	}
	if err := s.AddItem(ctxFor(tb), pick.ID, 1); err != nil {
		tb.Fatalf("add %s to the cart: %v", pick.ID, err)
	}
	return shopper.CheckoutRequest{
		Address:       mockstore.Address{Line: "Jl. Test 1", Area: c.Areas[0]},
		Courier:       c.ID,
		PaymentMethod: mockstore.PaymentWallet,
	}
}

// isUnreachable reports whether err says no answer came.
func isUnreachable(err error) bool {
	var ue *mockstore.UpstreamError
	return errors.As(err, &ue)
}
