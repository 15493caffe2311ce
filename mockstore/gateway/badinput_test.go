package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/food"
)

// upstreamLog counts the requests that reached the fake upstreams, by
// "upstream METHOD path".
type upstreamLog struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *upstreamLog) wrap(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.n[name+" "+r.Method+" "+r.URL.Path]++
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *upstreamLog) snapshot() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.n))
	for k, v := range l.n {
		out[k] = v
	}
	return out
}

// since returns the calls made after before was taken, as "route×n".
func (l *upstreamLog) since(before map[string]int) []string {
	var out []string
	for k, v := range l.snapshot() {
		if d := v - before[k]; d > 0 {
			out = append(out, fmt.Sprintf("%s×%d", k, d))
		}
	}
	return out
}

// badCase is one request that the gateway must refuse with code by itself:
// no upstream sees a call. audit sends it to the audit handler.
type badCase struct {
	name, method, path, body string
	hdr                      []string
	audit                    bool
	code                     mockstore.Code
	// bracket marks a body followed by a stray ']' or '}', which
	// mockstore.DecodeJSON lets through (see decodeTakesTrailingBracket).
	bracket bool
}

// TestBadInputEveryRoute sends bad input to every public route of the
// gateway and to its audit routes: each is refused with its specific code in
// the one envelope, never a 5xx, before any upstream is called, and nothing
// changes upstream or in the gateway's own state.
func TestBadInputEveryRoute(t *testing.T) {
	clock := newFakeClock()
	fa, fc, fw := newFakeAuth(), newFakeCheckout(), newFakeWallet(clock.Now)
	calls := &upstreamLog{n: map[string]int{}}
	serve := func(name string, h http.Handler) string {
		srv := httptest.NewServer(calls.wrap(name, h))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	_, url, auditURL := startGateway(t, Config{
		AuthURL:     serve(upstreamAuth, fa.handler()),
		CheckoutURL: serve(upstreamCheckout, fc.handler()),
		WalletURL:   serve(upstreamWallet, fw.handler()),
		FoodURL:     serve(upstreamFood, http.NotFoundHandler()),
		Features:    features(),
		Now:         clock.Now,
	})
	var ls struct {
		LoginID string `json:"login_id"`
	}
	call(t, url, "POST", "/api/v1/login", `{"phone":"+6281100001"}`).decode(t, http.StatusAccepted, &ls)
	var v struct {
		Token string `json:"token"`
	}
	call(t, url, "POST", "/api/v1/login/verify", `{"login_id":"`+ls.LoginID+`","code":"123456"}`).decode(t, http.StatusOK, &v)
	call(t, url, "POST", "/api/v1/cart/items", `{"product_id":"p001","qty":1}`, bearer(v.Token)...).decode(t, http.StatusOK, nil)

	authed := bearer(v.Token)
	keyed := func(k string) []string { return append(bearer(v.Token), IdempotencyHeader, k) }
	k := keyed("k-1")
	guest := func(id string) []string { return []string{GuestHeader, id} }
	co := func(line, area, courier, method string) string {
		return fmt.Sprintf(`{"address":{"line":%q,"area":%q},"courier":%q,"payment_method":%q}`, line, area, courier, method)
	}
	goodCo := co("Jl. Sudirman 1", "jakarta", "jne", "wallet")
	item := func(product, qty string) string { return `{"product_id":` + product + `,"qty":` + qty + `}` }
	long := strings.Repeat("a", maxIDLen+1)
	invalid, unauth := mockstore.CodeInvalidRequest, mockstore.CodeUnauthenticated
	tooLarge := mockstore.CodeBodyTooLarge
	pad := strings.Repeat("x", mockstore.MaxBody)
	cases := []badCase{
		// POST /api/v1/login.
		{name: "login malformed JSON", method: "POST", path: "/api/v1/login", body: `{"phone":"+62`, code: invalid},
		{name: "login not JSON", method: "POST", path: "/api/v1/login", body: `phone=+6281100001`, code: invalid},
		{name: "login JSON array", method: "POST", path: "/api/v1/login", body: `["+6281100001"]`, code: invalid},
		{name: "login JSON null", method: "POST", path: "/api/v1/login", body: `null`, code: invalid},
		{name: "login empty body", method: "POST", path: "/api/v1/login", body: ``, code: invalid},
		{name: "login unknown field", method: "POST", path: "/api/v1/login", body: `{"phone":"+6281100001","remember":true}`, code: invalid},
		{name: "login trailing object", method: "POST", path: "/api/v1/login", body: `{"phone":"+6281100001"}{}`, code: invalid},
		{name: "login trailing bracket", method: "POST", path: "/api/v1/login", body: `{"phone":"+6281100001"}]`, code: invalid, bracket: true},
		{name: "login body over the limit", method: "POST", path: "/api/v1/login", body: `{"phone":"+6281100001","channel":"` + pad + `"}`, code: tooLarge},
		{name: "login phone as number", method: "POST", path: "/api/v1/login", body: `{"phone":6281100001}`, code: invalid},
		{name: "login channel as list", method: "POST", path: "/api/v1/login", body: `{"phone":"+6281100001","channel":["sms"]}`, code: invalid},
		{name: "login no phone", method: "POST", path: "/api/v1/login", body: `{"channel":"sms"}`, code: invalid},
		{name: "login phone without plus", method: "POST", path: "/api/v1/login", body: `{"phone":"6281100001"}`, code: invalid},
		{name: "login phone national", method: "POST", path: "/api/v1/login", body: `{"phone":"081100001"}`, code: invalid},
		{name: "login phone leading zero", method: "POST", path: "/api/v1/login", body: `{"phone":"+0811000012"}`, code: invalid},
		{name: "login phone 7 digits", method: "POST", path: "/api/v1/login", body: `{"phone":"+6281100"}`, code: invalid},
		{name: "login phone 16 digits", method: "POST", path: "/api/v1/login", body: `{"phone":"+6281100001234567"}`, code: invalid},
		{name: "login phone with spaces", method: "POST", path: "/api/v1/login", body: `{"phone":"+62 811 00001"}`, code: invalid},
		{name: "login phone unicode digits", method: "POST", path: "/api/v1/login", body: `{"phone":"+٦٢٨١١٠٠٠٠١"}`, code: invalid},
		{name: "login channel unknown", method: "POST", path: "/api/v1/login", body: `{"phone":"+6281100001","channel":"email"}`, code: invalid},
		{name: "login channel in capitals", method: "POST", path: "/api/v1/login", body: `{"phone":"+6281100001","channel":"SMS"}`, code: invalid},

		// POST /api/v1/login/verify.
		{name: "verify malformed JSON", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"L-1","code":`, code: invalid},
		{name: "verify empty body", method: "POST", path: "/api/v1/login/verify", body: ``, code: invalid},
		{name: "verify unknown field", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"L-1","code":"123456","phone":"+6281100001"}`, code: invalid},
		{name: "verify trailing brace", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"L-1","code":"123456"}}`, code: invalid, bracket: true},
		{name: "verify body over the limit", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"L-1","code":"` + pad + `"}`, code: tooLarge},
		{name: "verify code as number", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"L-1","code":123456}`, code: invalid},
		{name: "verify no login_id", method: "POST", path: "/api/v1/login/verify", body: `{"code":"123456"}`, code: invalid},
		{name: "verify no code", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"L-1"}`, code: invalid},
		{name: "verify login_id path-like", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"../L-1","code":"123456"}`, code: invalid},
		{name: "verify login_id too long", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"` + long + `","code":"123456"}`, code: invalid},
		{name: "verify login_id not ASCII", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"L-é","code":"123456"}`, code: invalid},
		{name: "verify code 5 digits", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"L-1","code":"12345"}`, code: invalid},
		{name: "verify code 7 digits", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"L-1","code":"1234567"}`, code: invalid},
		{name: "verify code letters", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"L-1","code":"abcdef"}`, code: invalid},
		{name: "verify code padded", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"L-1","code":" 12345"}`, code: invalid},
		{name: "verify code fullwidth", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"L-1","code":"１２３４５６"}`, code: invalid},
		{name: "verify code huge", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"L-1","code":"` + strings.Repeat("1", 100) + `"}`, code: invalid},

		// POST /api/v1/login/resend.
		{name: "resend malformed JSON", method: "POST", path: "/api/v1/login/resend", body: `{"login_id"`, code: invalid},
		{name: "resend empty body", method: "POST", path: "/api/v1/login/resend", body: ``, code: invalid},
		{name: "resend unknown field", method: "POST", path: "/api/v1/login/resend", body: `{"login_id":"L-1","code":"123456"}`, code: invalid},
		{name: "resend body over the limit", method: "POST", path: "/api/v1/login/resend", body: `{"login_id":"L-1","channel":"` + pad + `"}`, code: tooLarge},
		{name: "resend login_id as number", method: "POST", path: "/api/v1/login/resend", body: `{"login_id":1}`, code: invalid},
		{name: "resend no login_id", method: "POST", path: "/api/v1/login/resend", body: `{"channel":"sms"}`, code: invalid},
		{name: "resend login_id with space", method: "POST", path: "/api/v1/login/resend", body: `{"login_id":"L 1"}`, code: invalid},
		{name: "resend channel unknown", method: "POST", path: "/api/v1/login/resend", body: `{"login_id":"L-1","channel":"pigeon"}`, code: invalid},

		// Credentials, on every route that needs a session.
		{name: "logout without session", method: "POST", path: "/api/v1/logout", code: unauth},
		{name: "logout basic auth", method: "POST", path: "/api/v1/logout", hdr: []string{"Authorization", "Basic dTpw"}, code: unauth},
		{name: "logout empty bearer", method: "POST", path: "/api/v1/logout", hdr: []string{"Authorization", "Bearer "}, code: unauth},
		{name: "logout malformed cookie", method: "POST", path: "/api/v1/logout", hdr: []string{"Cookie", SessionCookie + `="a b"`}, code: unauth},
		{name: "me without session", method: "GET", path: "/api/v1/me", code: unauth},
		{name: "me token with spaces", method: "GET", path: "/api/v1/me", hdr: []string{"Authorization", "Bearer a b"}, code: unauth},
		{name: "me token too long", method: "GET", path: "/api/v1/me", hdr: bearer(strings.Repeat("t", maxTokenLen+1)), code: unauth},
		{name: "me token not ASCII", method: "GET", path: "/api/v1/me", hdr: bearer("t\xc3\xb6k"), code: unauth},
		{name: "wallet without session", method: "GET", path: "/api/v1/wallet", code: unauth},
		{name: "wallet malformed bearer", method: "GET", path: "/api/v1/wallet", hdr: []string{"Authorization", "Bearer"}, code: unauth},
		{name: "topup without session", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":1000,"reference":"r1"}`, code: unauth},
		{name: "topup malformed token, bad body", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":`, hdr: bearer("a\\b"), code: unauth},
		{name: "checkout without session", method: "POST", path: "/api/v1/checkout", body: goodCo, hdr: []string{IdempotencyHeader, "k-1"}, code: unauth},
		{name: "order without session", method: "GET", path: "/api/v1/orders/o-1", code: unauth},
		{name: "cart malformed token", method: "GET", path: "/api/v1/cart", hdr: bearer(`"tok"`), code: unauth},

		// POST /api/v1/wallet/topup.
		{name: "topup malformed JSON", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":1000,`, hdr: authed, code: invalid},
		{name: "topup not JSON", method: "POST", path: "/api/v1/wallet/topup", body: `amount=1000`, hdr: authed, code: invalid},
		{name: "topup JSON null", method: "POST", path: "/api/v1/wallet/topup", body: `null`, hdr: authed, code: invalid},
		{name: "topup empty body", method: "POST", path: "/api/v1/wallet/topup", body: ``, hdr: authed, code: invalid},
		{name: "topup unknown field", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":1000,"reference":"r1","user_id":"u00002"}`, hdr: authed, code: invalid},
		{name: "topup trailing bracket", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":1000,"reference":"r1"}]`, hdr: authed, code: invalid, bracket: true},
		{name: "topup body over the limit", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":1000,"reference":"` + pad + `"}`, hdr: authed, code: tooLarge},
		{name: "topup amount as string", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":"1000","reference":"r1"}`, hdr: authed, code: invalid},
		{name: "topup amount fraction", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":10.5,"reference":"r1"}`, hdr: authed, code: invalid},
		{name: "topup amount as bool", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":true,"reference":"r1"}`, hdr: authed, code: invalid},
		{name: "topup no amount", method: "POST", path: "/api/v1/wallet/topup", body: `{"reference":"r1"}`, hdr: authed, code: invalid},
		{name: "topup amount zero", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":0,"reference":"r1"}`, hdr: authed, code: invalid},
		{name: "topup amount negative", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":-1000,"reference":"r1"}`, hdr: authed, code: invalid},
		{name: "topup amount over MaxTopup", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":` + strconv.Itoa(MaxTopup+1) + `,"reference":"r1"}`, hdr: authed, code: invalid},
		{name: "topup amount max int64", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":9223372036854775807,"reference":"r1"}`, hdr: authed, code: invalid},
		{name: "topup amount beyond int64", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":9223372036854775808,"reference":"r1"}`, hdr: authed, code: invalid},
		{name: "topup amount 1e30", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":1e30,"reference":"r1"}`, hdr: authed, code: invalid},
		{name: "topup no reference", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":1000}`, hdr: authed, code: invalid},
		{name: "topup reference too long", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":1000,"reference":"` + strings.Repeat("r", maxKeyLen+1) + `"}`, hdr: authed, code: invalid},
		{name: "topup reference with space", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":1000,"reference":"r 1"}`, hdr: authed, code: invalid},
		{name: "topup reference with control", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":1000,"reference":"r\u00001"}`, hdr: authed, code: invalid},
		{name: "topup reference not ASCII", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":1000,"reference":"rü"}`, hdr: authed, code: invalid},

		// GET /api/v1/cart: the guest id.
		{name: "cart guest id with spaces", method: "GET", path: "/api/v1/cart", hdr: guest("not ok at all"), code: invalid},
		{name: "cart guest id too short", method: "GET", path: "/api/v1/cart", hdr: []string{"Cookie", GuestCookie + "=abc"}, code: invalid},
		{name: "cart guest id too long", method: "GET", path: "/api/v1/cart", hdr: guest(long), code: invalid},
		{name: "cart guest id with colon", method: "GET", path: "/api/v1/cart", hdr: guest("u:u00001"), code: invalid},
		{name: "cart guest id not ASCII", method: "GET", path: "/api/v1/cart", hdr: guest("gäst-1234"), code: invalid},

		// POST /api/v1/cart/items.
		{name: "add malformed JSON", method: "POST", path: "/api/v1/cart/items", body: `{"product_id":"p001",`, hdr: authed, code: invalid},
		{name: "add not JSON", method: "POST", path: "/api/v1/cart/items", body: `p001 x1`, hdr: authed, code: invalid},
		{name: "add empty body", method: "POST", path: "/api/v1/cart/items", body: ``, hdr: authed, code: invalid},
		{name: "add unknown field", method: "POST", path: "/api/v1/cart/items", body: `{"product_id":"p001","qty":1,"price":1}`, hdr: authed, code: invalid},
		{name: "add trailing brace", method: "POST", path: "/api/v1/cart/items", body: item(`"p001"`, "1") + `}`, hdr: authed, code: invalid, bracket: true},
		{name: "add body over the limit", method: "POST", path: "/api/v1/cart/items", body: item(`"`+pad+`"`, "1"), hdr: authed, code: tooLarge},
		{name: "add product as number", method: "POST", path: "/api/v1/cart/items", body: item(`1`, "1"), hdr: authed, code: invalid},
		{name: "add qty as string", method: "POST", path: "/api/v1/cart/items", body: item(`"p001"`, `"1"`), hdr: authed, code: invalid},
		{name: "add no product", method: "POST", path: "/api/v1/cart/items", body: `{"qty":1}`, hdr: authed, code: invalid},
		{name: "add no qty", method: "POST", path: "/api/v1/cart/items", body: `{"product_id":"p001"}`, hdr: authed, code: invalid},
		{name: "add product with space", method: "POST", path: "/api/v1/cart/items", body: item(`"p 001"`, "1"), hdr: authed, code: invalid},
		{name: "add product too long", method: "POST", path: "/api/v1/cart/items", body: item(`"`+long+`"`, "1"), hdr: authed, code: invalid},
		{name: "add qty zero", method: "POST", path: "/api/v1/cart/items", body: item(`"p001"`, "0"), hdr: authed, code: invalid},
		{name: "add qty negative", method: "POST", path: "/api/v1/cart/items", body: item(`"p001"`, "-1"), hdr: authed, code: invalid},
		{name: "add qty 100", method: "POST", path: "/api/v1/cart/items", body: item(`"p001"`, "100"), hdr: authed, code: invalid},
		{name: "add qty 10^9", method: "POST", path: "/api/v1/cart/items", body: item(`"p001"`, "1000000000"), hdr: authed, code: invalid},
		{name: "add qty 1e30", method: "POST", path: "/api/v1/cart/items", body: item(`"p001"`, "1e30"), hdr: authed, code: invalid},
		{name: "add as a guest with a bad id", method: "POST", path: "/api/v1/cart/items", body: item(`"p001"`, "1"), hdr: guest("bad id!"), code: invalid},
		{name: "add as a guest, bad body", method: "POST", path: "/api/v1/cart/items", body: item(`"p001"`, "0"), hdr: guest("guest-0001"), code: invalid},

		// DELETE /api/v1/cart/items/{product_id}.
		{name: "remove product with space", method: "DELETE", path: "/api/v1/cart/items/p%20001", hdr: authed, code: invalid},
		{name: "remove product too long", method: "DELETE", path: "/api/v1/cart/items/" + long, hdr: authed, code: invalid},
		{name: "remove product with slash", method: "DELETE", path: "/api/v1/cart/items/p001%2Fx", hdr: authed, code: invalid},
		{name: "remove product not ASCII", method: "DELETE", path: "/api/v1/cart/items/p%C3%B6", hdr: authed, code: invalid},
		{name: "remove as a guest with a bad id", method: "DELETE", path: "/api/v1/cart/items/p001", hdr: guest("x"), code: invalid},

		// POST /api/v1/checkout: the Idempotency-Key.
		{name: "checkout without key", method: "POST", path: "/api/v1/checkout", body: goodCo, hdr: authed, code: mockstore.CodeIdempotencyKey},
		{name: "checkout blank key", method: "POST", path: "/api/v1/checkout", body: goodCo, hdr: keyed("   "), code: mockstore.CodeIdempotencyKey},
		{name: "checkout key too long", method: "POST", path: "/api/v1/checkout", body: goodCo, hdr: keyed(strings.Repeat("k", maxKeyLen+1)), code: invalid},
		{name: "checkout key with space", method: "POST", path: "/api/v1/checkout", body: goodCo, hdr: keyed("k 1"), code: invalid},
		{name: "checkout key not ASCII", method: "POST", path: "/api/v1/checkout", body: goodCo, hdr: keyed("k\xc3\xbc"), code: invalid},
		// POST /api/v1/checkout: the body.
		{name: "checkout malformed JSON", method: "POST", path: "/api/v1/checkout", body: `{"address":`, hdr: k, code: invalid},
		{name: "checkout JSON null", method: "POST", path: "/api/v1/checkout", body: `null`, hdr: k, code: invalid},
		{name: "checkout empty body", method: "POST", path: "/api/v1/checkout", body: ``, hdr: k, code: invalid},
		{name: "checkout unknown field", method: "POST", path: "/api/v1/checkout", body: strings.TrimSuffix(goodCo, "}") + `,"amount":1}`, hdr: k, code: invalid},
		{name: "checkout user given", method: "POST", path: "/api/v1/checkout", body: strings.TrimSuffix(goodCo, "}") + `,"user_id":"u00002"}`, hdr: k, code: invalid},
		{name: "checkout trailing bracket", method: "POST", path: "/api/v1/checkout", body: goodCo + `]`, hdr: k, code: invalid, bracket: true},
		{name: "checkout body over the limit", method: "POST", path: "/api/v1/checkout", body: co(pad, "jakarta", "jne", "wallet"), hdr: k, code: tooLarge},
		{name: "checkout address as string", method: "POST", path: "/api/v1/checkout", body: `{"address":"Jl. Sudirman 1","courier":"jne","payment_method":"wallet"}`, hdr: k, code: invalid},
		{name: "checkout address unknown field", method: "POST", path: "/api/v1/checkout", body: strings.Replace(goodCo, `"area":"jakarta"`, `"area":"jakarta","zip":1`, 1), hdr: k, code: invalid},
		{name: "checkout no address", method: "POST", path: "/api/v1/checkout", body: `{"courier":"jne","payment_method":"wallet"}`, hdr: k, code: invalid},
		{name: "checkout blank address line", method: "POST", path: "/api/v1/checkout", body: co("   ", "jakarta", "jne", "wallet"), hdr: k, code: invalid},
		{name: "checkout address line too long", method: "POST", path: "/api/v1/checkout", body: co(strings.Repeat("l", maxAddressLine+1), "jakarta", "jne", "wallet"), hdr: k, code: invalid},
		{name: "checkout address line with control", method: "POST", path: "/api/v1/checkout", body: co("Jl. Sudirman\x001", "jakarta", "jne", "wallet"), hdr: k, code: invalid},
		{name: "checkout no area", method: "POST", path: "/api/v1/checkout", body: co("Jl. Sudirman 1", "", "jne", "wallet"), hdr: k, code: invalid},
		{name: "checkout area with space", method: "POST", path: "/api/v1/checkout", body: co("Jl. Sudirman 1", "jak arta", "jne", "wallet"), hdr: k, code: invalid},
		{name: "checkout no courier", method: "POST", path: "/api/v1/checkout", body: co("Jl. Sudirman 1", "jakarta", "", "wallet"), hdr: k, code: invalid},
		{name: "checkout courier with slash", method: "POST", path: "/api/v1/checkout", body: co("Jl. Sudirman 1", "jakarta", "jne/x", "wallet"), hdr: k, code: invalid},
		{name: "checkout no payment method", method: "POST", path: "/api/v1/checkout", body: co("Jl. Sudirman 1", "jakarta", "jne", ""), hdr: k, code: invalid},
		{name: "checkout unknown payment method", method: "POST", path: "/api/v1/checkout", body: co("Jl. Sudirman 1", "jakarta", "jne", "bitcoin"), hdr: k, code: invalid},
		{name: "checkout payment method in capitals", method: "POST", path: "/api/v1/checkout", body: co("Jl. Sudirman 1", "jakarta", "jne", "WALLET"), hdr: k, code: invalid},

		// GET /api/v1/orders/{id}.
		{name: "order id with space", method: "GET", path: "/api/v1/orders/o%201", hdr: authed, code: invalid},
		{name: "order id too long", method: "GET", path: "/api/v1/orders/" + long, hdr: authed, code: invalid},
		{name: "order id with slash", method: "GET", path: "/api/v1/orders/o%2F1", hdr: authed, code: invalid},
		{name: "order id not ASCII", method: "GET", path: "/api/v1/orders/o%C3%A9", hdr: authed, code: invalid},

		// Wrong methods and unknown paths.
		{name: "get login", method: "GET", path: "/api/v1/login", code: mockstore.CodeMethodNotAllowed},
		{name: "get verify", method: "GET", path: "/api/v1/login/verify?login_id=L-1&code=123456", code: mockstore.CodeMethodNotAllowed},
		{name: "get resend", method: "GET", path: "/api/v1/login/resend", code: mockstore.CodeMethodNotAllowed},
		{name: "get logout", method: "GET", path: "/api/v1/logout", hdr: authed, code: mockstore.CodeMethodNotAllowed},
		{name: "post me", method: "POST", path: "/api/v1/me", body: `{}`, hdr: authed, code: mockstore.CodeMethodNotAllowed},
		{name: "put wallet", method: "PUT", path: "/api/v1/wallet", body: `{"balance":1}`, hdr: authed, code: mockstore.CodeMethodNotAllowed},
		{name: "get topup", method: "GET", path: "/api/v1/wallet/topup", hdr: authed, code: mockstore.CodeMethodNotAllowed},
		{name: "post products", method: "POST", path: "/api/v1/products", body: `{}`, code: mockstore.CodeMethodNotAllowed},
		{name: "put cart", method: "PUT", path: "/api/v1/cart", body: `{}`, hdr: authed, code: mockstore.CodeMethodNotAllowed},
		{name: "get cart items", method: "GET", path: "/api/v1/cart/items", hdr: authed, code: mockstore.CodeMethodNotAllowed},
		{name: "put a cart item", method: "PUT", path: "/api/v1/cart/items/p001", body: `{"qty":3}`, hdr: authed, code: mockstore.CodeMethodNotAllowed},
		{name: "get checkout", method: "GET", path: "/api/v1/checkout", hdr: k, code: mockstore.CodeMethodNotAllowed},
		{name: "delete an order", method: "DELETE", path: "/api/v1/orders/o-1", hdr: authed, code: mockstore.CodeMethodNotAllowed},
		{name: "post healthz", method: "POST", path: "/healthz", code: mockstore.CodeMethodNotAllowed},
		{name: "orders collection", method: "GET", path: "/api/v1/orders", hdr: authed, code: mockstore.CodeNotFound},
		{name: "cart item without id", method: "DELETE", path: "/api/v1/cart/items/", hdr: authed, code: mockstore.CodeNotFound},
		{name: "deeper order path", method: "POST", path: "/api/v1/orders/o-1/refund", hdr: authed, code: mockstore.CodeNotFound},
		{name: "another version", method: "GET", path: "/api/v2/me", hdr: authed, code: mockstore.CodeNotFound},
		{name: "internal route", method: "POST", path: "/api/v1/sessions/validate", body: `{"token":"tok-1"}`, code: mockstore.CodeNotFound},
		{name: "audit not on the API", method: "POST", path: "/audit/maintenance", body: `{"on":true}`, code: mockstore.CodeNotFound},

		// The audit handler: the maintenance switch.
		{name: "maintenance malformed JSON", method: "POST", path: "/audit/maintenance", body: `{"on":`, audit: true, code: invalid},
		{name: "maintenance empty body", method: "POST", path: "/audit/maintenance", body: ``, audit: true, code: invalid},
		{name: "maintenance unknown field", method: "POST", path: "/audit/maintenance", body: `{"on":true,"until":"tomorrow"}`, audit: true, code: invalid},
		{name: "maintenance trailing brace", method: "POST", path: "/audit/maintenance", body: `{"on":true}}`, audit: true, code: invalid, bracket: true},
		{name: "maintenance body over the limit", method: "POST", path: "/audit/maintenance", body: `{"on":true,"message":"` + pad + `"}`, audit: true, code: tooLarge},
		{name: "maintenance on as string", method: "POST", path: "/audit/maintenance", body: `{"on":"yes"}`, audit: true, code: invalid},
		{name: "maintenance retry as string", method: "POST", path: "/audit/maintenance", body: `{"on":true,"retry_after_s":"60"}`, audit: true, code: invalid},
		{name: "maintenance retry negative", method: "POST", path: "/audit/maintenance", body: `{"on":true,"retry_after_s":-1}`, audit: true, code: invalid},
		{name: "maintenance retry over a day", method: "POST", path: "/audit/maintenance", body: `{"on":true,"retry_after_s":86401}`, audit: true, code: invalid},
		{name: "maintenance retry 1e30", method: "POST", path: "/audit/maintenance", body: `{"on":true,"retry_after_s":1e30}`, audit: true, code: invalid},
		{name: "maintenance message too long", method: "POST", path: "/audit/maintenance", body: `{"on":true,"message":"` + strings.Repeat("m", 1001) + `"}`, audit: true, code: invalid},
		{name: "audit wrong method", method: "POST", path: "/audit/gateway", body: `{}`, audit: true, code: mockstore.CodeMethodNotAllowed},
		{name: "maintenance wrong method", method: "DELETE", path: "/audit/maintenance", audit: true, code: mockstore.CodeMethodNotAllowed},
		{name: "audit unknown path", method: "GET", path: "/audit/nope", audit: true, code: mockstore.CodeNotFound},
		{name: "API not on the audit", method: "GET", path: "/api/v1/products", audit: true, code: mockstore.CodeNotFound},

		// POST /api/v1/wallet/pay (QR payments).
		{name: "pay without session", method: "POST", path: "/api/v1/wallet/pay", body: `{"qr":"gameday:pay:r01","amount":1000}`, hdr: []string{IdempotencyHeader, "k-1"}, code: unauth},
		{name: "pay without key", method: "POST", path: "/api/v1/wallet/pay", body: `{"qr":"gameday:pay:r01","amount":1000}`, hdr: authed, code: mockstore.CodeIdempotencyKey},
		{name: "pay key too long", method: "POST", path: "/api/v1/wallet/pay", body: `{"qr":"gameday:pay:r01","amount":1000}`, hdr: keyed(strings.Repeat("k", maxKeyLen+1)), code: invalid},
		{name: "pay malformed JSON", method: "POST", path: "/api/v1/wallet/pay", body: `{"qr":`, hdr: k, code: invalid},
		{name: "pay unknown field", method: "POST", path: "/api/v1/wallet/pay", body: `{"qr":"gameday:pay:r01","amount":1000,"user_id":"u00002"}`, hdr: k, code: invalid},
		{name: "pay not a payment code", method: "POST", path: "/api/v1/wallet/pay", body: `{"qr":"https://example.com/r01","amount":1000}`, hdr: k, code: invalid},
		{name: "pay code without merchant", method: "POST", path: "/api/v1/wallet/pay", body: `{"qr":"gameday:pay:","amount":1000}`, hdr: k, code: invalid},
		{name: "pay merchant path-like", method: "POST", path: "/api/v1/wallet/pay", body: `{"qr":"gameday:pay:../r01","amount":1000}`, hdr: k, code: invalid},
		{name: "pay amount zero", method: "POST", path: "/api/v1/wallet/pay", body: `{"qr":"gameday:pay:r01","amount":0}`, hdr: k, code: invalid},
		{name: "pay amount over the limit", method: "POST", path: "/api/v1/wallet/pay", body: `{"qr":"gameday:pay:r01","amount":` + strconv.Itoa(MaxPayment+1) + `}`, hdr: k, code: invalid},
		{name: "pay amount as string", method: "POST", path: "/api/v1/wallet/pay", body: `{"qr":"gameday:pay:r01","amount":"1000"}`, hdr: k, code: invalid},

		// Food: orders, merchants, drivers, chat.
		{name: "food order without session", method: "POST", path: "/api/v1/food/orders", body: `{"restaurant_id":"r01","items":[{"item_id":"m1","qty":1}]}`, hdr: []string{IdempotencyHeader, "k-1"}, code: unauth},
		{name: "food order without key", method: "POST", path: "/api/v1/food/orders", body: `{"restaurant_id":"r01","items":[{"item_id":"m1","qty":1}]}`, hdr: authed, code: mockstore.CodeIdempotencyKey},
		{name: "food order no items", method: "POST", path: "/api/v1/food/orders", body: `{"restaurant_id":"r01","items":[]}`, hdr: k, code: invalid},
		{name: "food order too many items", method: "POST", path: "/api/v1/food/orders", body: `{"restaurant_id":"r01","items":[` + strings.Repeat(`{"item_id":"m1","qty":1},`, food.MaxItems) + `{"item_id":"m1","qty":1}]}`, hdr: k, code: invalid},
		{name: "food order qty zero", method: "POST", path: "/api/v1/food/orders", body: `{"restaurant_id":"r01","items":[{"item_id":"m1","qty":0}]}`, hdr: k, code: invalid},
		{name: "food order qty over the limit", method: "POST", path: "/api/v1/food/orders", body: `{"restaurant_id":"r01","items":[{"item_id":"m1","qty":` + strconv.Itoa(food.MaxQty+1) + `}]}`, hdr: k, code: invalid},
		{name: "food order bad restaurant id", method: "POST", path: "/api/v1/food/orders", body: `{"restaurant_id":"r 01","items":[{"item_id":"m1","qty":1}]}`, hdr: k, code: invalid},
		{name: "food order bad item id", method: "POST", path: "/api/v1/food/orders", body: `{"restaurant_id":"r01","items":[{"item_id":"","qty":1}]}`, hdr: k, code: invalid},
		{name: "food order unknown field", method: "POST", path: "/api/v1/food/orders", body: `{"restaurant_id":"r01","items":[{"item_id":"m1","qty":1}],"user_id":"u00002"}`, hdr: k, code: invalid},
		{name: "food order get without session", method: "GET", path: "/api/v1/food/orders/f1", code: unauth},
		{name: "food order get bad id", method: "GET", path: "/api/v1/food/orders/f%201", hdr: authed, code: invalid},
		{name: "merchant queue bad restaurant", method: "GET", path: "/api/v1/food/restaurants/r%2001/orders", hdr: authed, code: invalid},
		{name: "accept without session", method: "POST", path: "/api/v1/food/orders/f1/accept", code: unauth},
		{name: "take bad id", method: "POST", path: "/api/v1/food/orders/` + long + `/take", hdr: authed, code: invalid},
		{name: "offers without session", method: "GET", path: "/api/v1/food/offers", code: unauth},
		{name: "offers wrong method", method: "DELETE", path: "/api/v1/food/offers", hdr: authed, code: mockstore.CodeMethodNotAllowed},
		{name: "message without key", method: "POST", path: "/api/v1/food/orders/f1/messages", body: `{"text":"hi"}`, hdr: authed, code: mockstore.CodeIdempotencyKey},
		{name: "message empty text", method: "POST", path: "/api/v1/food/orders/f1/messages", body: `{"text":"  "}`, hdr: k, code: invalid},
		{name: "message text too long", method: "POST", path: "/api/v1/food/orders/f1/messages", body: `{"text":"` + strings.Repeat("x", food.MaxText+1) + `"}`, hdr: k, code: invalid},
		{name: "message control character", method: "POST", path: "/api/v1/food/orders/f1/messages", body: `{"text":"hi\u0007"}`, hdr: k, code: invalid},
		{name: "messages without session", method: "GET", path: "/api/v1/food/orders/f1/messages", code: unauth},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bracket && decodeTakesTrailingBracket() {
				t.Skip("mockstore.DecodeJSON accepts a body followed by ']' or '}' (json.Decoder.More is false before them); fix it in mockstore/errors.go")
			}
			before, seen := gatewayState(t, url, auditURL, v.Token, fa, fc, fw), calls.snapshot()
			base := url
			if tc.audit {
				base = auditURL
			}
			wantRefusal(t, call(t, base, tc.method, tc.path, tc.body, tc.hdr...), tc.code)
			if got := calls.since(seen); len(got) != 0 {
				t.Errorf("bad input reached upstreams: %v", got)
			}
			if after := gatewayState(t, url, auditURL, v.Token, fa, fc, fw); after != before {
				t.Errorf("bad input changed something:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	a := readAudit(t, auditURL)
	for k := range a.Responses {
		if strings.HasPrefix(k, "5") {
			t.Errorf("a 5xx answered bad input: %v", a.Responses)
		}
	}
	if a.ForcedLogouts != 0 || a.CrossUserData != 0 {
		t.Errorf("audit after bad input: %+v", a)
	}
}

// gatewayState is what bad input must not change: the fakes' stores, the
// maintenance switch and the shopper's session (read without calling
// upstreams, so that reading it does not count as a call).
func gatewayState(tb testing.TB, url, auditURL, token string, fa *fakeAuth, fc *fakeCheckout, fw *fakeWallet) string {
	tb.Helper()
	var m Maintenance
	call(tb, auditURL, "GET", "/audit/maintenance", "").decode(tb, http.StatusOK, &m)
	fa.mu.Lock()
	authState := fmt.Sprintf("sessions %v", fa.sessions)
	fa.mu.Unlock()
	fc.mu.Lock()
	coState := fmt.Sprintf("writes %d carts %v orders %v", fc.writes, fc.carts, fc.orders)
	fc.mu.Unlock()
	fw.mu.Lock()
	walState := fmt.Sprintf("balances %v refs %v", fw.balances, fw.refs)
	fw.mu.Unlock()
	return fmt.Sprintf("maintenance %+v; auth %s; checkout %s; wallet %s", m, authState, coState, walState)
}

// TestBadInputRefusedUpstream covers the bad input only an upstream can
// judge (an unknown product, courier or order, a payment method checkout does
// not take, a wrong code, a reused key), against the real services: the
// upstream's specific code reaches the shopper, never a 5xx, and the
// shopper's wallet and cart stay as they were.
func TestBadInputRefusedUpstream(t *testing.T) {
	st := newStack(t, features(), nil)
	u := st.user(t, mockstore.StatusActive)
	tok := st.login(t, u)
	authed := bearer(tok)
	keyed := func(k string) []string { return append(bearer(tok), IdempotencyHeader, k) }
	co := func(area, courier, method string) string {
		return fmt.Sprintf(`{"address":{"line":"Jl. Sudirman 1","area":%q},"courier":%q,"payment_method":%q}`, area, courier, method)
	}
	// Some history: a top-up, a paid order, and a cart to buy.
	st.call(t, "POST", "/api/v1/wallet/topup", `{"amount":10000,"reference":"ref-1"}`, authed...).decode(t, http.StatusOK, nil)
	st.call(t, "POST", "/api/v1/cart/items", `{"product_id":"p001","qty":1}`, authed...).decode(t, http.StatusOK, nil)
	var paid struct {
		OrderID string `json:"order_id"`
	}
	st.call(t, "POST", "/api/v1/checkout", co("jakarta", "jne", "wallet"), keyed("k-paid")...).decode(t, http.StatusCreated, &paid)
	st.waitOrder(t, tok, paid.OrderID)
	st.call(t, "POST", "/api/v1/cart/items", `{"product_id":"p002","qty":2}`, authed...).decode(t, http.StatusOK, nil)
	var ls struct {
		LoginID string `json:"login_id"`
	}
	st.call(t, "POST", "/api/v1/login", `{"phone":"`+u.Phone+`"}`).decode(t, http.StatusAccepted, &ls)
	code := st.waitCode(t, u.Phone, ls.LoginID)
	wrong := fmt.Sprintf("%06d", (atoi(t, code)+1)%1_000_000)

	tests := []badCase{
		{name: "unknown token", method: "GET", path: "/api/v1/wallet", hdr: bearer("tok-nobody"), code: mockstore.CodeUnauthenticated},
		{name: "wrong code", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"` + ls.LoginID + `","code":"` + wrong + `"}`, code: mockstore.CodeInvalidCode},
		{name: "unknown login", method: "POST", path: "/api/v1/login/verify", body: `{"login_id":"l_nobody","code":"123456"}`, code: mockstore.CodeInvalidCode},
		{name: "resend unknown login", method: "POST", path: "/api/v1/login/resend", body: `{"login_id":"l_nobody"}`, code: mockstore.CodeNotFound},
		{name: "topup reference reused", method: "POST", path: "/api/v1/wallet/topup", body: `{"amount":999,"reference":"ref-1"}`, hdr: authed, code: mockstore.CodeIdempotencyConflict},
		{name: "add unknown product", method: "POST", path: "/api/v1/cart/items", body: `{"product_id":"p999","qty":1}`, hdr: authed, code: mockstore.CodeUnknownProduct},
		{name: "add past 99 in the cart", method: "POST", path: "/api/v1/cart/items", body: `{"product_id":"p002","qty":98}`, hdr: authed, code: mockstore.CodeInvalidRequest},
		{name: "remove unknown product", method: "DELETE", path: "/api/v1/cart/items/p999", hdr: authed, code: mockstore.CodeUnknownProduct},
		{name: "checkout by card", method: "POST", path: "/api/v1/checkout", body: co("jakarta", "jne", "card"), hdr: keyed("k-2"), code: mockstore.CodePaymentUnsupported},
		{name: "checkout cash on delivery", method: "POST", path: "/api/v1/checkout", body: co("jakarta", "jne", "cod"), hdr: keyed("k-2"), code: mockstore.CodePaymentUnsupported},
		{name: "checkout unknown courier", method: "POST", path: "/api/v1/checkout", body: co("jakarta", "ojek", "wallet"), hdr: keyed("k-2"), code: mockstore.CodeUnknownCourier},
		{name: "checkout area not served", method: "POST", path: "/api/v1/checkout", body: co("papua", "jne", "wallet"), hdr: keyed("k-2"), code: mockstore.CodeAddressNotServed},
		{name: "checkout key reused", method: "POST", path: "/api/v1/checkout", body: co("bandung", "jne", "wallet"), hdr: keyed("k-paid"), code: mockstore.CodeIdempotencyConflict},
		{name: "unknown order", method: "GET", path: "/api/v1/orders/o_nope", hdr: authed, code: mockstore.CodeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := shopperState(t, st, tok)
			wantRefusal(t, st.call(t, tc.method, tc.path, tc.body, tc.hdr...), tc.code)
			if after := shopperState(t, st, tok); after != before {
				t.Errorf("bad input changed something:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	// The login, key and cart aimed at still work: the code verifies first
	// time, and k-2 buys the cart as a new order.
	st.call(t, "POST", "/api/v1/login/verify", `{"login_id":"`+ls.LoginID+`","code":"`+code+`"}`).decode(t, http.StatusOK, nil)
	st.call(t, "POST", "/api/v1/checkout", co("jakarta", "jne", "wallet"), keyed("k-2")...).decode(t, http.StatusCreated, nil)
	a := readAudit(t, st.auditURL)
	for k := range a.Responses {
		if strings.HasPrefix(k, "5") {
			t.Errorf("a 5xx answered bad input: %v", a.Responses)
		}
	}
}

// shopperState is the shopper's balance and cart as the gateway shows them.
func shopperState(tb testing.TB, st *stack, token string) string {
	tb.Helper()
	var w walletResponse
	st.call(tb, "GET", "/api/v1/wallet", "", bearer(token)...).decode(tb, http.StatusOK, &w)
	cart := st.call(tb, "GET", "/api/v1/cart", "", bearer(token)...)
	cart.decode(tb, http.StatusOK, nil)
	return fmt.Sprintf("balance %d %s stale %v; cart %s", w.Balance, w.Currency, w.Stale, cart.body)
}

// decodeTakesTrailingBracket reports whether mockstore.DecodeJSON still
// accepts a JSON value followed by a stray ']' or '}': it asks
// json.Decoder.More about trailing data, which is false before those two.
func decodeTakesTrailingBracket() bool {
	for _, body := range []string{`{}]`, `{}}`} {
		var v struct{}
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		if mockstore.DecodeJSON(httptest.NewRecorder(), r, &v) == nil {
			return true
		}
	}
	return false
}

// wantRefusal fails unless r is a 4xx with code's status and a body that is
// exactly the envelope {"error": {"code", "message"}} carrying code and a
// message.
func wantRefusal(tb testing.TB, r resp, code mockstore.Code) {
	tb.Helper()
	if r.status < 400 || r.status > 499 {
		tb.Fatalf("status %d, want a 4xx (%d %s): %s", r.status, code.Status(), code, r.body)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &env); err != nil || len(env) != 1 || env["error"] == nil {
		tb.Fatalf("status %d: body is not the error envelope: %q", r.status, r.body)
	}
	var e map[string]any
	if err := json.Unmarshal(env["error"], &e); err != nil {
		tb.Fatalf("status %d: error is not an object: %q", r.status, r.body)
	}
	got, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	if got != string(code) || r.status != code.Status() {
		tb.Fatalf("got %d %s (%s), want %d %s", r.status, got, msg, code.Status(), code)
	}
	if msg == "" {
		tb.Errorf("%s without a message: %s", code, r.body)
	}
	for k := range e {
		if k != "code" && k != "message" {
			tb.Errorf("refusal carries %q: %s", k, r.body)
		}
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		tb.Errorf("Content-Type %q, want application/json", ct)
	}
}
