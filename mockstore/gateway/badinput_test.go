package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/food"
	"github.com/gameday/gameday/mockstore/internal/badinput"
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
	cases := []badinput.Case{
		// POST /api/v1/login.
		{Name: "login malformed JSON", Method: "POST", Path: "/api/v1/login", Body: `{"phone":"+62`, Code: invalid},
		{Name: "login not JSON", Method: "POST", Path: "/api/v1/login", Body: `phone=+6281100001`, Code: invalid},
		{Name: "login JSON array", Method: "POST", Path: "/api/v1/login", Body: `["+6281100001"]`, Code: invalid},
		{Name: "login JSON null", Method: "POST", Path: "/api/v1/login", Body: `null`, Code: invalid},
		{Name: "login empty body", Method: "POST", Path: "/api/v1/login", Body: ``, Code: invalid},
		{Name: "login unknown field", Method: "POST", Path: "/api/v1/login", Body: `{"phone":"+6281100001","remember":true}`, Code: invalid},
		{Name: "login trailing object", Method: "POST", Path: "/api/v1/login", Body: `{"phone":"+6281100001"}{}`, Code: invalid},
		{Name: "login trailing bracket", Method: "POST", Path: "/api/v1/login", Body: `{"phone":"+6281100001"}]`, Code: invalid, Bracket: true},
		{Name: "login body over the limit", Method: "POST", Path: "/api/v1/login", Body: `{"phone":"+6281100001","channel":"` + pad + `"}`, Code: tooLarge},
		{Name: "login phone as number", Method: "POST", Path: "/api/v1/login", Body: `{"phone":6281100001}`, Code: invalid},
		{Name: "login channel as list", Method: "POST", Path: "/api/v1/login", Body: `{"phone":"+6281100001","channel":["sms"]}`, Code: invalid},
		{Name: "login no phone", Method: "POST", Path: "/api/v1/login", Body: `{"channel":"sms"}`, Code: invalid},
		{Name: "login phone without plus", Method: "POST", Path: "/api/v1/login", Body: `{"phone":"6281100001"}`, Code: invalid},
		{Name: "login phone national", Method: "POST", Path: "/api/v1/login", Body: `{"phone":"081100001"}`, Code: invalid},
		{Name: "login phone leading zero", Method: "POST", Path: "/api/v1/login", Body: `{"phone":"+0811000012"}`, Code: invalid},
		{Name: "login phone 7 digits", Method: "POST", Path: "/api/v1/login", Body: `{"phone":"+6281100"}`, Code: invalid},
		{Name: "login phone 16 digits", Method: "POST", Path: "/api/v1/login", Body: `{"phone":"+6281100001234567"}`, Code: invalid},
		{Name: "login phone with spaces", Method: "POST", Path: "/api/v1/login", Body: `{"phone":"+62 811 00001"}`, Code: invalid},
		{Name: "login phone unicode digits", Method: "POST", Path: "/api/v1/login", Body: `{"phone":"+٦٢٨١١٠٠٠٠١"}`, Code: invalid},
		{Name: "login channel unknown", Method: "POST", Path: "/api/v1/login", Body: `{"phone":"+6281100001","channel":"email"}`, Code: invalid},
		{Name: "login channel in capitals", Method: "POST", Path: "/api/v1/login", Body: `{"phone":"+6281100001","channel":"SMS"}`, Code: invalid},

		// POST /api/v1/login/verify.
		{Name: "verify malformed JSON", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"L-1","code":`, Code: invalid},
		{Name: "verify empty body", Method: "POST", Path: "/api/v1/login/verify", Body: ``, Code: invalid},
		{Name: "verify unknown field", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"L-1","code":"123456","phone":"+6281100001"}`, Code: invalid},
		{Name: "verify trailing brace", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"L-1","code":"123456"}}`, Code: invalid, Bracket: true},
		{Name: "verify body over the limit", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"L-1","code":"` + pad + `"}`, Code: tooLarge},
		{Name: "verify code as number", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"L-1","code":123456}`, Code: invalid},
		{Name: "verify no login_id", Method: "POST", Path: "/api/v1/login/verify", Body: `{"code":"123456"}`, Code: invalid},
		{Name: "verify no code", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"L-1"}`, Code: invalid},
		{Name: "verify login_id path-like", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"../L-1","code":"123456"}`, Code: invalid},
		{Name: "verify login_id too long", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"` + long + `","code":"123456"}`, Code: invalid},
		{Name: "verify login_id not ASCII", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"L-é","code":"123456"}`, Code: invalid},
		{Name: "verify code 5 digits", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"L-1","code":"12345"}`, Code: invalid},
		{Name: "verify code 7 digits", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"L-1","code":"1234567"}`, Code: invalid},
		{Name: "verify code letters", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"L-1","code":"abcdef"}`, Code: invalid},
		{Name: "verify code padded", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"L-1","code":" 12345"}`, Code: invalid},
		{Name: "verify code fullwidth", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"L-1","code":"１２３４５６"}`, Code: invalid},
		{Name: "verify code huge", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"L-1","code":"` + strings.Repeat("1", 100) + `"}`, Code: invalid},

		// POST /api/v1/login/resend.
		{Name: "resend malformed JSON", Method: "POST", Path: "/api/v1/login/resend", Body: `{"login_id"`, Code: invalid},
		{Name: "resend empty body", Method: "POST", Path: "/api/v1/login/resend", Body: ``, Code: invalid},
		{Name: "resend unknown field", Method: "POST", Path: "/api/v1/login/resend", Body: `{"login_id":"L-1","code":"123456"}`, Code: invalid},
		{Name: "resend body over the limit", Method: "POST", Path: "/api/v1/login/resend", Body: `{"login_id":"L-1","channel":"` + pad + `"}`, Code: tooLarge},
		{Name: "resend login_id as number", Method: "POST", Path: "/api/v1/login/resend", Body: `{"login_id":1}`, Code: invalid},
		{Name: "resend no login_id", Method: "POST", Path: "/api/v1/login/resend", Body: `{"channel":"sms"}`, Code: invalid},
		{Name: "resend login_id with space", Method: "POST", Path: "/api/v1/login/resend", Body: `{"login_id":"L 1"}`, Code: invalid},
		{Name: "resend channel unknown", Method: "POST", Path: "/api/v1/login/resend", Body: `{"login_id":"L-1","channel":"pigeon"}`, Code: invalid},

		// Credentials, on every route that needs a session.
		{Name: "logout without session", Method: "POST", Path: "/api/v1/logout", Code: unauth},
		{Name: "logout basic auth", Method: "POST", Path: "/api/v1/logout", Header: header("Authorization", "Basic dTpw"), Code: unauth},
		{Name: "logout empty bearer", Method: "POST", Path: "/api/v1/logout", Header: header("Authorization", "Bearer "), Code: unauth},
		{Name: "logout malformed cookie", Method: "POST", Path: "/api/v1/logout", Header: header("Cookie", SessionCookie+`="a b"`), Code: unauth},
		{Name: "me without session", Method: "GET", Path: "/api/v1/me", Code: unauth},
		{Name: "me token with spaces", Method: "GET", Path: "/api/v1/me", Header: header("Authorization", "Bearer a b"), Code: unauth},
		{Name: "me token too long", Method: "GET", Path: "/api/v1/me", Header: header(bearer(strings.Repeat("t", maxTokenLen+1))...), Code: unauth},
		{Name: "me token not ASCII", Method: "GET", Path: "/api/v1/me", Header: header(bearer("t\xc3\xb6k")...), Code: unauth},
		{Name: "wallet without session", Method: "GET", Path: "/api/v1/wallet", Code: unauth},
		{Name: "wallet malformed bearer", Method: "GET", Path: "/api/v1/wallet", Header: header("Authorization", "Bearer"), Code: unauth},
		{Name: "topup without session", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":1000,"reference":"r1"}`, Code: unauth},
		{Name: "topup malformed token, bad body", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":`, Header: header(bearer("a\\b")...), Code: unauth},
		{Name: "checkout without session", Method: "POST", Path: "/api/v1/checkout", Body: goodCo, Header: header(IdempotencyHeader, "k-1"), Code: unauth},
		{Name: "order without session", Method: "GET", Path: "/api/v1/orders/o-1", Code: unauth},
		{Name: "cart malformed token", Method: "GET", Path: "/api/v1/cart", Header: header(bearer(`"tok"`)...), Code: unauth},

		// POST /api/v1/wallet/topup.
		{Name: "topup malformed JSON", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":1000,`, Header: header(authed...), Code: invalid},
		{Name: "topup not JSON", Method: "POST", Path: "/api/v1/wallet/topup", Body: `amount=1000`, Header: header(authed...), Code: invalid},
		{Name: "topup JSON null", Method: "POST", Path: "/api/v1/wallet/topup", Body: `null`, Header: header(authed...), Code: invalid},
		{Name: "topup empty body", Method: "POST", Path: "/api/v1/wallet/topup", Body: ``, Header: header(authed...), Code: invalid},
		{Name: "topup unknown field", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":1000,"reference":"r1","user_id":"u00002"}`, Header: header(authed...), Code: invalid},
		{Name: "topup trailing bracket", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":1000,"reference":"r1"}]`, Header: header(authed...), Code: invalid, Bracket: true},
		{Name: "topup body over the limit", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":1000,"reference":"` + pad + `"}`, Header: header(authed...), Code: tooLarge},
		{Name: "topup amount as string", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":"1000","reference":"r1"}`, Header: header(authed...), Code: invalid},
		{Name: "topup amount fraction", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":10.5,"reference":"r1"}`, Header: header(authed...), Code: invalid},
		{Name: "topup amount as bool", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":true,"reference":"r1"}`, Header: header(authed...), Code: invalid},
		{Name: "topup no amount", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"reference":"r1"}`, Header: header(authed...), Code: invalid},
		{Name: "topup amount zero", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":0,"reference":"r1"}`, Header: header(authed...), Code: invalid},
		{Name: "topup amount negative", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":-1000,"reference":"r1"}`, Header: header(authed...), Code: invalid},
		{Name: "topup amount over MaxTopup", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":` + strconv.Itoa(MaxTopup+1) + `,"reference":"r1"}`, Header: header(authed...), Code: invalid},
		{Name: "topup amount max int64", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":9223372036854775807,"reference":"r1"}`, Header: header(authed...), Code: invalid},
		{Name: "topup amount beyond int64", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":9223372036854775808,"reference":"r1"}`, Header: header(authed...), Code: invalid},
		{Name: "topup amount 1e30", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":1e30,"reference":"r1"}`, Header: header(authed...), Code: invalid},
		{Name: "topup no reference", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":1000}`, Header: header(authed...), Code: invalid},
		{Name: "topup reference too long", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":1000,"reference":"` + strings.Repeat("r", maxKeyLen+1) + `"}`, Header: header(authed...), Code: invalid},
		{Name: "topup reference with space", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":1000,"reference":"r 1"}`, Header: header(authed...), Code: invalid},
		{Name: "topup reference with control", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":1000,"reference":"r\u00001"}`, Header: header(authed...), Code: invalid},
		{Name: "topup reference not ASCII", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":1000,"reference":"rü"}`, Header: header(authed...), Code: invalid},

		// GET /api/v1/cart: the guest id.
		{Name: "cart guest id with spaces", Method: "GET", Path: "/api/v1/cart", Header: header(guest("not ok at all")...), Code: invalid},
		{Name: "cart guest id too short", Method: "GET", Path: "/api/v1/cart", Header: header("Cookie", GuestCookie+"=abc"), Code: invalid},
		{Name: "cart guest id too long", Method: "GET", Path: "/api/v1/cart", Header: header(guest(long)...), Code: invalid},
		{Name: "cart guest id with colon", Method: "GET", Path: "/api/v1/cart", Header: header(guest("u:u00001")...), Code: invalid},
		{Name: "cart guest id not ASCII", Method: "GET", Path: "/api/v1/cart", Header: header(guest("gäst-1234")...), Code: invalid},

		// POST /api/v1/cart/items.
		{Name: "add malformed JSON", Method: "POST", Path: "/api/v1/cart/items", Body: `{"product_id":"p001",`, Header: header(authed...), Code: invalid},
		{Name: "add not JSON", Method: "POST", Path: "/api/v1/cart/items", Body: `p001 x1`, Header: header(authed...), Code: invalid},
		{Name: "add empty body", Method: "POST", Path: "/api/v1/cart/items", Body: ``, Header: header(authed...), Code: invalid},
		{Name: "add unknown field", Method: "POST", Path: "/api/v1/cart/items", Body: `{"product_id":"p001","qty":1,"price":1}`, Header: header(authed...), Code: invalid},
		{Name: "add trailing brace", Method: "POST", Path: "/api/v1/cart/items", Body: item(`"p001"`, "1") + `}`, Header: header(authed...), Code: invalid, Bracket: true},
		{Name: "add body over the limit", Method: "POST", Path: "/api/v1/cart/items", Body: item(`"`+pad+`"`, "1"), Header: header(authed...), Code: tooLarge},
		{Name: "add product as number", Method: "POST", Path: "/api/v1/cart/items", Body: item(`1`, "1"), Header: header(authed...), Code: invalid},
		{Name: "add qty as string", Method: "POST", Path: "/api/v1/cart/items", Body: item(`"p001"`, `"1"`), Header: header(authed...), Code: invalid},
		{Name: "add no product", Method: "POST", Path: "/api/v1/cart/items", Body: `{"qty":1}`, Header: header(authed...), Code: invalid},
		{Name: "add no qty", Method: "POST", Path: "/api/v1/cart/items", Body: `{"product_id":"p001"}`, Header: header(authed...), Code: invalid},
		{Name: "add product with space", Method: "POST", Path: "/api/v1/cart/items", Body: item(`"p 001"`, "1"), Header: header(authed...), Code: invalid},
		{Name: "add product too long", Method: "POST", Path: "/api/v1/cart/items", Body: item(`"`+long+`"`, "1"), Header: header(authed...), Code: invalid},
		{Name: "add qty zero", Method: "POST", Path: "/api/v1/cart/items", Body: item(`"p001"`, "0"), Header: header(authed...), Code: invalid},
		{Name: "add qty negative", Method: "POST", Path: "/api/v1/cart/items", Body: item(`"p001"`, "-1"), Header: header(authed...), Code: invalid},
		{Name: "add qty 100", Method: "POST", Path: "/api/v1/cart/items", Body: item(`"p001"`, "100"), Header: header(authed...), Code: invalid},
		{Name: "add qty 10^9", Method: "POST", Path: "/api/v1/cart/items", Body: item(`"p001"`, "1000000000"), Header: header(authed...), Code: invalid},
		{Name: "add qty 1e30", Method: "POST", Path: "/api/v1/cart/items", Body: item(`"p001"`, "1e30"), Header: header(authed...), Code: invalid},
		{Name: "add as a guest with a bad id", Method: "POST", Path: "/api/v1/cart/items", Body: item(`"p001"`, "1"), Header: header(guest("bad id!")...), Code: invalid},
		{Name: "add as a guest, bad body", Method: "POST", Path: "/api/v1/cart/items", Body: item(`"p001"`, "0"), Header: header(guest("guest-0001")...), Code: invalid},

		// DELETE /api/v1/cart/items/{product_id}.
		{Name: "remove product with space", Method: "DELETE", Path: "/api/v1/cart/items/p%20001", Header: header(authed...), Code: invalid},
		{Name: "remove product too long", Method: "DELETE", Path: "/api/v1/cart/items/" + long, Header: header(authed...), Code: invalid},
		{Name: "remove product with slash", Method: "DELETE", Path: "/api/v1/cart/items/p001%2Fx", Header: header(authed...), Code: invalid},
		{Name: "remove product not ASCII", Method: "DELETE", Path: "/api/v1/cart/items/p%C3%B6", Header: header(authed...), Code: invalid},
		{Name: "remove as a guest with a bad id", Method: "DELETE", Path: "/api/v1/cart/items/p001", Header: header(guest("x")...), Code: invalid},

		// POST /api/v1/checkout: the Idempotency-Key.
		{Name: "checkout without key", Method: "POST", Path: "/api/v1/checkout", Body: goodCo, Header: header(authed...), Code: mockstore.CodeIdempotencyKey},
		{Name: "checkout blank key", Method: "POST", Path: "/api/v1/checkout", Body: goodCo, Header: header(keyed("   ")...), Code: mockstore.CodeIdempotencyKey},
		{Name: "checkout key too long", Method: "POST", Path: "/api/v1/checkout", Body: goodCo, Header: header(keyed(strings.Repeat("k", maxKeyLen+1))...), Code: invalid},
		{Name: "checkout key with space", Method: "POST", Path: "/api/v1/checkout", Body: goodCo, Header: header(keyed("k 1")...), Code: invalid},
		{Name: "checkout key not ASCII", Method: "POST", Path: "/api/v1/checkout", Body: goodCo, Header: header(keyed("k\xc3\xbc")...), Code: invalid},
		// POST /api/v1/checkout: the body.
		{Name: "checkout malformed JSON", Method: "POST", Path: "/api/v1/checkout", Body: `{"address":`, Header: header(k...), Code: invalid},
		{Name: "checkout JSON null", Method: "POST", Path: "/api/v1/checkout", Body: `null`, Header: header(k...), Code: invalid},
		{Name: "checkout empty body", Method: "POST", Path: "/api/v1/checkout", Body: ``, Header: header(k...), Code: invalid},
		{Name: "checkout unknown field", Method: "POST", Path: "/api/v1/checkout", Body: strings.TrimSuffix(goodCo, "}") + `,"amount":1}`, Header: header(k...), Code: invalid},
		{Name: "checkout user given", Method: "POST", Path: "/api/v1/checkout", Body: strings.TrimSuffix(goodCo, "}") + `,"user_id":"u00002"}`, Header: header(k...), Code: invalid},
		{Name: "checkout trailing bracket", Method: "POST", Path: "/api/v1/checkout", Body: goodCo + `]`, Header: header(k...), Code: invalid, Bracket: true},
		{Name: "checkout body over the limit", Method: "POST", Path: "/api/v1/checkout", Body: co(pad, "jakarta", "jne", "wallet"), Header: header(k...), Code: tooLarge},
		{Name: "checkout address as string", Method: "POST", Path: "/api/v1/checkout", Body: `{"address":"Jl. Sudirman 1","courier":"jne","payment_method":"wallet"}`, Header: header(k...), Code: invalid},
		{Name: "checkout address unknown field", Method: "POST", Path: "/api/v1/checkout", Body: strings.Replace(goodCo, `"area":"jakarta"`, `"area":"jakarta","zip":1`, 1), Header: header(k...), Code: invalid},
		{Name: "checkout no address", Method: "POST", Path: "/api/v1/checkout", Body: `{"courier":"jne","payment_method":"wallet"}`, Header: header(k...), Code: invalid},
		{Name: "checkout blank address line", Method: "POST", Path: "/api/v1/checkout", Body: co("   ", "jakarta", "jne", "wallet"), Header: header(k...), Code: invalid},
		{Name: "checkout address line too long", Method: "POST", Path: "/api/v1/checkout", Body: co(strings.Repeat("l", maxAddressLine+1), "jakarta", "jne", "wallet"), Header: header(k...), Code: invalid},
		{Name: "checkout address line with control", Method: "POST", Path: "/api/v1/checkout", Body: co("Jl. Sudirman\x001", "jakarta", "jne", "wallet"), Header: header(k...), Code: invalid},
		{Name: "checkout no area", Method: "POST", Path: "/api/v1/checkout", Body: co("Jl. Sudirman 1", "", "jne", "wallet"), Header: header(k...), Code: invalid},
		{Name: "checkout area with space", Method: "POST", Path: "/api/v1/checkout", Body: co("Jl. Sudirman 1", "jak arta", "jne", "wallet"), Header: header(k...), Code: invalid},
		{Name: "checkout no courier", Method: "POST", Path: "/api/v1/checkout", Body: co("Jl. Sudirman 1", "jakarta", "", "wallet"), Header: header(k...), Code: invalid},
		{Name: "checkout courier with slash", Method: "POST", Path: "/api/v1/checkout", Body: co("Jl. Sudirman 1", "jakarta", "jne/x", "wallet"), Header: header(k...), Code: invalid},
		{Name: "checkout no payment method", Method: "POST", Path: "/api/v1/checkout", Body: co("Jl. Sudirman 1", "jakarta", "jne", ""), Header: header(k...), Code: invalid},
		{Name: "checkout unknown payment method", Method: "POST", Path: "/api/v1/checkout", Body: co("Jl. Sudirman 1", "jakarta", "jne", "bitcoin"), Header: header(k...), Code: invalid},
		{Name: "checkout payment method in capitals", Method: "POST", Path: "/api/v1/checkout", Body: co("Jl. Sudirman 1", "jakarta", "jne", "WALLET"), Header: header(k...), Code: invalid},

		// GET /api/v1/orders/{id}.
		{Name: "order id with space", Method: "GET", Path: "/api/v1/orders/o%201", Header: header(authed...), Code: invalid},
		{Name: "order id too long", Method: "GET", Path: "/api/v1/orders/" + long, Header: header(authed...), Code: invalid},
		{Name: "order id with slash", Method: "GET", Path: "/api/v1/orders/o%2F1", Header: header(authed...), Code: invalid},
		{Name: "order id not ASCII", Method: "GET", Path: "/api/v1/orders/o%C3%A9", Header: header(authed...), Code: invalid},

		// Wrong methods and unknown paths.
		{Name: "get login", Method: "GET", Path: "/api/v1/login", Code: mockstore.CodeMethodNotAllowed},
		{Name: "get verify", Method: "GET", Path: "/api/v1/login/verify?login_id=L-1&code=123456", Code: mockstore.CodeMethodNotAllowed},
		{Name: "get resend", Method: "GET", Path: "/api/v1/login/resend", Code: mockstore.CodeMethodNotAllowed},
		{Name: "get logout", Method: "GET", Path: "/api/v1/logout", Header: header(authed...), Code: mockstore.CodeMethodNotAllowed},
		{Name: "post me", Method: "POST", Path: "/api/v1/me", Body: `{}`, Header: header(authed...), Code: mockstore.CodeMethodNotAllowed},
		{Name: "put wallet", Method: "PUT", Path: "/api/v1/wallet", Body: `{"balance":1}`, Header: header(authed...), Code: mockstore.CodeMethodNotAllowed},
		{Name: "get topup", Method: "GET", Path: "/api/v1/wallet/topup", Header: header(authed...), Code: mockstore.CodeMethodNotAllowed},
		{Name: "post products", Method: "POST", Path: "/api/v1/products", Body: `{}`, Code: mockstore.CodeMethodNotAllowed},
		{Name: "put cart", Method: "PUT", Path: "/api/v1/cart", Body: `{}`, Header: header(authed...), Code: mockstore.CodeMethodNotAllowed},
		{Name: "get cart items", Method: "GET", Path: "/api/v1/cart/items", Header: header(authed...), Code: mockstore.CodeMethodNotAllowed},
		{Name: "put a cart item", Method: "PUT", Path: "/api/v1/cart/items/p001", Body: `{"qty":3}`, Header: header(authed...), Code: mockstore.CodeMethodNotAllowed},
		{Name: "get checkout", Method: "GET", Path: "/api/v1/checkout", Header: header(k...), Code: mockstore.CodeMethodNotAllowed},
		{Name: "delete an order", Method: "DELETE", Path: "/api/v1/orders/o-1", Header: header(authed...), Code: mockstore.CodeMethodNotAllowed},
		{Name: "post healthz", Method: "POST", Path: "/healthz", Code: mockstore.CodeMethodNotAllowed},
		{Name: "orders collection", Method: "GET", Path: "/api/v1/orders", Header: header(authed...), Code: mockstore.CodeNotFound},
		{Name: "cart item without id", Method: "DELETE", Path: "/api/v1/cart/items/", Header: header(authed...), Code: mockstore.CodeNotFound},
		{Name: "deeper order path", Method: "POST", Path: "/api/v1/orders/o-1/refund", Header: header(authed...), Code: mockstore.CodeNotFound},
		{Name: "another version", Method: "GET", Path: "/api/v2/me", Header: header(authed...), Code: mockstore.CodeNotFound},
		{Name: "internal route", Method: "POST", Path: "/api/v1/sessions/validate", Body: `{"token":"tok-1"}`, Code: mockstore.CodeNotFound},
		{Name: "audit not on the API", Method: "POST", Path: "/audit/maintenance", Body: `{"on":true}`, Code: mockstore.CodeNotFound},

		// The audit handler: the maintenance switch.
		{Name: "maintenance malformed JSON", Method: "POST", Path: "/audit/maintenance", Body: `{"on":`, Audit: true, Code: invalid},
		{Name: "maintenance empty body", Method: "POST", Path: "/audit/maintenance", Body: ``, Audit: true, Code: invalid},
		{Name: "maintenance unknown field", Method: "POST", Path: "/audit/maintenance", Body: `{"on":true,"until":"tomorrow"}`, Audit: true, Code: invalid},
		{Name: "maintenance trailing brace", Method: "POST", Path: "/audit/maintenance", Body: `{"on":true}}`, Audit: true, Code: invalid, Bracket: true},
		{Name: "maintenance body over the limit", Method: "POST", Path: "/audit/maintenance", Body: `{"on":true,"message":"` + pad + `"}`, Audit: true, Code: tooLarge},
		{Name: "maintenance on as string", Method: "POST", Path: "/audit/maintenance", Body: `{"on":"yes"}`, Audit: true, Code: invalid},
		{Name: "maintenance retry as string", Method: "POST", Path: "/audit/maintenance", Body: `{"on":true,"retry_after_s":"60"}`, Audit: true, Code: invalid},
		{Name: "maintenance retry negative", Method: "POST", Path: "/audit/maintenance", Body: `{"on":true,"retry_after_s":-1}`, Audit: true, Code: invalid},
		{Name: "maintenance retry over a day", Method: "POST", Path: "/audit/maintenance", Body: `{"on":true,"retry_after_s":86401}`, Audit: true, Code: invalid},
		{Name: "maintenance retry 1e30", Method: "POST", Path: "/audit/maintenance", Body: `{"on":true,"retry_after_s":1e30}`, Audit: true, Code: invalid},
		{Name: "maintenance message too long", Method: "POST", Path: "/audit/maintenance", Body: `{"on":true,"message":"` + strings.Repeat("m", 1001) + `"}`, Audit: true, Code: invalid},
		{Name: "audit wrong method", Method: "POST", Path: "/audit/gateway", Body: `{}`, Audit: true, Code: mockstore.CodeMethodNotAllowed},
		{Name: "maintenance wrong method", Method: "DELETE", Path: "/audit/maintenance", Audit: true, Code: mockstore.CodeMethodNotAllowed},
		{Name: "audit unknown path", Method: "GET", Path: "/audit/nope", Audit: true, Code: mockstore.CodeNotFound},
		{Name: "API not on the audit", Method: "GET", Path: "/api/v1/products", Audit: true, Code: mockstore.CodeNotFound},

		// POST /api/v1/wallet/pay (QR payments).
		{Name: "pay without session", Method: "POST", Path: "/api/v1/wallet/pay", Body: `{"qr":"gameday:pay:r01","amount":1000}`, Header: header(IdempotencyHeader, "k-1"), Code: unauth},
		{Name: "pay without key", Method: "POST", Path: "/api/v1/wallet/pay", Body: `{"qr":"gameday:pay:r01","amount":1000}`, Header: header(authed...), Code: mockstore.CodeIdempotencyKey},
		{Name: "pay key too long", Method: "POST", Path: "/api/v1/wallet/pay", Body: `{"qr":"gameday:pay:r01","amount":1000}`, Header: header(keyed(strings.Repeat("k", maxKeyLen+1))...), Code: invalid},
		{Name: "pay malformed JSON", Method: "POST", Path: "/api/v1/wallet/pay", Body: `{"qr":`, Header: header(k...), Code: invalid},
		{Name: "pay unknown field", Method: "POST", Path: "/api/v1/wallet/pay", Body: `{"qr":"gameday:pay:r01","amount":1000,"user_id":"u00002"}`, Header: header(k...), Code: invalid},
		{Name: "pay not a payment code", Method: "POST", Path: "/api/v1/wallet/pay", Body: `{"qr":"https://example.com/r01","amount":1000}`, Header: header(k...), Code: invalid},
		{Name: "pay code without merchant", Method: "POST", Path: "/api/v1/wallet/pay", Body: `{"qr":"gameday:pay:","amount":1000}`, Header: header(k...), Code: invalid},
		{Name: "pay merchant path-like", Method: "POST", Path: "/api/v1/wallet/pay", Body: `{"qr":"gameday:pay:../r01","amount":1000}`, Header: header(k...), Code: invalid},
		{Name: "pay amount zero", Method: "POST", Path: "/api/v1/wallet/pay", Body: `{"qr":"gameday:pay:r01","amount":0}`, Header: header(k...), Code: invalid},
		{Name: "pay amount over the limit", Method: "POST", Path: "/api/v1/wallet/pay", Body: `{"qr":"gameday:pay:r01","amount":` + strconv.Itoa(MaxPayment+1) + `}`, Header: header(k...), Code: invalid},
		{Name: "pay amount as string", Method: "POST", Path: "/api/v1/wallet/pay", Body: `{"qr":"gameday:pay:r01","amount":"1000"}`, Header: header(k...), Code: invalid},

		// Food: orders, merchants, drivers, chat.
		{Name: "food order without session", Method: "POST", Path: "/api/v1/food/orders", Body: `{"restaurant_id":"r01","items":[{"item_id":"m1","qty":1}]}`, Header: header(IdempotencyHeader, "k-1"), Code: unauth},
		{Name: "food order without key", Method: "POST", Path: "/api/v1/food/orders", Body: `{"restaurant_id":"r01","items":[{"item_id":"m1","qty":1}]}`, Header: header(authed...), Code: mockstore.CodeIdempotencyKey},
		{Name: "food order no items", Method: "POST", Path: "/api/v1/food/orders", Body: `{"restaurant_id":"r01","items":[]}`, Header: header(k...), Code: invalid},
		{Name: "food order too many items", Method: "POST", Path: "/api/v1/food/orders", Body: `{"restaurant_id":"r01","items":[` + strings.Repeat(`{"item_id":"m1","qty":1},`, food.MaxItems) + `{"item_id":"m1","qty":1}]}`, Header: header(k...), Code: invalid},
		{Name: "food order qty zero", Method: "POST", Path: "/api/v1/food/orders", Body: `{"restaurant_id":"r01","items":[{"item_id":"m1","qty":0}]}`, Header: header(k...), Code: invalid},
		{Name: "food order qty over the limit", Method: "POST", Path: "/api/v1/food/orders", Body: `{"restaurant_id":"r01","items":[{"item_id":"m1","qty":` + strconv.Itoa(food.MaxQty+1) + `}]}`, Header: header(k...), Code: invalid},
		{Name: "food order bad restaurant id", Method: "POST", Path: "/api/v1/food/orders", Body: `{"restaurant_id":"r 01","items":[{"item_id":"m1","qty":1}]}`, Header: header(k...), Code: invalid},
		{Name: "food order bad item id", Method: "POST", Path: "/api/v1/food/orders", Body: `{"restaurant_id":"r01","items":[{"item_id":"","qty":1}]}`, Header: header(k...), Code: invalid},
		{Name: "food order unknown field", Method: "POST", Path: "/api/v1/food/orders", Body: `{"restaurant_id":"r01","items":[{"item_id":"m1","qty":1}],"user_id":"u00002"}`, Header: header(k...), Code: invalid},
		{Name: "food order get without session", Method: "GET", Path: "/api/v1/food/orders/f1", Code: unauth},
		{Name: "food order get bad id", Method: "GET", Path: "/api/v1/food/orders/f%201", Header: header(authed...), Code: invalid},
		{Name: "merchant queue bad restaurant", Method: "GET", Path: "/api/v1/food/restaurants/r%2001/orders", Header: header(authed...), Code: invalid},
		{Name: "accept without session", Method: "POST", Path: "/api/v1/food/orders/f1/accept", Code: unauth},
		{Name: "take bad id", Method: "POST", Path: "/api/v1/food/orders/` + long + `/take", Header: header(authed...), Code: invalid},
		{Name: "offers without session", Method: "GET", Path: "/api/v1/food/offers", Code: unauth},
		{Name: "offers wrong method", Method: "DELETE", Path: "/api/v1/food/offers", Header: header(authed...), Code: mockstore.CodeMethodNotAllowed},
		{Name: "message without key", Method: "POST", Path: "/api/v1/food/orders/f1/messages", Body: `{"text":"hi"}`, Header: header(authed...), Code: mockstore.CodeIdempotencyKey},
		{Name: "message empty text", Method: "POST", Path: "/api/v1/food/orders/f1/messages", Body: `{"text":"  "}`, Header: header(k...), Code: invalid},
		{Name: "message text too long", Method: "POST", Path: "/api/v1/food/orders/f1/messages", Body: `{"text":"` + strings.Repeat("x", food.MaxText+1) + `"}`, Header: header(k...), Code: invalid},
		{Name: "message control character", Method: "POST", Path: "/api/v1/food/orders/f1/messages", Body: `{"text":"hi\u0007"}`, Header: header(k...), Code: invalid},
		{Name: "messages without session", Method: "GET", Path: "/api/v1/food/orders/f1/messages", Code: unauth},
	}
	state := func(tb testing.TB) string { return gatewayState(tb, url, auditURL, v.Token, fa, fc, fw) }
	quiet := func(testing.TB) func(testing.TB) {
		seen := calls.snapshot()
		return func(tb testing.TB) {
			if got := calls.since(seen); len(got) != 0 {
				tb.Errorf("bad input reached upstreams: %v", got)
			}
		}
	}
	badinput.Run(t, badinput.Target{API: url, Audit: auditURL, State: state, Watch: quiet}, cases)
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

	tests := []badinput.Case{
		{Name: "unknown token", Method: "GET", Path: "/api/v1/wallet", Header: header(bearer("tok-nobody")...), Code: mockstore.CodeUnauthenticated},
		{Name: "wrong code", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"` + ls.LoginID + `","code":"` + wrong + `"}`, Code: mockstore.CodeInvalidCode},
		{Name: "unknown login", Method: "POST", Path: "/api/v1/login/verify", Body: `{"login_id":"l_nobody","code":"123456"}`, Code: mockstore.CodeInvalidCode},
		{Name: "resend unknown login", Method: "POST", Path: "/api/v1/login/resend", Body: `{"login_id":"l_nobody"}`, Code: mockstore.CodeNotFound},
		{Name: "topup reference reused", Method: "POST", Path: "/api/v1/wallet/topup", Body: `{"amount":999,"reference":"ref-1"}`, Header: header(authed...), Code: mockstore.CodeIdempotencyConflict},
		{Name: "add unknown product", Method: "POST", Path: "/api/v1/cart/items", Body: `{"product_id":"p999","qty":1}`, Header: header(authed...), Code: mockstore.CodeUnknownProduct},
		{Name: "add past 99 in the cart", Method: "POST", Path: "/api/v1/cart/items", Body: `{"product_id":"p002","qty":98}`, Header: header(authed...), Code: mockstore.CodeInvalidRequest},
		{Name: "remove unknown product", Method: "DELETE", Path: "/api/v1/cart/items/p999", Header: header(authed...), Code: mockstore.CodeUnknownProduct},
		{Name: "checkout by card", Method: "POST", Path: "/api/v1/checkout", Body: co("jakarta", "jne", "card"), Header: header(keyed("k-2")...), Code: mockstore.CodePaymentUnsupported},
		{Name: "checkout cash on delivery", Method: "POST", Path: "/api/v1/checkout", Body: co("jakarta", "jne", "cod"), Header: header(keyed("k-2")...), Code: mockstore.CodePaymentUnsupported},
		{Name: "checkout unknown courier", Method: "POST", Path: "/api/v1/checkout", Body: co("jakarta", "ojek", "wallet"), Header: header(keyed("k-2")...), Code: mockstore.CodeUnknownCourier},
		{Name: "checkout area not served", Method: "POST", Path: "/api/v1/checkout", Body: co("papua", "jne", "wallet"), Header: header(keyed("k-2")...), Code: mockstore.CodeAddressNotServed},
		{Name: "checkout key reused", Method: "POST", Path: "/api/v1/checkout", Body: co("bandung", "jne", "wallet"), Header: header(keyed("k-paid")...), Code: mockstore.CodeIdempotencyConflict},
		{Name: "unknown order", Method: "GET", Path: "/api/v1/orders/o_nope", Header: header(authed...), Code: mockstore.CodeNotFound},
	}
	state := func(tb testing.TB) string { return shopperState(tb, st, tok) }
	badinput.Run(t, badinput.Target{API: st.url, Audit: st.auditURL, State: state}, tests)
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

// header returns pairs of header name and value as a map.
func header(pairs ...string) map[string]string {
	h := make(map[string]string, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		h[pairs[i]] = pairs[i+1]
	}
	return h
}
