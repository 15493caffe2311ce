package checkout

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/badinput"
	"github.com/gameday/gameday/mockstore/wallet"
)

// TestBadInputEveryRoute sends bad input to every route of checkout and of
// its audit handler: each is refused with its specific code in the one
// envelope, never a 5xx, and neither checkout's store and audit nor the
// wallet's ledger changes.
func TestBadInputEveryRoute(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	d := e.cfg.Dataset
	heavy, big := d.Products[len(d.Products)-2].ID, d.Products[len(d.Products)-1].ID

	// A paid order of u00001, then a cart that could be bought.
	paid, err := e.client.Checkout(ctx, "k-paid", e.buy(t, "u00001"))
	if err != nil || paid.Status != mockstore.OrderPaid {
		t.Fatalf("checkout = %+v, %v; want paid", paid, err)
	}
	e.fill(t, "u:u00001", map[string]int{"p001": 2})
	e.fill(t, "u:u00003", map[string]int{heavy: 1})
	e.fill(t, "u:u00004", map[string]int{big: 1})
	e.fill(t, "g:guest-1", map[string]int{"p002": 1})

	// co is u00001's valid checkout of its cart, changed by edit.
	co := func(edit func(r *CheckoutRequest)) string {
		r := CheckoutRequest{UserID: "u00001", UserStatus: mockstore.StatusActive, Owner: "u:u00001",
			Address: mockstore.Address{Line: "Jl. Sudirman 1", Area: "jakarta"}, Courier: "jne", PaymentMethod: mockstore.PaymentWallet}
		if edit != nil {
			edit(&r)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("encode checkout: %v", err)
		}
		return string(b)
	}
	key := func(k string) map[string]string { return map[string]string{IdempotencyHeader: k} }
	k := key("k-new")
	invalid, notFound := mockstore.CodeInvalidRequest, mockstore.CodeNotFound
	item := func(product, qty string) string { return `{"product_id":` + product + `,"qty":` + qty + `}` }
	long := strings.Repeat("a", maxIDLen+1)
	cases := []badinput.Case{
		// GET /carts/{owner}.
		{Name: "cart owner of no kind", Method: "GET", Path: "/carts/u00001", Code: invalid},
		{Name: "cart owner of unknown kind", Method: "GET", Path: "/carts/x:u00001", Code: invalid},
		{Name: "cart owner kind in capitals", Method: "GET", Path: "/carts/U:u00001", Code: invalid},
		{Name: "cart owner without id", Method: "GET", Path: "/carts/g:", Code: invalid},
		{Name: "cart owner id too long", Method: "GET", Path: "/carts/u:" + long, Code: invalid},
		{Name: "cart owner id with space", Method: "GET", Path: "/carts/u:u%2000001", Code: invalid},
		{Name: "cart owner id with slash", Method: "GET", Path: "/carts/u:u%2F1", Code: invalid},
		{Name: "cart owner id with colon", Method: "GET", Path: "/carts/u:u:1", Code: invalid},
		{Name: "cart owner id not ASCII", Method: "GET", Path: "/carts/g:g%C3%BCest", Code: invalid},

		// POST /carts/{owner}/items.
		{Name: "add malformed JSON", Method: "POST", Path: "/carts/u:u00001/items", Body: `{"product_id":"p001",`, Code: invalid},
		{Name: "add not JSON", Method: "POST", Path: "/carts/u:u00001/items", Body: `product_id=p001&qty=1`, Code: invalid},
		{Name: "add JSON array", Method: "POST", Path: "/carts/u:u00001/items", Body: `[{"product_id":"p001","qty":1}]`, Code: invalid},
		{Name: "add JSON null", Method: "POST", Path: "/carts/u:u00001/items", Body: `null`, Code: invalid},
		{Name: "add empty body", Method: "POST", Path: "/carts/u:u00001/items", Body: ``, Code: invalid},
		{Name: "add unknown field", Method: "POST", Path: "/carts/u:u00001/items", Body: `{"product_id":"p001","qty":1,"price":1}`, Code: invalid},
		{Name: "add trailing object", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"p001"`, "1") + `{}`, Code: invalid},
		{Name: "add trailing bracket", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"p001"`, "1") + `]`, Code: invalid, Bracket: true},
		{Name: "add body over the limit", Method: "POST", Path: "/carts/u:u00001/items",
			Body: item(`"`+strings.Repeat("p", mockstore.MaxBody)+`"`, "1"), Code: mockstore.CodeBodyTooLarge},
		{Name: "add product as number", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`1`, "1"), Code: invalid},
		{Name: "add qty as string", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"p001"`, `"1"`), Code: invalid},
		{Name: "add qty fraction", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"p001"`, "1.5"), Code: invalid},
		{Name: "add qty null", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"p001"`, "null"), Code: invalid},
		{Name: "add no product", Method: "POST", Path: "/carts/u:u00001/items", Body: `{"qty":1}`, Code: invalid},
		{Name: "add no qty", Method: "POST", Path: "/carts/u:u00001/items", Body: `{"product_id":"p001"}`, Code: invalid},
		{Name: "add qty zero", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"p001"`, "0"), Code: invalid},
		{Name: "add qty negative", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"p001"`, "-1"), Code: invalid},
		{Name: "add qty over MaxQty", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"p001"`, fmt.Sprint(MaxQty+1)), Code: invalid},
		{Name: "add qty 10^9", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"p001"`, "1000000000"), Code: invalid},
		{Name: "add qty beyond int64", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"p001"`, "9223372036854775808"), Code: invalid},
		{Name: "add qty 1e30", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"p001"`, "1e30"), Code: invalid},
		{Name: "add sum over MaxQty", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"p001"`, fmt.Sprint(MaxQty-1)), Code: invalid},
		{Name: "add unknown product", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"p999"`, "1"), Code: mockstore.CodeUnknownProduct},
		{Name: "add product with space", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"p 001"`, "1"), Code: invalid},
		{Name: "add product too long", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"`+long+`"`, "1"), Code: invalid},
		{Name: "add product with control", Method: "POST", Path: "/carts/u:u00001/items", Body: item(`"p001\u0000"`, "1"), Code: invalid},
		{Name: "add to a malformed owner", Method: "POST", Path: "/carts/u:u%2000001/items", Body: item(`"p001"`, "1"), Code: invalid},
		{Name: "add to an owner of no kind", Method: "POST", Path: "/carts/guest-1/items", Body: item(`"p001"`, "1"), Code: invalid},

		// DELETE /carts/{owner}/items/{product_id}.
		{Name: "remove unknown product", Method: "DELETE", Path: "/carts/u:u00001/items/p999", Code: mockstore.CodeUnknownProduct},
		{Name: "remove product with space", Method: "DELETE", Path: "/carts/u:u00001/items/p%20001", Code: invalid},
		{Name: "remove product too long", Method: "DELETE", Path: "/carts/u:u00001/items/" + long, Code: invalid},
		{Name: "remove product with slash", Method: "DELETE", Path: "/carts/u:u00001/items/p001%2Fx", Code: invalid},
		{Name: "remove from a malformed owner", Method: "DELETE", Path: "/carts/x:u00001/items/p001", Code: invalid},

		// POST /checkout: the Idempotency-Key.
		{Name: "checkout without key", Method: "POST", Path: "/checkout", Body: co(nil), Code: mockstore.CodeIdempotencyKey},
		{Name: "checkout blank key", Method: "POST", Path: "/checkout", Body: co(nil), Header: key("   "), Code: mockstore.CodeIdempotencyKey},
		{Name: "checkout key too long", Method: "POST", Path: "/checkout", Body: co(nil), Header: key(strings.Repeat("k", maxKeyLen+1)), Code: invalid},
		{Name: "checkout key with space", Method: "POST", Path: "/checkout", Body: co(nil), Header: key("k new"), Code: invalid},
		{Name: "checkout key with tab", Method: "POST", Path: "/checkout", Body: co(nil), Header: key("k\tnew"), Code: invalid},
		{Name: "checkout key not ASCII", Method: "POST", Path: "/checkout", Body: co(nil), Header: key("k\xc3\xbc"), Code: invalid},
		{Name: "checkout key reused for another request", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.Address.Area = "bandung" }),
			Header: key("k-paid"), Code: mockstore.CodeIdempotencyConflict},
		// POST /checkout: the body.
		{Name: "checkout malformed JSON", Method: "POST", Path: "/checkout", Body: `{"user_id":"u00001",`, Header: k, Code: invalid},
		{Name: "checkout not JSON", Method: "POST", Path: "/checkout", Body: `user_id=u00001`, Header: k, Code: invalid},
		{Name: "checkout JSON array", Method: "POST", Path: "/checkout", Body: `[]`, Header: k, Code: invalid},
		{Name: "checkout JSON null", Method: "POST", Path: "/checkout", Body: `null`, Header: k, Code: invalid},
		{Name: "checkout empty body", Method: "POST", Path: "/checkout", Body: ``, Header: k, Code: invalid},
		{Name: "checkout unknown field", Method: "POST", Path: "/checkout", Body: strings.TrimSuffix(co(nil), "}") + `,"amount":1}`, Header: k, Code: invalid},
		{Name: "checkout trailing object", Method: "POST", Path: "/checkout", Body: co(nil) + `{}`, Header: k, Code: invalid},
		{Name: "checkout trailing brace", Method: "POST", Path: "/checkout", Body: co(nil) + `}`, Header: k, Code: invalid, Bracket: true},
		{Name: "checkout body over the limit", Method: "POST", Path: "/checkout",
			Body: co(func(r *CheckoutRequest) { r.Address.Line = strings.Repeat("l", mockstore.MaxBody) }), Header: k, Code: mockstore.CodeBodyTooLarge},
		{Name: "checkout user as number", Method: "POST", Path: "/checkout", Body: strings.Replace(co(nil), `"user_id":"u00001"`, `"user_id":1`, 1), Header: k, Code: invalid},
		{Name: "checkout address as string", Method: "POST", Path: "/checkout", Body: strings.Replace(co(nil), `{"line":"Jl. Sudirman 1","area":"jakarta"}`, `"Jl. Sudirman 1"`, 1), Header: k, Code: invalid},
		{Name: "checkout address line as number", Method: "POST", Path: "/checkout", Body: strings.Replace(co(nil), `"line":"Jl. Sudirman 1"`, `"line":1`, 1), Header: k, Code: invalid},
		{Name: "checkout address unknown field", Method: "POST", Path: "/checkout", Body: strings.Replace(co(nil), `"area":"jakarta"`, `"area":"jakarta","zip":"10220"`, 1), Header: k, Code: invalid},
		// POST /checkout: missing and malformed fields.
		{Name: "checkout no user", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.UserID = "" }), Header: k, Code: invalid},
		{Name: "checkout user with space", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.UserID = "u 00001" }), Header: k, Code: invalid},
		{Name: "checkout user too long", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.UserID = long }), Header: k, Code: invalid},
		{Name: "checkout no user status", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.UserStatus = "" }), Header: k, Code: invalid},
		{Name: "checkout unknown user status", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.UserStatus = "banned" }), Header: k, Code: invalid},
		{Name: "checkout user status in capitals", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.UserStatus = "Active" }), Header: k, Code: invalid},
		{Name: "checkout no owner", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.Owner = "" }), Header: k, Code: invalid},
		{Name: "checkout malformed owner", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.Owner = "cart:u00001" }), Header: k, Code: invalid},
		{Name: "checkout another user's cart", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.Owner = "u:u00003" }), Header: k, Code: mockstore.CodeForbidden},
		{Name: "checkout no address", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.Address = mockstore.Address{} }), Header: k, Code: invalid},
		{Name: "checkout blank address line", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.Address.Line = " \t " }), Header: k, Code: invalid},
		{Name: "checkout address line too long", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.Address.Line = strings.Repeat("l", maxAddressLine+1) }), Header: k, Code: invalid},
		{Name: "checkout address line with control", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.Address.Line = "Jl. Sudirman\x00 1" }), Header: k, Code: invalid},
		{Name: "checkout no area", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.Address.Area = "" }), Header: k, Code: invalid},
		{Name: "checkout area with space", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.Address.Area = "jak arta" }), Header: k, Code: invalid},
		{Name: "checkout no courier", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.Courier = "" }), Header: k, Code: invalid},
		{Name: "checkout courier with slash", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.Courier = "jne/x" }), Header: k, Code: invalid},
		{Name: "checkout no payment method", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.PaymentMethod = "" }), Header: k, Code: invalid},
		{Name: "checkout unknown payment method", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.PaymentMethod = "bitcoin" }), Header: k, Code: invalid},
		{Name: "checkout payment method in capitals", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.PaymentMethod = "WALLET" }), Header: k, Code: invalid},
		// POST /checkout: the storefront's refusals.
		{Name: "checkout restricted account", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.UserStatus = mockstore.StatusRestricted }), Header: k, Code: mockstore.CodeAccountRestricted},
		{Name: "checkout empty cart", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.UserID, r.Owner = "u00002", "u:u00002" }), Header: k, Code: mockstore.CodeCartEmpty},
		{Name: "checkout by card", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.PaymentMethod = mockstore.PaymentCard }), Header: k, Code: mockstore.CodePaymentUnsupported},
		{Name: "checkout cash on delivery", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.PaymentMethod = mockstore.PaymentCOD }), Header: k, Code: mockstore.CodePaymentUnsupported},
		{Name: "checkout paylater", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.PaymentMethod = mockstore.PaymentPaylater }), Header: k, Code: mockstore.CodePaymentUnsupported},
		{Name: "checkout unknown courier", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.Courier = "dhl" }), Header: k, Code: mockstore.CodeUnknownCourier},
		{Name: "checkout area not served", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.Address.Area = "papua" }), Header: k, Code: mockstore.CodeAddressNotServed},
		{Name: "checkout unknown area", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.Address.Area = "atlantis" }), Header: k, Code: mockstore.CodeAddressNotServed},
		{Name: "checkout over weight", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.UserID, r.Owner = "u00003", "u:u00003" }), Header: k, Code: mockstore.CodeOverWeight},
		{Name: "checkout over size", Method: "POST", Path: "/checkout", Body: co(func(r *CheckoutRequest) { r.UserID, r.Owner = "u00004", "u:u00004" }), Header: k, Code: mockstore.CodeOverSize},

		// GET /orders/{id}?user_id=.
		{Name: "order without user", Method: "GET", Path: "/orders/" + paid.OrderID, Code: invalid},
		{Name: "order with empty user", Method: "GET", Path: "/orders/" + paid.OrderID + "?user_id=", Code: invalid},
		{Name: "order user with space", Method: "GET", Path: "/orders/" + paid.OrderID + "?user_id=u%2000001", Code: invalid},
		{Name: "order id with space", Method: "GET", Path: "/orders/o%201?user_id=u00001", Code: invalid},
		{Name: "order id too long", Method: "GET", Path: "/orders/" + long + "?user_id=u00001", Code: invalid},
		{Name: "order id not ASCII", Method: "GET", Path: "/orders/o%C3%A9?user_id=u00001", Code: invalid},
		{Name: "order unknown", Method: "GET", Path: "/orders/o_nope?user_id=u00001", Code: notFound},
		{Name: "order of another user", Method: "GET", Path: "/orders/" + paid.OrderID + "?user_id=u00002", Code: notFound},

		// POST /orders/{id}/refund.
		{Name: "refund id with space", Method: "POST", Path: "/orders/o%201/refund", Code: invalid},
		{Name: "refund id too long", Method: "POST", Path: "/orders/" + long + "/refund", Code: invalid},
		{Name: "refund unknown order", Method: "POST", Path: "/orders/o_nope/refund", Code: notFound},
		{Name: "refund unknown order with a body", Method: "POST", Path: "/orders/o_nope/refund", Body: `{"amount":-1}`, Code: notFound},

		// Wrong methods and unknown paths.
		{Name: "put products", Method: "PUT", Path: "/products", Body: `[]`, Code: mockstore.CodeMethodNotAllowed},
		{Name: "post a cart", Method: "POST", Path: "/carts/u:u00001", Body: item(`"p001"`, "1"), Code: mockstore.CodeMethodNotAllowed},
		{Name: "get cart items", Method: "GET", Path: "/carts/u:u00001/items", Code: mockstore.CodeMethodNotAllowed},
		{Name: "put a cart item", Method: "PUT", Path: "/carts/u:u00001/items/p001", Body: `{"qty":5}`, Code: mockstore.CodeMethodNotAllowed},
		{Name: "get checkout", Method: "GET", Path: "/checkout", Code: mockstore.CodeMethodNotAllowed},
		{Name: "delete an order", Method: "DELETE", Path: "/orders/" + paid.OrderID, Code: mockstore.CodeMethodNotAllowed},
		{Name: "get a refund", Method: "GET", Path: "/orders/" + paid.OrderID + "/refund", Code: mockstore.CodeMethodNotAllowed},
		{Name: "post healthz", Method: "POST", Path: "/healthz", Code: mockstore.CodeMethodNotAllowed},
		{Name: "carts collection", Method: "GET", Path: "/carts", Code: notFound},
		{Name: "cart without owner", Method: "GET", Path: "/carts/", Code: notFound},
		{Name: "deeper cart item path", Method: "DELETE", Path: "/carts/u:u00001/items/p001/1", Code: notFound},
		{Name: "orders collection", Method: "GET", Path: "/orders?user_id=u00001", Code: notFound},
		{Name: "unknown path", Method: "POST", Path: "/orders", Body: co(nil), Header: k, Code: notFound},
		{Name: "audit not on the API", Method: "GET", Path: "/audit/orders", Code: notFound},

		// The audit handler.
		{Name: "audit wrong method", Method: "POST", Path: "/audit/orders", Body: `{}`, Audit: true, Code: mockstore.CodeMethodNotAllowed},
		{Name: "audit unknown path", Method: "GET", Path: "/audit/nope", Audit: true, Code: notFound},
		{Name: "API not on the audit", Method: "POST", Path: "/checkout", Body: co(nil), Header: k, Audit: true, Code: notFound},
	}
	badinput.Run(t, badinput.Target{API: e.url, Audit: e.auditURL, State: e.state}, cases)
	// The cart the cases aimed at can still be bought, under the key they
	// spoiled.
	o, err := e.client.Checkout(ctx, "k-new", CheckoutRequest{UserID: "u00001", UserStatus: mockstore.StatusActive, Owner: "u:u00001",
		Address: mockstore.Address{Line: "Jl. Sudirman 1", Area: "jakarta"}, Courier: "jne", PaymentMethod: mockstore.PaymentWallet})
	if err != nil || o.Status != mockstore.OrderPaid {
		t.Errorf("checkout after bad input = %+v, %v; want paid", o, err)
	}
}

// state returns checkout's audit and tables and the wallet's audit, in a
// form that compares with ==.
func (e *env) state(tb testing.TB) string {
	tb.Helper()
	totals, err := wallet.ReadTotals(context.Background(), nil, e.wallet.auditURL)
	if err != nil {
		tb.Fatalf("read wallet totals: %v", err)
	}
	charges, err := wallet.ReadCharges(context.Background(), nil, e.wallet.auditURL)
	if err != nil {
		tb.Fatalf("read wallet charges: %v", err)
	}
	return fmt.Sprintf("orders %+v; %s; wallet %+v %+v", e.orders(tb), badinput.Tables(tb, e.svc.db.DB), totals, charges)
}
