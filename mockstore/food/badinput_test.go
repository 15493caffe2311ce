package food

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/badinput"
)

// TestBadInputEveryRoute sends bad input to every route of the API and of
// the audit handler: each is refused with its specific code and status in
// the one envelope, never a 5xx, and neither the audit nor any table moves.
func TestBadInputEveryRoute(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()

	// An order left placed, one taken by e.driver with a message on it.
	placed := e.place(t, "k-placed", e.order(e.shopper))
	taken := e.place(t, "k-taken", e.order(e.shopper))
	if _, err := e.c.Accept(ctx, e.rest.Owner, taken.OrderID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Take(ctx, e.driver, taken.OrderID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Post(ctx, "m-1", e.shopper, taken.OrderID, "hello"); err != nil {
		t.Fatal(err)
	}

	key := func(k string) map[string]string { return map[string]string{IdempotencyHeader: k} }
	k := key("k-new")
	invalid, notFound, forbidden := mockstore.CodeInvalidRequest, mockstore.CodeNotFound, mockstore.CodeForbidden
	long := strings.Repeat("a", maxIDLen+1)
	r1, m1, m2 := e.rest.ID, e.rest.Menu[0].ID, e.rest.Menu[1].ID
	// place is a valid order body of the shopper, changed by edit.
	place := func(edit func(p *PlaceRequest)) string {
		p := e.order(e.shopper)
		if edit != nil {
			edit(&p)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("encode order: %v", err)
		}
		return string(b)
	}
	valid := place(nil)
	item := func(id string, qty int) Item { return Item{ItemID: id, Qty: qty} }
	raw := func(items string) string {
		return `{"user_id":"` + e.shopper + `","restaurant_id":"` + r1 + `","items":` + items + `}`
	}
	manyItems := make([]Item, MaxItems+1)
	for i := range manyItems {
		manyItems[i] = item(fmt.Sprintf("m%d", i+1), 1)
	}
	as := func(who string) string { return `{"as":"` + who + `"}` }
	msg := func(who, text string) string {
		b, _ := json.Marshal(postRequest{As: who, Text: text})
		return string(b)
	}
	ord := func(id, suffix string) string { return "/orders/" + id + suffix }
	tk, pl := taken.OrderID, placed.OrderID
	sh := e.shopper

	cases := []badinput.Case{
		// POST /orders: the Idempotency-Key.
		{Name: "place without key", Method: "POST", Path: "/orders", Body: valid, Code: mockstore.CodeIdempotencyKey},
		{Name: "place empty key", Method: "POST", Path: "/orders", Body: valid, Header: key(""), Code: mockstore.CodeIdempotencyKey},
		{Name: "place blank key", Method: "POST", Path: "/orders", Body: valid, Header: key("   "), Code: mockstore.CodeIdempotencyKey},
		{Name: "place key too long", Method: "POST", Path: "/orders", Body: valid, Header: key(strings.Repeat("k", maxKeyLen+1)), Code: invalid},
		{Name: "place key with space", Method: "POST", Path: "/orders", Body: valid, Header: key("k new"), Code: invalid},
		{Name: "place key with tab", Method: "POST", Path: "/orders", Body: valid, Header: key("k\tnew"), Code: invalid},
		{Name: "place key not ASCII", Method: "POST", Path: "/orders", Body: valid, Header: key("k\xc3\xbc"), Code: invalid},
		{Name: "place key reused for another order", Method: "POST", Path: "/orders",
			Body: place(func(p *PlaceRequest) { p.Items[0].Qty = 5 }), Header: key("k-placed"), Code: mockstore.CodeIdempotencyConflict},
		// POST /orders: the body's shape.
		{Name: "place malformed JSON", Method: "POST", Path: "/orders", Body: `{"user_id":`, Header: k, Code: invalid},
		{Name: "place not JSON", Method: "POST", Path: "/orders", Body: `user_id=u1`, Header: k, Code: invalid},
		{Name: "place JSON array", Method: "POST", Path: "/orders", Body: `[` + valid + `]`, Header: k, Code: invalid},
		{Name: "place JSON null", Method: "POST", Path: "/orders", Body: `null`, Header: k, Code: invalid},
		{Name: "place empty body", Method: "POST", Path: "/orders", Body: ``, Header: k, Code: invalid},
		{Name: "place unknown field", Method: "POST", Path: "/orders", Body: strings.TrimSuffix(valid, "}") + `,"amount":1}`, Header: k, Code: invalid},
		{Name: "place item unknown field", Method: "POST", Path: "/orders", Body: raw(`[{"item_id":"m1","qty":1,"price":1}]`), Header: k, Code: invalid},
		{Name: "place trailing object", Method: "POST", Path: "/orders", Body: valid + `{}`, Header: k, Code: invalid},
		{Name: "place trailing bracket", Method: "POST", Path: "/orders", Body: valid + `]`, Header: k, Code: invalid},
		{Name: "place body over the limit", Method: "POST", Path: "/orders",
			Body: place(func(p *PlaceRequest) { p.UserID = strings.Repeat("u", mockstore.MaxBody) }), Header: k, Code: mockstore.CodeBodyTooLarge},
		{Name: "place user as number", Method: "POST", Path: "/orders", Body: strings.Replace(valid, `"`+sh+`"`, `1`, 1), Header: k, Code: invalid},
		{Name: "place items as object", Method: "POST", Path: "/orders", Body: raw(`{"item_id":"m1","qty":1}`), Header: k, Code: invalid},
		{Name: "place qty as string", Method: "POST", Path: "/orders", Body: raw(`[{"item_id":"m1","qty":"1"}]`), Header: k, Code: invalid},
		{Name: "place qty fraction", Method: "POST", Path: "/orders", Body: raw(`[{"item_id":"m1","qty":1.5}]`), Header: k, Code: invalid},
		{Name: "place qty null", Method: "POST", Path: "/orders", Body: raw(`[{"item_id":"m1","qty":null}]`), Header: k, Code: invalid},
		{Name: "place qty 1e30", Method: "POST", Path: "/orders", Body: raw(`[{"item_id":"m1","qty":1e30}]`), Header: k, Code: invalid},
		{Name: "place qty beyond int64", Method: "POST", Path: "/orders", Body: raw(`[{"item_id":"m1","qty":9223372036854775808}]`), Header: k, Code: invalid},
		{Name: "place item null", Method: "POST", Path: "/orders", Body: raw(`[null]`), Header: k, Code: invalid},
		// POST /orders: fields out of range.
		{Name: "place no user", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.UserID = "" }), Header: k, Code: invalid},
		{Name: "place user with space", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.UserID = "u 1" }), Header: k, Code: invalid},
		{Name: "place user too long", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.UserID = long }), Header: k, Code: invalid},
		{Name: "place user with control", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.UserID = "u\x001" }), Header: k, Code: invalid},
		{Name: "place no restaurant", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.RestaurantID = "" }), Header: k, Code: invalid},
		{Name: "place restaurant with slash", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.RestaurantID = "r01/x" }), Header: k, Code: invalid},
		{Name: "place unknown restaurant", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.RestaurantID = "r99" }), Header: k, Code: notFound},
		{Name: "place no items", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.Items = nil }), Header: k, Code: invalid},
		{Name: "place empty items", Method: "POST", Path: "/orders", Body: raw(`[]`), Header: k, Code: invalid},
		{Name: "place over MaxItems", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.Items = manyItems }), Header: k, Code: invalid},
		{Name: "place item without id", Method: "POST", Path: "/orders", Body: raw(`[{"qty":1}]`), Header: k, Code: invalid},
		{Name: "place item id with space", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.Items[0].ItemID = "m 1" }), Header: k, Code: invalid},
		{Name: "place item id too long", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.Items[0].ItemID = long }), Header: k, Code: invalid},
		{Name: "place qty zero", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.Items[0].Qty = 0 }), Header: k, Code: invalid},
		{Name: "place qty missing", Method: "POST", Path: "/orders", Body: raw(`[{"item_id":"m1"}]`), Header: k, Code: invalid},
		{Name: "place qty negative", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.Items[0].Qty = -1 }), Header: k, Code: invalid},
		{Name: "place qty over MaxQty", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.Items[0].Qty = MaxQty + 1 }), Header: k, Code: invalid},
		{Name: "place dish twice", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.Items = []Item{item(m1, 1), item(m2, 1), item(m1, 2)} }), Header: k, Code: invalid},
		{Name: "place dish not on the menu", Method: "POST", Path: "/orders", Body: place(func(p *PlaceRequest) { p.Items[1].ItemID = "m9" }), Header: k, Code: invalid},

		// GET /orders/{id}.
		{Name: "order without as", Method: "GET", Path: ord(pl, ""), Code: invalid},
		{Name: "order with empty as", Method: "GET", Path: ord(pl, "?as="), Code: invalid},
		{Name: "order as with space", Method: "GET", Path: ord(pl, "?as=u%201"), Code: invalid},
		{Name: "order as too long", Method: "GET", Path: ord(pl, "?as="+long), Code: invalid},
		{Name: "order id with space", Method: "GET", Path: ord("f%201", "?as="+sh), Code: invalid},
		{Name: "order id too long", Method: "GET", Path: ord(long, "?as="+sh), Code: invalid},
		{Name: "order id not ASCII", Method: "GET", Path: ord("f%C3%A9", "?as="+sh), Code: invalid},
		{Name: "order unknown", Method: "GET", Path: ord("fnope", "?as="+sh), Code: notFound},
		{Name: "order of another shopper", Method: "GET", Path: ord(pl, "?as="+e.other), Code: notFound},

		// GET /restaurants/{rid}/orders.
		{Name: "queue without as", Method: "GET", Path: "/restaurants/" + r1 + "/orders", Code: invalid},
		{Name: "queue as with space", Method: "GET", Path: "/restaurants/" + r1 + "/orders?as=a%20b", Code: invalid},
		{Name: "queue restaurant with space", Method: "GET", Path: "/restaurants/r%2001/orders?as=" + e.rest.Owner, Code: invalid},
		{Name: "queue restaurant too long", Method: "GET", Path: "/restaurants/" + long + "/orders?as=" + e.rest.Owner, Code: invalid},
		{Name: "queue unknown restaurant", Method: "GET", Path: "/restaurants/r99/orders?as=" + e.rest.Owner, Code: notFound},
		{Name: "queue of another's restaurant", Method: "GET", Path: "/restaurants/" + r1 + "/orders?as=" + e.rest2.Owner, Code: forbidden},

		// POST /orders/{id}/accept.
		{Name: "accept malformed JSON", Method: "POST", Path: ord(pl, "/accept"), Body: `{"as":`, Code: invalid},
		{Name: "accept empty body", Method: "POST", Path: ord(pl, "/accept"), Body: ``, Code: invalid},
		{Name: "accept JSON array", Method: "POST", Path: ord(pl, "/accept"), Body: `["` + e.rest.Owner + `"]`, Code: invalid},
		{Name: "accept unknown field", Method: "POST", Path: ord(pl, "/accept"), Body: `{"as":"` + e.rest.Owner + `","status":"accepted"}`, Code: invalid},
		{Name: "accept trailing data", Method: "POST", Path: ord(pl, "/accept"), Body: as(e.rest.Owner) + `{}`, Code: invalid},
		{Name: "accept without as", Method: "POST", Path: ord(pl, "/accept"), Body: `{}`, Code: invalid},
		{Name: "accept as number", Method: "POST", Path: ord(pl, "/accept"), Body: `{"as":1}`, Code: invalid},
		{Name: "accept as with space", Method: "POST", Path: ord(pl, "/accept"), Body: as("u 1"), Code: invalid},
		{Name: "accept as in the query only", Method: "POST", Path: ord(pl, "/accept?as="+e.rest.Owner), Body: `{}`, Code: invalid},
		{Name: "accept id with space", Method: "POST", Path: ord("f%201", "/accept"), Body: as(e.rest.Owner), Code: invalid},
		{Name: "accept unknown order", Method: "POST", Path: ord("fnope", "/accept"), Body: as(e.rest.Owner), Code: notFound},
		{Name: "accept by the shopper", Method: "POST", Path: ord(pl, "/accept"), Body: as(sh), Code: forbidden},
		{Name: "accept by another merchant", Method: "POST", Path: ord(pl, "/accept"), Body: as(e.rest2.Owner), Code: forbidden},

		// GET /offers.
		{Name: "offers without as", Method: "GET", Path: "/offers", Code: invalid},
		{Name: "offers as not ASCII", Method: "GET", Path: "/offers?as=%C3%BC", Code: invalid},
		{Name: "offers to a shopper", Method: "GET", Path: "/offers?as=" + sh, Code: forbidden},

		// POST /orders/{id}/take.
		{Name: "take malformed JSON", Method: "POST", Path: ord(tk, "/take"), Body: `{`, Code: invalid},
		{Name: "take null", Method: "POST", Path: ord(tk, "/take"), Body: `null`, Code: invalid},
		{Name: "take unknown field", Method: "POST", Path: ord(tk, "/take"), Body: `{"as":"` + e.driver2 + `","driver_id":"x"}`, Code: invalid},
		{Name: "take without as", Method: "POST", Path: ord(tk, "/take"), Body: `{}`, Code: invalid},
		{Name: "take id too long", Method: "POST", Path: ord(long, "/take"), Body: as(e.driver2), Code: invalid},
		{Name: "take by a shopper", Method: "POST", Path: ord(tk, "/take"), Body: as(sh), Code: forbidden},
		{Name: "take by the merchant", Method: "POST", Path: ord(pl, "/take"), Body: as(e.rest.Owner), Code: forbidden},
		{Name: "take unknown order", Method: "POST", Path: ord("fnope", "/take"), Body: as(e.driver2), Code: notFound},
		{Name: "take before acceptance", Method: "POST", Path: ord(pl, "/take"), Body: as(e.driver2), Code: mockstore.CodeConflict},
		{Name: "take from another driver", Method: "POST", Path: ord(tk, "/take"), Body: as(e.driver2), Code: mockstore.CodeConflict},

		// POST /orders/{id}/messages.
		{Name: "post without key", Method: "POST", Path: ord(tk, "/messages"), Body: msg(sh, "hi"), Code: mockstore.CodeIdempotencyKey},
		{Name: "post key with space", Method: "POST", Path: ord(tk, "/messages"), Body: msg(sh, "hi"), Header: key("m 2"), Code: invalid},
		{Name: "post key too long", Method: "POST", Path: ord(tk, "/messages"), Body: msg(sh, "hi"), Header: key(strings.Repeat("m", maxKeyLen+1)), Code: invalid},
		{Name: "post key reused for another text", Method: "POST", Path: ord(tk, "/messages"), Body: msg(sh, "bye"), Header: key("m-1"), Code: mockstore.CodeIdempotencyConflict},
		{Name: "post malformed JSON", Method: "POST", Path: ord(tk, "/messages"), Body: `{"as":"` + sh + `","text":`, Header: k, Code: invalid},
		{Name: "post unknown field", Method: "POST", Path: ord(tk, "/messages"), Body: `{"as":"` + sh + `","text":"hi","from":"x"}`, Header: k, Code: invalid},
		{Name: "post text as number", Method: "POST", Path: ord(tk, "/messages"), Body: `{"as":"` + sh + `","text":1}`, Header: k, Code: invalid},
		{Name: "post body over the limit", Method: "POST", Path: ord(tk, "/messages"), Body: msg(sh, strings.Repeat("x", mockstore.MaxBody)), Header: k, Code: mockstore.CodeBodyTooLarge},
		{Name: "post without as", Method: "POST", Path: ord(tk, "/messages"), Body: `{"text":"hi"}`, Header: k, Code: invalid},
		{Name: "post as with slash", Method: "POST", Path: ord(tk, "/messages"), Body: msg("u/1", "hi"), Header: k, Code: invalid},
		{Name: "post without text", Method: "POST", Path: ord(tk, "/messages"), Body: as(sh), Header: k, Code: invalid},
		{Name: "post blank text", Method: "POST", Path: ord(tk, "/messages"), Body: msg(sh, "  \u3000 "), Header: k, Code: invalid},
		{Name: "post text over MaxText", Method: "POST", Path: ord(tk, "/messages"), Body: msg(sh, strings.Repeat("é", MaxText+1)), Header: k, Code: invalid},
		{Name: "post text with newline", Method: "POST", Path: ord(tk, "/messages"), Body: msg(sh, "hi\nthere"), Header: k, Code: invalid},
		{Name: "post text with NUL", Method: "POST", Path: ord(tk, "/messages"), Body: msg(sh, "hi\x00"), Header: k, Code: invalid},
		{Name: "post text with DEL", Method: "POST", Path: ord(tk, "/messages"), Body: msg(sh, "hi\x7f"), Header: k, Code: invalid},
		{Name: "post text with C1 control", Method: "POST", Path: ord(tk, "/messages"), Body: msg(sh, "hi\u0085"), Header: k, Code: invalid},
		{Name: "post id with space", Method: "POST", Path: ord("f%201", "/messages"), Body: msg(sh, "hi"), Header: k, Code: invalid},
		{Name: "post on an unknown order", Method: "POST", Path: ord("fnope", "/messages"), Body: msg(sh, "hi"), Header: k, Code: notFound},
		{Name: "post by a stranger", Method: "POST", Path: ord(tk, "/messages"), Body: msg(e.other, "hi"), Header: k, Code: notFound},
		{Name: "post by another driver", Method: "POST", Path: ord(tk, "/messages"), Body: msg(e.driver2, "hi"), Header: k, Code: notFound},

		// GET /orders/{id}/messages.
		{Name: "messages without as", Method: "GET", Path: ord(tk, "/messages"), Code: invalid},
		{Name: "messages id not ASCII", Method: "GET", Path: ord("f%FF", "/messages?as="+sh), Code: invalid},
		{Name: "messages of an unknown order", Method: "GET", Path: ord("fnope", "/messages?as="+sh), Code: notFound},
		{Name: "messages for a stranger", Method: "GET", Path: ord(tk, "/messages?as="+e.other), Code: notFound},

		// Wrong methods and unknown paths.
		{Name: "put restaurants", Method: "PUT", Path: "/restaurants", Body: `[]`, Code: mockstore.CodeMethodNotAllowed},
		{Name: "post a queue", Method: "POST", Path: "/restaurants/" + r1 + "/orders", Body: valid, Header: k, Code: mockstore.CodeMethodNotAllowed},
		{Name: "get the orders collection", Method: "GET", Path: "/orders?as=" + sh, Code: mockstore.CodeMethodNotAllowed},
		{Name: "delete an order", Method: "DELETE", Path: ord(pl, "?as="+sh), Code: mockstore.CodeMethodNotAllowed},
		{Name: "patch an order", Method: "PATCH", Path: ord(pl, ""), Body: `{"status":"assigned"}`, Code: mockstore.CodeMethodNotAllowed},
		{Name: "get accept", Method: "GET", Path: ord(pl, "/accept"), Code: mockstore.CodeMethodNotAllowed},
		{Name: "put take", Method: "PUT", Path: ord(tk, "/take"), Body: as(e.driver2), Code: mockstore.CodeMethodNotAllowed},
		{Name: "post offers", Method: "POST", Path: "/offers", Body: as(e.driver), Code: mockstore.CodeMethodNotAllowed},
		{Name: "delete messages", Method: "DELETE", Path: ord(tk, "/messages?as="+sh), Code: mockstore.CodeMethodNotAllowed},
		{Name: "post healthz", Method: "POST", Path: "/healthz", Code: mockstore.CodeMethodNotAllowed},
		{Name: "order without id", Method: "GET", Path: "/orders/?as=" + sh, Code: notFound},
		{Name: "deeper order path", Method: "POST", Path: ord(pl, "/accept/now"), Body: as(e.rest.Owner), Code: notFound},
		{Name: "reject is no route", Method: "POST", Path: ord(pl, "/reject"), Body: as(e.rest.Owner), Code: notFound},
		{Name: "restaurant by id is no route", Method: "GET", Path: "/restaurants/" + r1, Code: notFound},
		{Name: "unknown path", Method: "GET", Path: "/nope", Code: notFound},
		{Name: "audit not on the API", Method: "GET", Path: "/audit/food", Code: notFound},

		// The audit handler.
		{Name: "audit wrong method", Method: "POST", Path: "/audit/food", Body: `{}`, Audit: true, Code: mockstore.CodeMethodNotAllowed},
		{Name: "audit unknown path", Method: "GET", Path: "/audit/nope", Audit: true, Code: notFound},
		{Name: "API not on the audit", Method: "POST", Path: "/orders", Body: valid, Header: k, Audit: true, Code: notFound},
	}
	badinput.Run(t, badinput.Target{API: e.api.URL, Audit: e.auditS.URL, State: e.state}, cases)

	// What the cases aimed at still works, under the keys they spoiled.
	if o, err := e.c.Place(ctx, "k-new", e.order(e.shopper)); err != nil || o.Replayed || o.Status != mockstore.FoodPlaced {
		t.Errorf("Place after bad input = %+v, %v; want a new order", o, err)
	}
	if m, err := e.c.Post(ctx, "k-new", e.shopper, tk, "still here"); err != nil || m.Replayed {
		t.Errorf("Post after bad input = %+v, %v; want a new message", m, err)
	}
	if o, err := e.c.Accept(ctx, e.rest.Owner, pl); err != nil || o.Status != mockstore.FoodAccepted {
		t.Errorf("Accept after bad input = %+v, %v", o, err)
	}
}

// state returns the audit and every row of every table, in a form that
// compares with ==.
func (e *env) state(tb testing.TB) string {
	tb.Helper()
	return fmt.Sprintf("audit %+v; %s", e.readAudit(tb), badinput.Tables(tb, e.svc.db.DB))
}
