package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// harness is a gateway in front of fake upstreams, each behind a link the
// test can cut.
type harness struct {
	svc      *Service
	url      string
	auditURL string
	clock    *fakeClock

	auth     *fakeAuth
	checkout *fakeCheckout
	wallet   *fakeWallet
	authLink *link
	coLink   *link
	walLink  *link
}

// features returns the resilient profile with the given features off.
func features(off ...mockstore.Feature) mockstore.Features {
	f, _ := mockstore.Profile(mockstore.ProfileResilient)
	for _, n := range off {
		f[n] = false
	}
	return f
}

func newHarness(tb testing.TB, f mockstore.Features, tweak func(*Config)) *harness {
	tb.Helper()
	h := &harness{clock: newFakeClock(), auth: newFakeAuth(), checkout: newFakeCheckout()}
	h.wallet = newFakeWallet(h.clock.Now)
	authSrv := httptest.NewServer(h.auth.handler())
	tb.Cleanup(authSrv.Close)
	coSrv := httptest.NewServer(h.checkout.handler())
	tb.Cleanup(coSrv.Close)
	walSrv := httptest.NewServer(h.wallet.handler())
	tb.Cleanup(walSrv.Close)
	h.authLink = newLink(tb, hostOf(authSrv), linkPass)
	h.coLink = newLink(tb, hostOf(coSrv), linkPass)
	h.walLink = newLink(tb, hostOf(walSrv), linkPass)
	cfg := Config{
		AuthURL:     h.authLink.URL(),
		CheckoutURL: h.coLink.URL(),
		WalletURL:   h.walLink.URL(),
		FoodURL:     "http://127.0.0.1:9", // discard: these tests do not order food
		Features:    f,
		Now:         h.clock.Now,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	h.svc, h.url, h.auditURL = startGateway(tb, cfg)
	return h
}

// startGateway serves a gateway for cfg on httptest servers and returns it
// with its public and audit base URLs.
func startGateway(tb testing.TB, cfg Config) (*Service, string, string) {
	tb.Helper()
	svc, err := New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("gateway.New: %v", err)
	}
	tb.Cleanup(func() { _ = svc.Close() })
	pub := httptest.NewServer(svc.Handler())
	tb.Cleanup(pub.Close)
	aud := httptest.NewServer(svc.AuditHandler())
	tb.Cleanup(aud.Close)
	return svc, pub.URL, aud.URL
}

// resp is an answer as the test saw it.
type resp struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration
}

var testClient = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// call sends one request; hdr is pairs of header name and value.
func call(tb testing.TB, base, method, path, body string, hdr ...string) resp {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		tb.Fatalf("new request: %v", err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Cookie" {
			req.Header.Add("Cookie", hdr[i+1])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	start := time.Now()
	res, err := testClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b, took: time.Since(start)}
}

func (h *harness) call(tb testing.TB, method, path, body string, hdr ...string) resp {
	tb.Helper()
	return call(tb, h.url, method, path, body, hdr...)
}

// envelope decodes an error answer, failing the test when it is not one.
func (r resp) envelope(tb testing.TB) mockstore.Error {
	tb.Helper()
	var env struct {
		Error *mockstore.Error `json:"error"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil || env.Error == nil || env.Error.Code == "" {
		tb.Fatalf("status %d: body is not the error envelope: %s", r.status, r.body)
	}
	return *env.Error
}

// wantError checks an error answer: status, code, and Retry-After exactly
// when the code is retryable.
func (r resp) wantError(tb testing.TB, status int, code mockstore.Code) mockstore.Error {
	tb.Helper()
	e := r.envelope(tb)
	if r.status != status || e.Code != code {
		tb.Fatalf("got %d %s (%s), want %d %s", r.status, e.Code, e.Message, status, code)
	}
	ra := r.header.Get("Retry-After")
	if code.Retryable() {
		if n, err := strconv.Atoi(ra); err != nil || n < 1 || e.RetryAfter != n {
			tb.Fatalf("%s: Retry-After %q, retry_after_s %d: want the same positive number", code, ra, e.RetryAfter)
		}
	} else if ra != "" {
		tb.Fatalf("%s: Retry-After %q on a code that is not retryable", code, ra)
	}
	return e
}

func (r resp) decode(tb testing.TB, status int, v any) {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			tb.Fatalf("decode %s: %v", r.body, err)
		}
	}
}

func (r resp) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// login signs in through the gateway (the fake auth's code is 123456) and
// returns the token.
func (h *harness) login(tb testing.TB, phone string) string {
	tb.Helper()
	var ls struct {
		LoginID string `json:"login_id"`
	}
	h.call(tb, "POST", "/api/v1/login", `{"phone":"`+phone+`"}`).decode(tb, http.StatusAccepted, &ls)
	var v struct {
		Token string `json:"token"`
	}
	h.call(tb, "POST", "/api/v1/login/verify", `{"login_id":"`+ls.LoginID+`","code":"123456"}`).decode(tb, http.StatusOK, &v)
	if v.Token == "" {
		tb.Fatal("verify gave no token")
	}
	return v.Token
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

func readAudit(tb testing.TB, auditURL string) mockstore.GatewayAudit {
	tb.Helper()
	var a mockstore.GatewayAudit
	call(tb, auditURL, "GET", "/audit/gateway", "").decode(tb, http.StatusOK, &a)
	return a
}

func TestNewRefusesBadConfig(t *testing.T) {
	ok := Config{AuthURL: "http://127.0.0.1:1", CheckoutURL: "http://127.0.0.1:2", WalletURL: "http://127.0.0.1:3", FoodURL: "http://127.0.0.1:4"}
	tests := []struct {
		name  string
		tweak func(*Config)
	}{
		{"no auth URL", func(c *Config) { c.AuthURL = "" }},
		{"relative checkout URL", func(c *Config) { c.CheckoutURL = "/checkout" }},
		{"wallet URL of another scheme", func(c *Config) { c.WalletURL = "ftp://127.0.0.1:3" }},
		{"negative timeout", func(c *Config) { c.Timeouts.Wallet = -time.Second }},
		{"no food URL", func(c *Config) { c.FoodURL = "" }},
		{"negative food timeout", func(c *Config) { c.Timeouts.Food = -time.Second }},
		{"negative threshold", func(c *Config) { c.BreakerThreshold = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.tweak(&cfg)
			if _, err := New(context.Background(), cfg); err == nil {
				t.Fatal("New accepted a bad config")
			}
		})
	}
	svc, err := New(context.Background(), ok)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := svc.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

func TestRouting(t *testing.T) {
	h := newHarness(t, features(), nil)
	tests := []struct {
		name, method, path string
		status             int
		code               mockstore.Code
		allow              string
	}{
		{"health", "GET", "/healthz", 200, "", ""},
		{"unknown route", "GET", "/api/v1/nope", 404, mockstore.CodeNotFound, ""},
		{"root", "GET", "/", 404, mockstore.CodeNotFound, ""},
		{"unversioned", "GET", "/api/me", 404, mockstore.CodeNotFound, ""},
		{"wrong method on login", "GET", "/api/v1/login", 405, mockstore.CodeMethodNotAllowed, "POST"},
		{"wrong method on products", "POST", "/api/v1/products", 405, mockstore.CodeMethodNotAllowed, "GET, HEAD"},
		{"wrong method on cart items", "PUT", "/api/v1/cart/items/p001", 405, mockstore.CodeMethodNotAllowed, "DELETE"},
		{"unclean path", "GET", "/api//v1/nope", 404, mockstore.CodeNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.call(t, tt.method, tt.path, "")
			if tt.code == "" {
				r.decode(t, tt.status, nil)
				return
			}
			r.wantError(t, tt.status, tt.code)
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Fatalf("Allow %q, want %q", got, tt.allow)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
	a := readAudit(t, h.auditURL)
	if a.Responses["404:not_found"] != 4 || a.Responses["405:method_not_allowed"] != 3 {
		t.Fatalf("audit responses %v", a.Responses)
	}
	// The audit handler is its own, with the same envelope.
	call(t, h.auditURL, "GET", "/api/v1/products", "").wantError(t, 404, mockstore.CodeNotFound)
	call(t, h.auditURL, "DELETE", "/audit/gateway", "").wantError(t, 405, mockstore.CodeMethodNotAllowed)
}

// TestBadInput sends bad input to every endpoint: each gets its specific
// code, never a 500, and nothing reaches an upstream that changes state.
func TestBadInput(t *testing.T) {
	h := newHarness(t, features(), nil)
	tok := h.login(t, "+6281100001")
	authed := bearer(tok)
	key := []string{"Authorization", "Bearer " + tok, "Idempotency-Key", "k-1"}
	big := `{"phone":"` + strings.Repeat("1", mockstore.MaxBody) + `"}`
	goodCheckout := `{"address":{"line":"Jl. Sudirman 1","area":"jakarta"},"courier":"jne","payment_method":"wallet"}`
	tests := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		code                     mockstore.Code
	}{
		{"login bad JSON", "POST", "/api/v1/login", `{"phone":`, nil, 400, mockstore.CodeInvalidRequest},
		{"login not an object", "POST", "/api/v1/login", `[1,2]`, nil, 400, mockstore.CodeInvalidRequest},
		{"login unknown field", "POST", "/api/v1/login", `{"phone":"+6281100001","pin":"1"}`, nil, 400, mockstore.CodeInvalidRequest},
		{"login trailing data", "POST", "/api/v1/login", `{"phone":"+6281100001"} {}`, nil, 400, mockstore.CodeInvalidRequest},
		{"login no body", "POST", "/api/v1/login", ``, nil, 400, mockstore.CodeInvalidRequest},
		{"login no phone", "POST", "/api/v1/login", `{}`, nil, 400, mockstore.CodeInvalidRequest},
		{"login bad phone", "POST", "/api/v1/login", `{"phone":"call me"}`, nil, 400, mockstore.CodeInvalidRequest},
		{"login phone as number", "POST", "/api/v1/login", `{"phone":6281100001}`, nil, 400, mockstore.CodeInvalidRequest},
		{"login unknown channel", "POST", "/api/v1/login", `{"phone":"+6281100001","channel":"fax"}`, nil, 400, mockstore.CodeInvalidRequest},
		{"login body too large", "POST", "/api/v1/login", big, nil, 413, mockstore.CodeBodyTooLarge},
		{"verify no code", "POST", "/api/v1/login/verify", `{"login_id":"L-1"}`, nil, 400, mockstore.CodeInvalidRequest},
		{"verify no login", "POST", "/api/v1/login/verify", `{"code":"123456"}`, nil, 400, mockstore.CodeInvalidRequest},
		{"verify bad login id", "POST", "/api/v1/login/verify", `{"login_id":"../x","code":"123456"}`, nil, 400, mockstore.CodeInvalidRequest},
		{"verify huge code", "POST", "/api/v1/login/verify", `{"login_id":"L-1","code":"` + strings.Repeat("1", 100) + `"}`, nil, 400, mockstore.CodeInvalidRequest},
		{"resend bad JSON", "POST", "/api/v1/login/resend", `nope`, nil, 400, mockstore.CodeInvalidRequest},
		{"resend unknown channel", "POST", "/api/v1/login/resend", `{"login_id":"L-1","channel":"pigeon"}`, nil, 400, mockstore.CodeInvalidRequest},
		{"logout without session", "POST", "/api/v1/logout", ``, nil, 401, mockstore.CodeUnauthenticated},
		{"logout basic auth", "POST", "/api/v1/logout", ``, []string{"Authorization", "Basic dTpw"}, 401, mockstore.CodeUnauthenticated},
		{"me without session", "GET", "/api/v1/me", ``, nil, 401, mockstore.CodeUnauthenticated},
		{"me unknown token", "GET", "/api/v1/me", ``, bearer("tok-nobody"), 401, mockstore.CodeUnauthenticated},
		{"me empty bearer", "GET", "/api/v1/me", ``, []string{"Authorization", "Bearer "}, 401, mockstore.CodeUnauthenticated},
		{"me token with spaces", "GET", "/api/v1/me", ``, []string{"Authorization", "Bearer a b"}, 401, mockstore.CodeUnauthenticated},
		{"me huge token", "GET", "/api/v1/me", ``, bearer(strings.Repeat("t", 600)), 401, mockstore.CodeUnauthenticated},
		{"wallet without session", "GET", "/api/v1/wallet", ``, nil, 401, mockstore.CodeUnauthenticated},
		{"topup without session", "POST", "/api/v1/wallet/topup", `{"amount":1000,"reference":"r1"}`, nil, 401, mockstore.CodeUnauthenticated},
		{"topup negative", "POST", "/api/v1/wallet/topup", `{"amount":-1000,"reference":"r1"}`, authed, 400, mockstore.CodeInvalidRequest},
		{"topup zero", "POST", "/api/v1/wallet/topup", `{"amount":0,"reference":"r1"}`, authed, 400, mockstore.CodeInvalidRequest},
		{"topup over the limit", "POST", "/api/v1/wallet/topup", `{"amount":` + strconv.Itoa(MaxTopup+1) + `,"reference":"r1"}`, authed, 400, mockstore.CodeInvalidRequest},
		{"topup beyond int64", "POST", "/api/v1/wallet/topup", `{"amount":1e30,"reference":"r1"}`, authed, 400, mockstore.CodeInvalidRequest},
		{"topup fraction", "POST", "/api/v1/wallet/topup", `{"amount":10.5,"reference":"r1"}`, authed, 400, mockstore.CodeInvalidRequest},
		{"topup amount as string", "POST", "/api/v1/wallet/topup", `{"amount":"1000","reference":"r1"}`, authed, 400, mockstore.CodeInvalidRequest},
		{"topup no reference", "POST", "/api/v1/wallet/topup", `{"amount":1000}`, authed, 400, mockstore.CodeInvalidRequest},
		{"topup unknown field", "POST", "/api/v1/wallet/topup", `{"amount":1000,"reference":"r1","to":"u2"}`, authed, 400, mockstore.CodeInvalidRequest},
		{"cart bad guest id", "GET", "/api/v1/cart", ``, []string{GuestHeader, "not ok!"}, 400, mockstore.CodeInvalidRequest},
		{"cart short guest id", "GET", "/api/v1/cart", ``, []string{"Cookie", GuestCookie + "=abc"}, 400, mockstore.CodeInvalidRequest},
		{"cart unknown token", "GET", "/api/v1/cart", ``, bearer("tok-nobody"), 401, mockstore.CodeUnauthenticated},
		{"add item bad JSON", "POST", "/api/v1/cart/items", `{"product_id":"p001",`, authed, 400, mockstore.CodeInvalidRequest},
		{"add item no product", "POST", "/api/v1/cart/items", `{"qty":1}`, authed, 400, mockstore.CodeInvalidRequest},
		{"add item bad product id", "POST", "/api/v1/cart/items", `{"product_id":"p 1","qty":1}`, authed, 400, mockstore.CodeInvalidRequest},
		{"add item zero", "POST", "/api/v1/cart/items", `{"product_id":"p001","qty":0}`, authed, 400, mockstore.CodeInvalidRequest},
		{"add item negative", "POST", "/api/v1/cart/items", `{"product_id":"p001","qty":-3}`, authed, 400, mockstore.CodeInvalidRequest},
		{"add item huge", "POST", "/api/v1/cart/items", `{"product_id":"p001","qty":1000000}`, authed, 400, mockstore.CodeInvalidRequest},
		{"add item unknown field", "POST", "/api/v1/cart/items", `{"product_id":"p001","qty":1,"price":1}`, authed, 400, mockstore.CodeInvalidRequest},
		{"remove item bad id", "DELETE", "/api/v1/cart/items/p%20001", ``, authed, 400, mockstore.CodeInvalidRequest},
		{"checkout without session", "POST", "/api/v1/checkout", goodCheckout, []string{"Idempotency-Key", "k-1"}, 401, mockstore.CodeUnauthenticated},
		{"checkout without key", "POST", "/api/v1/checkout", goodCheckout, authed, 400, mockstore.CodeIdempotencyKey},
		{"checkout huge key", "POST", "/api/v1/checkout", goodCheckout, []string{"Authorization", "Bearer " + tok, "Idempotency-Key", strings.Repeat("k", 200)}, 400, mockstore.CodeInvalidRequest},
		{"checkout bad JSON", "POST", "/api/v1/checkout", `{"address":`, key, 400, mockstore.CodeInvalidRequest},
		{"checkout address as string", "POST", "/api/v1/checkout", `{"address":"Jl. Sudirman","courier":"jne","payment_method":"wallet"}`, key, 400, mockstore.CodeInvalidRequest},
		{"checkout no area", "POST", "/api/v1/checkout", `{"address":{"line":"Jl. Sudirman 1"},"courier":"jne","payment_method":"wallet"}`, key, 400, mockstore.CodeInvalidRequest},
		{"checkout no courier", "POST", "/api/v1/checkout", `{"address":{"line":"x","area":"jakarta"},"payment_method":"wallet"}`, key, 400, mockstore.CodeInvalidRequest},
		{"checkout no payment method", "POST", "/api/v1/checkout", `{"address":{"line":"x","area":"jakarta"},"courier":"jne"}`, key, 400, mockstore.CodeInvalidRequest},
		{"checkout unknown field", "POST", "/api/v1/checkout", `{"address":{"line":"x","area":"jakarta"},"courier":"jne","payment_method":"wallet","amount":1}`, key, 400, mockstore.CodeInvalidRequest},
		{"order without session", "GET", "/api/v1/orders/o-1", ``, nil, 401, mockstore.CodeUnauthenticated},
		{"order bad id", "GET", "/api/v1/orders/o%201", ``, authed, 400, mockstore.CodeInvalidRequest},
	}
	authBefore := h.auth.calls["login"] + h.auth.calls["verify"] + h.auth.calls["resend"] + h.auth.calls["logout"]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.call(t, tt.method, tt.path, tt.body, tt.hdr...)
			r.wantError(t, tt.status, tt.code)
		})
	}
	h.auth.set(func(f *fakeAuth) {
		if n := f.calls["login"] + f.calls["verify"] + f.calls["resend"] + f.calls["logout"]; n != authBefore {
			t.Errorf("bad input reached auth's state-changing routes %d times", n-authBefore)
		}
	})
	if h.checkout.writes != 0 || len(h.wallet.refs) != 0 {
		t.Errorf("bad input reached upstreams: checkout writes %d, wallet top-ups %d", h.checkout.writes, len(h.wallet.refs))
	}
	a := readAudit(t, h.auditURL)
	for k := range a.Responses {
		if strings.HasPrefix(k, "5") {
			t.Errorf("a 5xx answered bad input: %v", a.Responses)
		}
	}
	// Refusals by the upstream come through with their own codes.
	h.call(t, "POST", "/api/v1/cart/items", `{"product_id":"p999","qty":1}`, authed...).wantError(t, 422, mockstore.CodeUnknownProduct)
	h.call(t, "POST", "/api/v1/login/verify", `{"login_id":"L-1","code":"000000"}`).wantError(t, 401, mockstore.CodeInvalidCode)
	h.call(t, "GET", "/api/v1/orders/o-nope", "", authed...).wantError(t, 404, mockstore.CodeNotFound)
}

func TestSessionCookie(t *testing.T) {
	h := newHarness(t, features(), nil)
	h.call(t, "POST", "/api/v1/login", `{"phone":"+6281100001"}`).decode(t, 202, nil)
	r := h.call(t, "POST", "/api/v1/login/verify", `{"login_id":"L-6281100001","code":"123456"}`)
	var v struct {
		Token  string `json:"token"`
		UserID string `json:"user_id"`
	}
	r.decode(t, 200, &v)
	c := r.cookie(SessionCookie)
	if c == nil || c.Value != v.Token || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 3600 {
		t.Fatalf("session cookie %+v, want the token, HttpOnly, SameSite=Lax, Path=/, Max-Age 3600", c)
	}
	cookie := []string{"Cookie", SessionCookie + "=" + v.Token}
	var me meResponse
	h.call(t, "GET", "/api/v1/me", "", cookie...).decode(t, 200, &me)
	if me.UserID != v.UserID || me.Phone != "+6281100001" {
		t.Fatalf("me = %+v", me)
	}
	// Logout revokes, clears the cookie, and the session is gone after it.
	r = h.call(t, "POST", "/api/v1/logout", "", cookie...)
	r.decode(t, http.StatusNoContent, nil)
	if c := r.cookie(SessionCookie); c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout did not clear the cookie: %+v", c)
	}
	r = h.call(t, "GET", "/api/v1/me", "", cookie...)
	r.wantError(t, 401, mockstore.CodeUnauthenticated)
	if c := r.cookie(SessionCookie); c == nil || c.MaxAge >= 0 {
		t.Fatalf("a 401 did not clear the cookie: %+v", c)
	}
	if a := readAudit(t, h.auditURL); a.ForcedLogouts != 0 {
		t.Fatalf("a logout was counted as a forced logout: %+v", a)
	}
	// A malformed cookie is a 401 that clears it, without asking auth.
	r = h.call(t, "GET", "/api/v1/me", "", "Cookie", SessionCookie+"=\"bad\"")
	r.wantError(t, 401, mockstore.CodeUnauthenticated)
}

func TestGuestCart(t *testing.T) {
	h := newHarness(t, features(), nil)
	// No id: one is issued, as a cookie and a header.
	r := h.call(t, "GET", "/api/v1/cart", "")
	r.decode(t, 200, nil)
	c := r.cookie(GuestCookie)
	if c == nil || !validGuestID(c.Value) || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || r.header.Get(GuestHeader) != c.Value {
		t.Fatalf("guest cookie %+v, header %q", c, r.header.Get(GuestHeader))
	}
	cookie := []string{"Cookie", GuestCookie + "=" + c.Value}
	var cart struct {
		Owner string `json:"owner"`
		Items []struct {
			ProductID string `json:"product_id"`
			Qty       int    `json:"qty"`
		} `json:"items"`
		Total int64 `json:"total"`
	}
	h.call(t, "POST", "/api/v1/cart/items", `{"product_id":"p001","qty":2}`, cookie...).decode(t, 200, &cart)
	if cart.Owner != "g:"+c.Value || len(cart.Items) != 1 || cart.Items[0].Qty != 2 || cart.Total != 30_000 {
		t.Fatalf("cart after add: %+v", cart)
	}
	// The same cart through the header; the cookie is not issued again.
	r = h.call(t, "GET", "/api/v1/cart", "", GuestHeader, c.Value)
	r.decode(t, 200, &cart)
	if len(cart.Items) != 1 || r.cookie(GuestCookie) != nil {
		t.Fatalf("cart by header: %+v (cookie %v)", cart, r.cookie(GuestCookie))
	}
	h.call(t, "DELETE", "/api/v1/cart/items/p001", "", cookie...).decode(t, 200, &cart)
	if len(cart.Items) != 0 || cart.Total != 0 {
		t.Fatalf("cart after remove: %+v", cart)
	}
	// A signed-in shopper's cart is their own, whatever guest id they carry.
	tok := h.login(t, "+6281100002")
	h.call(t, "POST", "/api/v1/cart/items", `{"product_id":"p002","qty":1}`, append(bearer(tok), cookie...)...).decode(t, 200, &cart)
	if !strings.HasPrefix(cart.Owner, "u:") {
		t.Fatalf("signed-in cart owner %q", cart.Owner)
	}
	// Guests cannot check out.
	h.call(t, "POST", "/api/v1/checkout", `{"address":{"line":"x","area":"jakarta"},"courier":"jne","payment_method":"wallet"}`,
		"Idempotency-Key", "k-1", "Cookie", GuestCookie+"="+c.Value).wantError(t, 401, mockstore.CodeUnauthenticated)
}

func TestMaintenance(t *testing.T) {
	h := newHarness(t, features(), nil)
	tok := h.login(t, "+6281100001")
	set := func(tb testing.TB, body string) Maintenance {
		tb.Helper()
		var m Maintenance
		call(tb, h.auditURL, "POST", "/audit/maintenance", body).decode(tb, 200, &m)
		return m
	}
	m := set(t, `{"on":true,"retry_after_s":120,"message":"Back at 14:00."}`)
	if !m.On || m.RetryAfterS != 120 || m.Message != "Back at 14:00." {
		t.Fatalf("maintenance state %+v", m)
	}
	routes := []struct{ method, path, body string }{
		{"POST", "/api/v1/login", `{"phone":"+6281100001"}`},
		{"POST", "/api/v1/login/verify", `{}`},
		{"POST", "/api/v1/logout", ``},
		{"GET", "/api/v1/me", ``},
		{"GET", "/api/v1/wallet", ``},
		{"POST", "/api/v1/wallet/topup", `{"amount":1,"reference":"r"}`},
		{"GET", "/api/v1/products", ``},
		{"GET", "/api/v1/cart", ``},
		{"POST", "/api/v1/checkout", `{}`},
		{"GET", "/api/v1/orders/o-1", ``},
		{"GET", "/api/v1/unknown", ``},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			r := h.call(t, rt.method, rt.path, rt.body, bearer(tok)...)
			e := r.wantError(t, 503, mockstore.CodeMaintenance)
			if e.RetryAfter != 120 || e.Message != "Back at 14:00." {
				t.Fatalf("maintenance answer %+v", e)
			}
			if len(r.header.Values("Set-Cookie")) != 0 {
				t.Fatalf("maintenance touched cookies: %v", r.header.Values("Set-Cookie"))
			}
		})
	}
	h.call(t, "GET", "/healthz", "").decode(t, 200, nil)
	if n := h.auth.calls["logout"]; n != 0 {
		t.Fatalf("maintenance logged someone out (%d)", n)
	}
	var got Maintenance
	call(t, h.auditURL, "GET", "/audit/maintenance", "").decode(t, 200, &got)
	if got != m {
		t.Fatalf("GET maintenance %+v, want %+v", got, m)
	}
	// Bad switches change nothing.
	call(t, h.auditURL, "POST", "/audit/maintenance", `{"on":false,"retry_after_s":-1}`).wantError(t, 400, mockstore.CodeInvalidRequest)
	call(t, h.auditURL, "POST", "/audit/maintenance", `{"on":false,"until":"never"}`).wantError(t, 400, mockstore.CodeInvalidRequest)
	h.call(t, "GET", "/api/v1/products", "").wantError(t, 503, mockstore.CodeMaintenance)
	// Defaults, then off: the session still works.
	if m := set(t, `{"on":true}`); m.RetryAfterS != DefaultMaintenanceRetryAfter || m.Message != DefaultMaintenanceMessage {
		t.Fatalf("defaults %+v", m)
	}
	set(t, `{"on":false}`)
	h.call(t, "GET", "/api/v1/me", "", bearer(tok)...).decode(t, 200, nil)
	if a := readAudit(t, h.auditURL); a.Responses["503:maintenance"] != len(routes)+1 || a.Bare5xx != 0 {
		t.Fatalf("audit %+v", a)
	}
}

// TestHonestErrors: an upstream that does not answer is 503 with
// Retry-After naming what is unavailable (on), a bare 500 or a false "not
// registered" (off).
func TestHonestErrors(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(onOff(on), func(t *testing.T) {
			f := features()
			f[mockstore.HonestErrors] = on
			h := newHarness(t, f, nil)
			tok := h.login(t, "+6281100001")
			h.authLink.set(linkReset)
			h.coLink.set(linkReset)
			h.walLink.set(linkReset)

			login := h.call(t, "POST", "/api/v1/login", `{"phone":"+6281100001"}`)
			products := h.call(t, "GET", "/api/v1/products", "")
			h.authLink.set(linkPass)
			topup := h.call(t, "POST", "/api/v1/wallet/topup", `{"amount":1000,"reference":"r1"}`, bearer(tok)...)
			if on {
				e := login.wantError(t, 503, mockstore.CodeUnavailable)
				if !strings.Contains(e.Message, "sign-in") {
					t.Errorf("login message %q does not name sign-in", e.Message)
				}
				e = products.wantError(t, 503, mockstore.CodeUnavailable)
				if !strings.Contains(e.Message, "catalogue") {
					t.Errorf("products message %q does not name the catalogue", e.Message)
				}
				e = topup.wantError(t, 503, mockstore.CodeUnavailable)
				if !strings.Contains(e.Message, "top-up") || !strings.Contains(e.Message, "same reference") {
					t.Errorf("topup message %q", e.Message)
				}
			} else {
				e := login.wantError(t, 404, mockstore.CodeNotRegistered)
				if e.Message != "phone number not registered or inactive" {
					t.Errorf("login message %q", e.Message)
				}
				products.wantError(t, 500, mockstore.CodeInternal)
				topup.wantError(t, 500, mockstore.CodeInternal)
			}
			a := readAudit(t, h.auditURL)
			if want := map[bool]int{true: 0, false: 2}[on]; a.Bare5xx != want {
				t.Errorf("bare 5xx %d, want %d (%v)", a.Bare5xx, want, a.Responses)
			}
		})
	}
}

// TestUpstreamAnswers5xx: an upstream's own 5xx is a failure too; its
// Retry-After and retryable code are kept.
func TestUpstreamAnswers5xx(t *testing.T) {
	h := newHarness(t, features(), nil)
	h.auth.set(func(f *fakeAuth) {
		f.validateErr = &mockstore.Error{Code: mockstore.CodeMaintenance, Message: "auth maintenance", RetryAfter: 7}
	})
	h.call(t, "GET", "/api/v1/me", "", bearer("tok-1")...).wantError(t, 503, mockstore.CodeMaintenance)
	h.auth.set(func(f *fakeAuth) {
		f.validateErr = &mockstore.Error{Code: mockstore.CodeInternal, Message: "boom"}
	})
	e := h.call(t, "GET", "/api/v1/me", "", bearer("tok-1")...).wantError(t, 503, mockstore.CodeUnavailable)
	if e.RetryAfter != defaultRetryAS {
		t.Fatalf("retry after %d", e.RetryAfter)
	}
	// A 429 from auth is the shopper's to see, as it is.
	h.auth.set(func(f *fakeAuth) {
		f.validateErr = &mockstore.Error{Code: mockstore.CodeRateLimited, Message: "slow down", RetryAfter: 4}
	})
	if e := h.call(t, "GET", "/api/v1/me", "", bearer("tok-1")...).wantError(t, 429, mockstore.CodeRateLimited); e.RetryAfter != 4 {
		t.Fatalf("429 retry after %d", e.RetryAfter)
	}
}

// TestSessionFallback: auth answering 503 to a validate is passed on with its
// Retry-After and the cookie kept (on); taken as a logout (off).
func TestSessionFallback(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(onOff(on), func(t *testing.T) {
			f := features()
			f[mockstore.SessionFallback] = on
			h := newHarness(t, f, nil)
			tok := h.login(t, "+6281100001")
			cookie := []string{"Cookie", SessionCookie + "=" + tok}
			h.call(t, "GET", "/api/v1/me", "", cookie...).decode(t, 200, nil)
			h.auth.set(func(f *fakeAuth) {
				f.validateErr = mockstore.Retry(mockstore.CodeUnavailable, 3, "session store unavailable")
			})
			r := h.call(t, "GET", "/api/v1/me", "", cookie...)
			if on {
				if e := r.wantError(t, 503, mockstore.CodeUnavailable); e.RetryAfter != 3 {
					t.Fatalf("Retry-After %d, want auth's 3", e.RetryAfter)
				}
				if c := r.cookie(SessionCookie); c != nil {
					t.Fatalf("the cookie was touched: %+v", c)
				}
			} else {
				r.wantError(t, 401, mockstore.CodeUnauthenticated)
				if c := r.cookie(SessionCookie); c == nil || c.MaxAge >= 0 {
					t.Fatalf("cookie not cleared: %+v", c)
				}
			}
			// Unreachable auth is the same story.
			h.auth.set(func(f *fakeAuth) { f.validateErr = nil })
			h.call(t, "GET", "/api/v1/me", "", cookie...).decode(t, 200, nil)
			h.authLink.set(linkReset)
			r = h.call(t, "GET", "/api/v1/cart", "", bearer(tok)...)
			if on {
				r.wantError(t, 503, mockstore.CodeUnavailable)
			} else {
				r.wantError(t, 401, mockstore.CodeUnauthenticated)
			}
			h.authLink.set(linkPass)
			h.call(t, "GET", "/api/v1/me", "", cookie...).decode(t, 200, nil)
			a := readAudit(t, h.auditURL)
			if want := map[bool]int{true: 0, false: 2}[on]; a.ForcedLogouts != want {
				t.Fatalf("forced logouts %d, want %d", a.ForcedLogouts, want)
			}
		})
	}
}

// TestBalanceCache: the wallet failing shows the last balance read, stale
// (on), or 0 (off).
func TestBalanceCache(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(onOff(on), func(t *testing.T) {
			f := features()
			f[mockstore.BalanceCache] = on
			h := newHarness(t, f, nil)
			tok := h.login(t, "+6281100001")
			other := h.login(t, "+6281100002")
			var w walletResponse
			h.call(t, "GET", "/api/v1/wallet", "", bearer(tok)...).decode(t, 200, &w)
			if w.Balance != 500_000 || w.Currency != "IDR" || w.Stale || !w.AsOf.Equal(h.clock.Now()) {
				t.Fatalf("balance %+v", w)
			}
			readAt := w.AsOf
			h.clock.Advance(time.Minute)
			h.walLink.set(linkReset)
			r := h.call(t, "GET", "/api/v1/wallet", "", bearer(tok)...)
			var raw map[string]any
			r.decode(t, 200, &raw)
			r.decode(t, 200, &w)
			if on {
				if w.Balance != 500_000 || !w.Stale || !w.AsOf.Equal(readAt) {
					t.Fatalf("stale balance %s", r.body)
				}
				// Nobody read the other shopper's balance: no number to show.
				h.call(t, "GET", "/api/v1/wallet", "", bearer(other)...).wantError(t, 503, mockstore.CodeUnavailable)
			} else {
				if w.Balance != 0 || raw["stale"] != nil {
					t.Fatalf("off: %s, want balance 0 without stale", r.body)
				}
			}
		})
	}
}

// TestBreakerOverHTTP: a failing upstream opens its breaker; calls then fail
// fast with Retry-After until the probe (on), or each waits its timeout (off).
func TestBreakerOverHTTP(t *testing.T) {
	t.Run("on", func(t *testing.T) {
		h := newHarness(t, features(), func(c *Config) { c.Timeouts.Checkout = time.Second })
		h.coLink.set(linkReset)
		for i := range DefaultBreakerThreshold {
			e := h.call(t, "GET", "/api/v1/products", "").wantError(t, 503, mockstore.CodeUnavailable)
			if e.RetryAfter != defaultRetryAS {
				t.Fatalf("call %d: Retry-After %d", i, e.RetryAfter)
			}
		}
		if a := readAudit(t, h.auditURL); a.BreakerOpenings["checkout"] != 1 || a.BreakerOpenings["auth"] != 0 {
			t.Fatalf("breaker openings %v", a.BreakerOpenings)
		}
		// Open: a hung upstream is not even tried.
		h.coLink.set(linkBlackhole)
		before := h.coLink.accepted.Load()
		h.clock.Advance(2 * time.Second)
		r := h.call(t, "GET", "/api/v1/products", "")
		if e := r.wantError(t, 503, mockstore.CodeUnavailable); e.RetryAfter != 3 {
			t.Fatalf("Retry-After %d, want the 3s left before half-open", e.RetryAfter)
		}
		if r.took >= time.Second || h.coLink.accepted.Load() != before {
			t.Fatalf("open breaker let a call through (took %v)", r.took)
		}
		// Other upstreams are unaffected.
		h.call(t, "GET", "/api/v1/me", "", bearer(h.login(t, "+6281100001"))...).decode(t, 200, nil)
		// Half-open: one probe; the upstream is back, so it closes.
		h.coLink.set(linkPass)
		h.clock.Advance(3 * time.Second)
		h.call(t, "GET", "/api/v1/products", "").decode(t, 200, nil)
		h.call(t, "GET", "/api/v1/products", "").decode(t, 200, nil)
		if a := readAudit(t, h.auditURL); a.BreakerOpenings["checkout"] != 1 {
			t.Fatalf("breaker openings %v", a.BreakerOpenings)
		}
	})
	t.Run("off", func(t *testing.T) {
		const timeout = 200 * time.Millisecond
		h := newHarness(t, features(mockstore.CircuitBreakers), func(c *Config) { c.Timeouts.Checkout = timeout })
		h.coLink.set(linkBlackhole)
		n := DefaultBreakerThreshold + 2
		for i := range n {
			r := h.call(t, "GET", "/api/v1/products", "")
			r.wantError(t, 503, mockstore.CodeUnavailable)
			if r.took < timeout {
				t.Fatalf("call %d answered in %v, before the upstream's timeout", i, r.took)
			}
		}
		if got := h.coLink.accepted.Load(); got != int64(n) {
			t.Fatalf("upstream attempts %d, want %d (one per call)", got, n)
		}
		if a := readAudit(t, h.auditURL); a.BreakerOpenings["checkout"] != 0 {
			t.Fatalf("breaker openings %v", a.BreakerOpenings)
		}
	})
}

// TestRetryBudget counts the attempts a failing upstream gets: at most 10%
// more than the calls (on), four per idempotent call (off).
func TestRetryBudget(t *testing.T) {
	const calls = 30
	tests := []struct {
		name     string
		on       bool
		min, max int64
	}{
		{"on", true, calls, calls + calls/10},
		{"off", false, calls * (1 + herdRetries), calls * (1 + herdRetries)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := features(mockstore.CircuitBreakers)
			f[mockstore.RetryBudget] = tt.on
			h := newHarness(t, f, nil)
			h.coLink.set(linkReset)
			for range calls {
				h.call(t, "GET", "/api/v1/products", "").wantError(t, 503, mockstore.CodeUnavailable)
			}
			got := h.coLink.accepted.Load()
			if got < tt.min || got > tt.max {
				t.Fatalf("attempts %d, want %d..%d", got, tt.min, tt.max)
			}
			// Calls that change state are never retried.
			before := got
			tok := h.login(t, "+6281100001")
			h.call(t, "POST", "/api/v1/cart/items", `{"product_id":"p001","qty":1}`, bearer(tok)...).wantError(t, 503, mockstore.CodeUnavailable)
			if n := h.coLink.accepted.Load() - before; n != 1 {
				t.Fatalf("a cart write was tried %d times", n)
			}
		})
	}
}

// TestCrossUserData: an upstream answering with another user's data is
// counted and withheld.
func TestCrossUserData(t *testing.T) {
	h := newHarness(t, features(), nil)
	tok := h.login(t, "+6281100001")
	h.call(t, "GET", "/api/v1/me", "", bearer(tok)...).decode(t, 200, nil)
	h.auth.set(func(f *fakeAuth) { f.switchUser = true })
	r := h.call(t, "GET", "/api/v1/me", "", bearer(tok)...)
	r.wantError(t, 503, mockstore.CodeUnavailable)
	if strings.Contains(string(r.body), "u99999") {
		t.Fatalf("another user's id leaked: %s", r.body)
	}
	h.auth.set(func(f *fakeAuth) { f.switchUser = false })
	h.checkout.mu.Lock()
	h.checkout.wrongOwner = true
	h.checkout.mu.Unlock()
	r = h.call(t, "GET", "/api/v1/cart", "", bearer(tok)...)
	r.wantError(t, 503, mockstore.CodeUnavailable)
	if a := readAudit(t, h.auditURL); a.CrossUserData != 2 {
		t.Fatalf("cross-user data %d, want 2", a.CrossUserData)
	}
}

// TestJourneyWithFakes walks one shopper through the API and checks that the
// audit counted it and that no token reached the logs.
func TestJourneyWithFakes(t *testing.T) {
	logs := &syncWriter{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHarness(t, features(), func(c *Config) { c.Logger = logger })
	tok := h.login(t, "+6281100001")
	auth := bearer(tok)
	h.call(t, "GET", "/api/v1/products", "").decode(t, 200, nil)
	h.call(t, "POST", "/api/v1/cart/items", `{"product_id":"p001","qty":2}`, auth...).decode(t, 200, nil)
	var tp topupResponse
	h.call(t, "POST", "/api/v1/wallet/topup", `{"amount":5000,"reference":"r-1"}`, auth...).decode(t, 200, &tp)
	h.call(t, "POST", "/api/v1/wallet/topup", `{"amount":5000,"reference":"r-1"}`, auth...).decode(t, 200, &tp)
	if tp.Balance != 505_000 || !tp.Replayed {
		t.Fatalf("replayed topup %+v", tp)
	}
	var o struct {
		OrderID string `json:"order_id"`
		Status  string `json:"status"`
		Amount  int64  `json:"amount"`
	}
	h.call(t, "POST", "/api/v1/checkout", `{"address":{"line":"Jl. Sudirman 1","area":"jakarta"},"courier":"jne","payment_method":"wallet"}`,
		append(auth, "Idempotency-Key", "k-1")...).decode(t, 201, &o)
	if o.Status != mockstore.OrderPaid || o.Amount != 30_000 {
		t.Fatalf("order %+v", o)
	}
	h.call(t, "GET", "/api/v1/orders/"+o.OrderID, "", auth...).decode(t, 200, nil)
	h.call(t, "POST", "/api/v1/logout", "", auth...).decode(t, 204, nil)
	h.authLink.set(linkReset) // failures get logged too
	h.call(t, "GET", "/api/v1/me", "", auth...)
	if strings.Contains(logs.String(), tok) {
		t.Fatalf("a token reached the logs:\n%s", logs.String())
	}
	a := readAudit(t, h.auditURL)
	for _, k := range []string{"200", "201", "202", "204"} {
		if a.Responses[k] == 0 {
			t.Errorf("no %q in audit responses %v", k, a.Responses)
		}
	}
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// syncWriter serializes writes to a buffer (handlers log from many
// goroutines).
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(b)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// TestLogoutAnswerLost: auth revokes the session but its answer to the
// logout is lost. The shopper is told to retry; the 401 that follows is
// the logout they asked for, not a forced logout.
func TestLogoutAnswerLost(t *testing.T) {
	h := newHarness(t, features(), nil)
	token := h.login(t, "+6281100001")
	h.auth.mu.Lock()
	delete(h.auth.sessions, token) // auth revoked it...
	h.auth.mu.Unlock()
	h.authLink.set(linkReset) // ...and its answer never came back
	r := h.call(t, "POST", "/api/v1/logout", "", bearer(token)...)
	if r.status < 500 {
		t.Fatalf("logout with auth's answer lost: status %d, want a retryable 5xx", r.status)
	}
	h.authLink.set(linkPass)
	h.call(t, "GET", "/api/v1/me", "", bearer(token)...).wantError(t, 401, mockstore.CodeUnauthenticated)
	if a := readAudit(t, h.auditURL); a.ForcedLogouts != 0 {
		t.Fatalf("a logout whose answer was lost counted as %d forced logouts", a.ForcedLogouts)
	}
}
