package food

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gameday/gameday/mockstore"
)

// refusal is one request the service must refuse with code, storing
// nothing. audit sends it to the audit handler instead of the API.
type refusal struct {
	name, method, path, body string
	key                      *string // the Idempotency-Key header, when sent
	audit                    bool
	code                     mockstore.Code
}

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

	key := func(k string) *string { return &k }
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

	cases := []refusal{
		// POST /orders: the Idempotency-Key.
		{name: "place without key", method: "POST", path: "/orders", body: valid, code: mockstore.CodeIdempotencyKey},
		{name: "place empty key", method: "POST", path: "/orders", body: valid, key: key(""), code: mockstore.CodeIdempotencyKey},
		{name: "place blank key", method: "POST", path: "/orders", body: valid, key: key("   "), code: mockstore.CodeIdempotencyKey},
		{name: "place key too long", method: "POST", path: "/orders", body: valid, key: key(strings.Repeat("k", maxKeyLen+1)), code: invalid},
		{name: "place key with space", method: "POST", path: "/orders", body: valid, key: key("k new"), code: invalid},
		{name: "place key with tab", method: "POST", path: "/orders", body: valid, key: key("k\tnew"), code: invalid},
		{name: "place key not ASCII", method: "POST", path: "/orders", body: valid, key: key("k\xc3\xbc"), code: invalid},
		{name: "place key reused for another order", method: "POST", path: "/orders",
			body: place(func(p *PlaceRequest) { p.Items[0].Qty = 5 }), key: key("k-placed"), code: mockstore.CodeIdempotencyConflict},
		// POST /orders: the body's shape.
		{name: "place malformed JSON", method: "POST", path: "/orders", body: `{"user_id":`, key: k, code: invalid},
		{name: "place not JSON", method: "POST", path: "/orders", body: `user_id=u1`, key: k, code: invalid},
		{name: "place JSON array", method: "POST", path: "/orders", body: `[` + valid + `]`, key: k, code: invalid},
		{name: "place JSON null", method: "POST", path: "/orders", body: `null`, key: k, code: invalid},
		{name: "place empty body", method: "POST", path: "/orders", body: ``, key: k, code: invalid},
		{name: "place unknown field", method: "POST", path: "/orders", body: strings.TrimSuffix(valid, "}") + `,"amount":1}`, key: k, code: invalid},
		{name: "place item unknown field", method: "POST", path: "/orders", body: raw(`[{"item_id":"m1","qty":1,"price":1}]`), key: k, code: invalid},
		{name: "place trailing object", method: "POST", path: "/orders", body: valid + `{}`, key: k, code: invalid},
		{name: "place trailing bracket", method: "POST", path: "/orders", body: valid + `]`, key: k, code: invalid},
		{name: "place body over the limit", method: "POST", path: "/orders",
			body: place(func(p *PlaceRequest) { p.UserID = strings.Repeat("u", mockstore.MaxBody) }), key: k, code: mockstore.CodeBodyTooLarge},
		{name: "place user as number", method: "POST", path: "/orders", body: strings.Replace(valid, `"`+sh+`"`, `1`, 1), key: k, code: invalid},
		{name: "place items as object", method: "POST", path: "/orders", body: raw(`{"item_id":"m1","qty":1}`), key: k, code: invalid},
		{name: "place qty as string", method: "POST", path: "/orders", body: raw(`[{"item_id":"m1","qty":"1"}]`), key: k, code: invalid},
		{name: "place qty fraction", method: "POST", path: "/orders", body: raw(`[{"item_id":"m1","qty":1.5}]`), key: k, code: invalid},
		{name: "place qty null", method: "POST", path: "/orders", body: raw(`[{"item_id":"m1","qty":null}]`), key: k, code: invalid},
		{name: "place qty 1e30", method: "POST", path: "/orders", body: raw(`[{"item_id":"m1","qty":1e30}]`), key: k, code: invalid},
		{name: "place qty beyond int64", method: "POST", path: "/orders", body: raw(`[{"item_id":"m1","qty":9223372036854775808}]`), key: k, code: invalid},
		{name: "place item null", method: "POST", path: "/orders", body: raw(`[null]`), key: k, code: invalid},
		// POST /orders: fields out of range.
		{name: "place no user", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.UserID = "" }), key: k, code: invalid},
		{name: "place user with space", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.UserID = "u 1" }), key: k, code: invalid},
		{name: "place user too long", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.UserID = long }), key: k, code: invalid},
		{name: "place user with control", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.UserID = "u\x001" }), key: k, code: invalid},
		{name: "place no restaurant", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.RestaurantID = "" }), key: k, code: invalid},
		{name: "place restaurant with slash", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.RestaurantID = "r01/x" }), key: k, code: invalid},
		{name: "place unknown restaurant", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.RestaurantID = "r99" }), key: k, code: notFound},
		{name: "place no items", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.Items = nil }), key: k, code: invalid},
		{name: "place empty items", method: "POST", path: "/orders", body: raw(`[]`), key: k, code: invalid},
		{name: "place over MaxItems", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.Items = manyItems }), key: k, code: invalid},
		{name: "place item without id", method: "POST", path: "/orders", body: raw(`[{"qty":1}]`), key: k, code: invalid},
		{name: "place item id with space", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.Items[0].ItemID = "m 1" }), key: k, code: invalid},
		{name: "place item id too long", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.Items[0].ItemID = long }), key: k, code: invalid},
		{name: "place qty zero", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.Items[0].Qty = 0 }), key: k, code: invalid},
		{name: "place qty missing", method: "POST", path: "/orders", body: raw(`[{"item_id":"m1"}]`), key: k, code: invalid},
		{name: "place qty negative", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.Items[0].Qty = -1 }), key: k, code: invalid},
		{name: "place qty over MaxQty", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.Items[0].Qty = MaxQty + 1 }), key: k, code: invalid},
		{name: "place dish twice", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.Items = []Item{item(m1, 1), item(m2, 1), item(m1, 2)} }), key: k, code: invalid},
		{name: "place dish not on the menu", method: "POST", path: "/orders", body: place(func(p *PlaceRequest) { p.Items[1].ItemID = "m9" }), key: k, code: invalid},

		// GET /orders/{id}.
		{name: "order without as", method: "GET", path: ord(pl, ""), code: invalid},
		{name: "order with empty as", method: "GET", path: ord(pl, "?as="), code: invalid},
		{name: "order as with space", method: "GET", path: ord(pl, "?as=u%201"), code: invalid},
		{name: "order as too long", method: "GET", path: ord(pl, "?as="+long), code: invalid},
		{name: "order id with space", method: "GET", path: ord("f%201", "?as="+sh), code: invalid},
		{name: "order id too long", method: "GET", path: ord(long, "?as="+sh), code: invalid},
		{name: "order id not ASCII", method: "GET", path: ord("f%C3%A9", "?as="+sh), code: invalid},
		{name: "order unknown", method: "GET", path: ord("fnope", "?as="+sh), code: notFound},
		{name: "order of another shopper", method: "GET", path: ord(pl, "?as="+e.other), code: notFound},

		// GET /restaurants/{rid}/orders.
		{name: "queue without as", method: "GET", path: "/restaurants/" + r1 + "/orders", code: invalid},
		{name: "queue as with space", method: "GET", path: "/restaurants/" + r1 + "/orders?as=a%20b", code: invalid},
		{name: "queue restaurant with space", method: "GET", path: "/restaurants/r%2001/orders?as=" + e.rest.Owner, code: invalid},
		{name: "queue restaurant too long", method: "GET", path: "/restaurants/" + long + "/orders?as=" + e.rest.Owner, code: invalid},
		{name: "queue unknown restaurant", method: "GET", path: "/restaurants/r99/orders?as=" + e.rest.Owner, code: notFound},
		{name: "queue of another's restaurant", method: "GET", path: "/restaurants/" + r1 + "/orders?as=" + e.rest2.Owner, code: forbidden},

		// POST /orders/{id}/accept.
		{name: "accept malformed JSON", method: "POST", path: ord(pl, "/accept"), body: `{"as":`, code: invalid},
		{name: "accept empty body", method: "POST", path: ord(pl, "/accept"), body: ``, code: invalid},
		{name: "accept JSON array", method: "POST", path: ord(pl, "/accept"), body: `["` + e.rest.Owner + `"]`, code: invalid},
		{name: "accept unknown field", method: "POST", path: ord(pl, "/accept"), body: `{"as":"` + e.rest.Owner + `","status":"accepted"}`, code: invalid},
		{name: "accept trailing data", method: "POST", path: ord(pl, "/accept"), body: as(e.rest.Owner) + `{}`, code: invalid},
		{name: "accept without as", method: "POST", path: ord(pl, "/accept"), body: `{}`, code: invalid},
		{name: "accept as number", method: "POST", path: ord(pl, "/accept"), body: `{"as":1}`, code: invalid},
		{name: "accept as with space", method: "POST", path: ord(pl, "/accept"), body: as("u 1"), code: invalid},
		{name: "accept as in the query only", method: "POST", path: ord(pl, "/accept?as="+e.rest.Owner), body: `{}`, code: invalid},
		{name: "accept id with space", method: "POST", path: ord("f%201", "/accept"), body: as(e.rest.Owner), code: invalid},
		{name: "accept unknown order", method: "POST", path: ord("fnope", "/accept"), body: as(e.rest.Owner), code: notFound},
		{name: "accept by the shopper", method: "POST", path: ord(pl, "/accept"), body: as(sh), code: forbidden},
		{name: "accept by another merchant", method: "POST", path: ord(pl, "/accept"), body: as(e.rest2.Owner), code: forbidden},

		// GET /offers.
		{name: "offers without as", method: "GET", path: "/offers", code: invalid},
		{name: "offers as not ASCII", method: "GET", path: "/offers?as=%C3%BC", code: invalid},
		{name: "offers to a shopper", method: "GET", path: "/offers?as=" + sh, code: forbidden},

		// POST /orders/{id}/take.
		{name: "take malformed JSON", method: "POST", path: ord(tk, "/take"), body: `{`, code: invalid},
		{name: "take null", method: "POST", path: ord(tk, "/take"), body: `null`, code: invalid},
		{name: "take unknown field", method: "POST", path: ord(tk, "/take"), body: `{"as":"` + e.driver2 + `","driver_id":"x"}`, code: invalid},
		{name: "take without as", method: "POST", path: ord(tk, "/take"), body: `{}`, code: invalid},
		{name: "take id too long", method: "POST", path: ord(long, "/take"), body: as(e.driver2), code: invalid},
		{name: "take by a shopper", method: "POST", path: ord(tk, "/take"), body: as(sh), code: forbidden},
		{name: "take by the merchant", method: "POST", path: ord(pl, "/take"), body: as(e.rest.Owner), code: forbidden},
		{name: "take unknown order", method: "POST", path: ord("fnope", "/take"), body: as(e.driver2), code: notFound},
		{name: "take before acceptance", method: "POST", path: ord(pl, "/take"), body: as(e.driver2), code: mockstore.CodeConflict},
		{name: "take from another driver", method: "POST", path: ord(tk, "/take"), body: as(e.driver2), code: mockstore.CodeConflict},

		// POST /orders/{id}/messages.
		{name: "post without key", method: "POST", path: ord(tk, "/messages"), body: msg(sh, "hi"), code: mockstore.CodeIdempotencyKey},
		{name: "post key with space", method: "POST", path: ord(tk, "/messages"), body: msg(sh, "hi"), key: key("m 2"), code: invalid},
		{name: "post key too long", method: "POST", path: ord(tk, "/messages"), body: msg(sh, "hi"), key: key(strings.Repeat("m", maxKeyLen+1)), code: invalid},
		{name: "post key reused for another text", method: "POST", path: ord(tk, "/messages"), body: msg(sh, "bye"), key: key("m-1"), code: mockstore.CodeIdempotencyConflict},
		{name: "post malformed JSON", method: "POST", path: ord(tk, "/messages"), body: `{"as":"` + sh + `","text":`, key: k, code: invalid},
		{name: "post unknown field", method: "POST", path: ord(tk, "/messages"), body: `{"as":"` + sh + `","text":"hi","from":"x"}`, key: k, code: invalid},
		{name: "post text as number", method: "POST", path: ord(tk, "/messages"), body: `{"as":"` + sh + `","text":1}`, key: k, code: invalid},
		{name: "post body over the limit", method: "POST", path: ord(tk, "/messages"), body: msg(sh, strings.Repeat("x", mockstore.MaxBody)), key: k, code: mockstore.CodeBodyTooLarge},
		{name: "post without as", method: "POST", path: ord(tk, "/messages"), body: `{"text":"hi"}`, key: k, code: invalid},
		{name: "post as with slash", method: "POST", path: ord(tk, "/messages"), body: msg("u/1", "hi"), key: k, code: invalid},
		{name: "post without text", method: "POST", path: ord(tk, "/messages"), body: as(sh), key: k, code: invalid},
		{name: "post blank text", method: "POST", path: ord(tk, "/messages"), body: msg(sh, "  \u3000 "), key: k, code: invalid},
		{name: "post text over MaxText", method: "POST", path: ord(tk, "/messages"), body: msg(sh, strings.Repeat("é", MaxText+1)), key: k, code: invalid},
		{name: "post text with newline", method: "POST", path: ord(tk, "/messages"), body: msg(sh, "hi\nthere"), key: k, code: invalid},
		{name: "post text with NUL", method: "POST", path: ord(tk, "/messages"), body: msg(sh, "hi\x00"), key: k, code: invalid},
		{name: "post text with DEL", method: "POST", path: ord(tk, "/messages"), body: msg(sh, "hi\x7f"), key: k, code: invalid},
		{name: "post text with C1 control", method: "POST", path: ord(tk, "/messages"), body: msg(sh, "hi\u0085"), key: k, code: invalid},
		{name: "post id with space", method: "POST", path: ord("f%201", "/messages"), body: msg(sh, "hi"), key: k, code: invalid},
		{name: "post on an unknown order", method: "POST", path: ord("fnope", "/messages"), body: msg(sh, "hi"), key: k, code: notFound},
		{name: "post by a stranger", method: "POST", path: ord(tk, "/messages"), body: msg(e.other, "hi"), key: k, code: notFound},
		{name: "post by another driver", method: "POST", path: ord(tk, "/messages"), body: msg(e.driver2, "hi"), key: k, code: notFound},

		// GET /orders/{id}/messages.
		{name: "messages without as", method: "GET", path: ord(tk, "/messages"), code: invalid},
		{name: "messages id not ASCII", method: "GET", path: ord("f%FF", "/messages?as="+sh), code: invalid},
		{name: "messages of an unknown order", method: "GET", path: ord("fnope", "/messages?as="+sh), code: notFound},
		{name: "messages for a stranger", method: "GET", path: ord(tk, "/messages?as="+e.other), code: notFound},

		// Wrong methods and unknown paths.
		{name: "put restaurants", method: "PUT", path: "/restaurants", body: `[]`, code: mockstore.CodeMethodNotAllowed},
		{name: "post a queue", method: "POST", path: "/restaurants/" + r1 + "/orders", body: valid, key: k, code: mockstore.CodeMethodNotAllowed},
		{name: "get the orders collection", method: "GET", path: "/orders?as=" + sh, code: mockstore.CodeMethodNotAllowed},
		{name: "delete an order", method: "DELETE", path: ord(pl, "?as="+sh), code: mockstore.CodeMethodNotAllowed},
		{name: "patch an order", method: "PATCH", path: ord(pl, ""), body: `{"status":"assigned"}`, code: mockstore.CodeMethodNotAllowed},
		{name: "get accept", method: "GET", path: ord(pl, "/accept"), code: mockstore.CodeMethodNotAllowed},
		{name: "put take", method: "PUT", path: ord(tk, "/take"), body: as(e.driver2), code: mockstore.CodeMethodNotAllowed},
		{name: "post offers", method: "POST", path: "/offers", body: as(e.driver), code: mockstore.CodeMethodNotAllowed},
		{name: "delete messages", method: "DELETE", path: ord(tk, "/messages?as="+sh), code: mockstore.CodeMethodNotAllowed},
		{name: "post healthz", method: "POST", path: "/healthz", code: mockstore.CodeMethodNotAllowed},
		{name: "order without id", method: "GET", path: "/orders/?as=" + sh, code: notFound},
		{name: "deeper order path", method: "POST", path: ord(pl, "/accept/now"), body: as(e.rest.Owner), code: notFound},
		{name: "reject is no route", method: "POST", path: ord(pl, "/reject"), body: as(e.rest.Owner), code: notFound},
		{name: "restaurant by id is no route", method: "GET", path: "/restaurants/" + r1, code: notFound},
		{name: "unknown path", method: "GET", path: "/nope", code: notFound},
		{name: "audit not on the API", method: "GET", path: "/audit/food", code: notFound},

		// The audit handler.
		{name: "audit wrong method", method: "POST", path: "/audit/food", body: `{}`, audit: true, code: mockstore.CodeMethodNotAllowed},
		{name: "audit unknown path", method: "GET", path: "/audit/nope", audit: true, code: notFound},
		{name: "API not on the audit", method: "POST", path: "/orders", body: valid, key: k, audit: true, code: notFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.state(t)
			base := e.api.URL
			if tc.audit {
				base = e.auditS.URL
			}
			status, header, body := send(t, tc.method, base+tc.path, tc.body, tc.key)
			wantRefusal(t, status, header, body, tc.code)
			if after := e.state(t); after != before {
				t.Errorf("bad input changed the store:\nbefore %s\nafter  %s", before, after)
			}
		})
	}

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
	return fmt.Sprintf("audit %+v; %s", e.readAudit(tb), dumpTables(tb, e.svc.r))
}

// dumpTables returns every row of every table of db, tables by name, rows
// in stored order.
func dumpTables(tb testing.TB, db *sql.DB) string {
	tb.Helper()
	var tables []string
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		tb.Fatalf("list tables: %v", err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			tb.Fatalf("list tables: %v", err)
		}
		tables = append(tables, name)
	}
	if err := rows.Close(); err != nil {
		tb.Fatalf("list tables: %v", err)
	}
	var b strings.Builder
	for _, table := range tables {
		fmt.Fprintf(&b, "%s:", table)
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			tb.Fatalf("read %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			tb.Fatalf("read %s: %v", table, err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatalf("read %s: %v", table, err)
			}
			fmt.Fprintf(&b, " %v", vals)
		}
		if err := rows.Close(); err != nil {
			tb.Fatalf("read %s: %v", table, err)
		}
		b.WriteString(";")
	}
	return b.String()
}

// send sends body (none when empty) as it is, with the Idempotency-Key when
// key is not nil, and returns the answer.
func send(tb testing.TB, method, url, body string, key *string) (int, http.Header, []byte) {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatalf("new request: %v", err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != nil {
		req.Header.Set(IdempotencyHeader, *key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read answer: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, b
}

// wantRefusal fails unless the answer has code's status and a body that is
// exactly the envelope {"error": {"code", "message"}} with code and a
// message.
func wantRefusal(tb testing.TB, status int, header http.Header, body []byte, code mockstore.Code) {
	tb.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil || len(env) != 1 || env["error"] == nil {
		tb.Fatalf("status %d: body is not the error envelope: %q", status, body)
	}
	var e map[string]any
	if err := json.Unmarshal(env["error"], &e); err != nil {
		tb.Fatalf("status %d: error is not an object: %q", status, body)
	}
	got, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	if got != string(code) || status != code.Status() {
		tb.Fatalf("got %d %s (%s), want %d %s", status, got, msg, code.Status(), code)
	}
	if msg == "" {
		tb.Errorf("%s without a message: %s", code, body)
	}
	for k := range e {
		if k != "code" && k != "message" {
			tb.Errorf("refusal carries %q: %s", k, body)
		}
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		tb.Errorf("Content-Type %q, want application/json", ct)
	}
}
