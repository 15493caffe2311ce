package food

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gameday/gameday/mockstore"
)

// TestPlaceAcceptTake walks an order through the state machine with the
// roles that may move it, and checks what each party sees at each step.
func TestPlaceAcceptTake(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()

	rs, err := e.c.Restaurants(ctx)
	if err != nil {
		t.Fatalf("Restaurants: %v", err)
	}
	if !reflect.DeepEqual(rs, e.cfg.Dataset.Restaurants) {
		t.Errorf("Restaurants = %+v, want the dataset's %+v", rs, e.cfg.Dataset.Restaurants)
	}

	o := e.place(t, "k1", e.order(e.shopper))
	if o.Status != mockstore.FoodPlaced || o.Amount != e.amount() || o.UserID != e.shopper ||
		o.RestaurantID != e.rest.ID || o.DriverID != "" || o.Replayed || !strings.HasPrefix(o.OrderID, "f") ||
		!reflect.DeepEqual(o.Items, e.order(e.shopper).Items) || o.CreatedAt.IsZero() {
		t.Fatalf("Place = %+v; want placed, amount %d", o, e.amount())
	}

	q, err := e.c.Queue(ctx, e.rest.Owner, e.rest.ID)
	if err != nil || len(q) != 1 || q[0].OrderID != o.OrderID {
		t.Fatalf("Queue = %+v, %v; want the order", q, err)
	}
	if offers, err := e.c.Offers(ctx, e.driver); err != nil || len(offers) != 0 {
		t.Fatalf("Offers before accept = %+v, %v; want none", offers, err)
	}
	_, err = e.c.Take(ctx, e.driver, o.OrderID)
	wantCode(t, err, mockstore.CodeConflict)

	a, err := e.c.Accept(ctx, e.rest.Owner, o.OrderID)
	if err != nil || a.Status != mockstore.FoodAccepted || a.OrderID != o.OrderID {
		t.Fatalf("Accept = %+v, %v; want accepted", a, err)
	}
	if again, err := e.c.Accept(ctx, e.rest.Owner, o.OrderID); err != nil || !reflect.DeepEqual(again, a) {
		t.Fatalf("Accept again = %+v, %v; want %+v unchanged", again, err, a)
	}
	if q, err := e.c.Queue(ctx, e.rest.Owner, e.rest.ID); err != nil || len(q) != 0 {
		t.Fatalf("Queue after accept = %+v, %v; want empty", q, err)
	}
	offers, err := e.c.Offers(ctx, e.driver)
	if err != nil || len(offers) != 1 || offers[0].OrderID != o.OrderID || offers[0].Status != mockstore.FoodAccepted {
		t.Fatalf("Offers = %+v, %v; want the accepted order", offers, err)
	}
	// Not yet a party: the driver does not see the order itself.
	_, err = e.c.Order(ctx, e.driver, o.OrderID)
	wantCode(t, err, mockstore.CodeNotFound)

	tk, err := e.c.Take(ctx, e.driver, o.OrderID)
	if err != nil || tk.Status != mockstore.FoodAssigned || tk.DriverID != e.driver {
		t.Fatalf("Take = %+v, %v; want assigned to %s", tk, err, e.driver)
	}
	if again, err := e.c.Take(ctx, e.driver, o.OrderID); err != nil || !reflect.DeepEqual(again, tk) {
		t.Fatalf("Take again = %+v, %v; want %+v unchanged", again, err, tk)
	}
	if again, err := e.c.Accept(ctx, e.rest.Owner, o.OrderID); err != nil || !reflect.DeepEqual(again, tk) {
		t.Fatalf("Accept of an assigned order = %+v, %v; want %+v unchanged", again, err, tk)
	}
	_, err = e.c.Take(ctx, e.driver2, o.OrderID)
	wantCode(t, err, mockstore.CodeConflict)
	if offers, err := e.c.Offers(ctx, e.driver2); err != nil || len(offers) != 0 {
		t.Fatalf("Offers after take = %+v, %v; want none", offers, err)
	}

	for _, who := range []string{e.shopper, e.rest.Owner, e.driver} {
		got, err := e.c.Order(ctx, who, o.OrderID)
		if err != nil || !reflect.DeepEqual(got, tk) {
			t.Errorf("Order as %s = %+v, %v; want %+v", who, got, err, tk)
		}
	}

	recs := e.readAudit(t).Orders
	if len(recs) != 1 {
		t.Fatalf("audit has %d orders, want 1", len(recs))
	}
	var states []string
	for i, h := range recs[0].History {
		states = append(states, h.State)
		if i > 0 && !h.At.After(recs[0].History[i-1].At) {
			t.Errorf("history %d at %v, not after %v", i, h.At, recs[0].History[i-1].At)
		}
	}
	if want := []string{mockstore.FoodPlaced, mockstore.FoodAccepted, mockstore.FoodAssigned}; !reflect.DeepEqual(states, want) {
		t.Errorf("history %v, want %v", states, want)
	}
	if !recs[0].History[0].At.Equal(o.CreatedAt) {
		t.Errorf("placed at %v, order created at %v", recs[0].History[0].At, o.CreatedAt)
	}
}

// TestPermissions checks who may see and move an order: a stranger to an
// order never learns it exists (not_found); a role the caller lacks is
// forbidden.
func TestPermissions(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	placed := e.place(t, "k-placed", e.order(e.shopper))
	taken := e.place(t, "k-taken", e.order(e.shopper))
	if _, err := e.c.Accept(ctx, e.rest.Owner, taken.OrderID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Take(ctx, e.driver, taken.OrderID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Post(ctx, "m1", e.shopper, taken.OrderID, "hello"); err != nil {
		t.Fatal(err)
	}
	before := e.readAudit(t)

	type call func() error
	get := func(as, id string) call { return func() error { _, err := e.c.Order(ctx, as, id); return err } }
	msgs := func(as, id string) call { return func() error { _, err := e.c.Messages(ctx, as, id); return err } }
	post := func(as, id string) call {
		return func() error { _, err := e.c.Post(ctx, "m-"+as, as, id, "hi"); return err }
	}
	cases := []struct {
		name string
		call call
		code mockstore.Code
	}{
		{"another shopper reads the order", get(e.other, placed.OrderID), mockstore.CodeNotFound},
		{"another merchant reads the order", get(e.rest2.Owner, placed.OrderID), mockstore.CodeNotFound},
		{"a driver reads an order not his", get(e.driver, placed.OrderID), mockstore.CodeNotFound},
		{"another driver reads an assigned order", get(e.driver2, taken.OrderID), mockstore.CodeNotFound},
		{"unknown order", get(e.shopper, "fnope"), mockstore.CodeNotFound},
		{"another shopper reads the chat", msgs(e.other, taken.OrderID), mockstore.CodeNotFound},
		{"another driver reads the chat", msgs(e.driver2, taken.OrderID), mockstore.CodeNotFound},
		{"chat of an unknown order", msgs(e.shopper, "fnope"), mockstore.CodeNotFound},
		{"another shopper posts", post(e.other, taken.OrderID), mockstore.CodeNotFound},
		{"another merchant posts", post(e.rest2.Owner, taken.OrderID), mockstore.CodeNotFound},
		{"a driver posts on an order not his", post(e.driver, placed.OrderID), mockstore.CodeNotFound},
		{"post on an unknown order", post(e.shopper, "fnope"), mockstore.CodeNotFound},
		{"the shopper reads the queue", func() error { _, err := e.c.Queue(ctx, e.shopper, e.rest.ID); return err }, mockstore.CodeForbidden},
		{"another merchant reads the queue", func() error { _, err := e.c.Queue(ctx, e.rest2.Owner, e.rest.ID); return err }, mockstore.CodeForbidden},
		{"queue of an unknown restaurant", func() error { _, err := e.c.Queue(ctx, e.rest.Owner, "r99"); return err }, mockstore.CodeNotFound},
		{"the shopper accepts", func() error { _, err := e.c.Accept(ctx, e.shopper, placed.OrderID); return err }, mockstore.CodeForbidden},
		{"another merchant accepts", func() error { _, err := e.c.Accept(ctx, e.rest2.Owner, placed.OrderID); return err }, mockstore.CodeForbidden},
		{"a driver accepts", func() error { _, err := e.c.Accept(ctx, e.driver, placed.OrderID); return err }, mockstore.CodeForbidden},
		{"accept an unknown order", func() error { _, err := e.c.Accept(ctx, e.rest.Owner, "fnope"); return err }, mockstore.CodeNotFound},
		{"a shopper asks for offers", func() error { _, err := e.c.Offers(ctx, e.shopper); return err }, mockstore.CodeForbidden},
		{"a merchant asks for offers", func() error { _, err := e.c.Offers(ctx, e.rest.Owner); return err }, mockstore.CodeForbidden},
		{"a shopper takes", func() error { _, err := e.c.Take(ctx, e.shopper, taken.OrderID); return err }, mockstore.CodeForbidden},
		{"a merchant takes", func() error { _, err := e.c.Take(ctx, e.rest.Owner, placed.OrderID); return err }, mockstore.CodeForbidden},
		{"take an unknown order", func() error { _, err := e.c.Take(ctx, e.driver, "fnope"); return err }, mockstore.CodeNotFound},
		{"take before the restaurant accepted", func() error { _, err := e.c.Take(ctx, e.driver, placed.OrderID); return err }, mockstore.CodeConflict},
		{"take what another driver took", func() error { _, err := e.c.Take(ctx, e.driver2, taken.OrderID); return err }, mockstore.CodeConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.call(), tc.code)
		})
	}
	if after := e.readAudit(t); !reflect.DeepEqual(after, before) {
		t.Errorf("refused calls changed the store:\nbefore %+v\nafter  %+v", before, after)
	}
	// The parties see the chat.
	for _, who := range []string{e.shopper, e.rest.Owner, e.driver} {
		ms, err := e.c.Messages(ctx, who, taken.OrderID)
		if err != nil || len(ms) != 1 || ms[0].Text != "hello" || ms[0].From != e.shopper {
			t.Errorf("Messages as %s = %+v, %v; want the shopper's hello", who, ms, err)
		}
	}
}

// TestPlaceIdempotent: with IdempotentRequests on, a retry under the same
// key is the first order, the key reused for another order is refused, and
// keys are per user.
func TestPlaceIdempotent(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	first := e.place(t, "k1", e.order(e.shopper))
	again := e.place(t, "k1", e.order(e.shopper))
	if again.OrderID != first.OrderID || !again.Replayed || first.Replayed {
		t.Fatalf("retry = %+v; want %s replayed", again, first.OrderID)
	}
	again.Replayed = false
	if !reflect.DeepEqual(again, first) {
		t.Errorf("retry = %+v, want %+v", again, first)
	}
	// A replay shows the order as it is now.
	if _, err := e.c.Accept(ctx, e.rest.Owner, first.OrderID); err != nil {
		t.Fatal(err)
	}
	if later := e.place(t, "k1", e.order(e.shopper)); later.OrderID != first.OrderID || later.Status != mockstore.FoodAccepted {
		t.Errorf("retry after accept = %+v; want %s accepted", later, first.OrderID)
	}

	other := e.order(e.shopper)
	other.Items[1].Qty = 3
	_, err := e.c.Place(ctx, "k1", other)
	wantCode(t, err, mockstore.CodeIdempotencyConflict)

	// Another user's key is another key.
	theirs := e.place(t, "k1", e.order(e.other))
	if theirs.OrderID == first.OrderID || theirs.Replayed {
		t.Errorf("other user under k1 = %+v; want a new order", theirs)
	}
	a := e.readAudit(t)
	if len(a.Orders) != 2 {
		t.Fatalf("audit has %d orders, want 2: %+v", len(a.Orders), a.Orders)
	}
	if raw := rawAudit(t, e); strings.Contains(raw, "\"replayed\"") {
		t.Errorf("audit carries replayed: %s", raw)
	}
}

// TestPlaceNaive: with IdempotentRequests off the key is only recorded: a
// retry is a second order, and the audit shows both under one key.
func TestPlaceNaive(t *testing.T) {
	e := newEnv(t, false)
	first := e.place(t, "k1", e.order(e.shopper))
	second := e.place(t, "k1", e.order(e.shopper))
	if second.OrderID == first.OrderID || second.Replayed || first.Replayed {
		t.Fatalf("retry = %+v, first %+v; want two orders", second, first)
	}
	other := e.order(e.shopper)
	other.Items[1].Qty = 3
	third := e.place(t, "k1", other) // not even a conflict: the key is not looked at
	a := e.readAudit(t)
	if len(a.Orders) != 3 {
		t.Fatalf("audit has %d orders, want 3", len(a.Orders))
	}
	for i, id := range []string{first.OrderID, second.OrderID, third.OrderID} {
		rec := a.Orders[i]
		if rec.OrderID != id || rec.Key != "k1" || rec.UserID != e.shopper || rec.Status != mockstore.FoodPlaced {
			t.Errorf("audit order %d = %+v; want %s under k1", i, rec, id)
		}
	}
}

// TestChatIdempotency posts a message and its retry with the feature on and
// off.
func TestChatIdempotency(t *testing.T) {
	for _, on := range []bool{true, false} {
		name := "off"
		if on {
			name = "on"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, on)
			ctx := context.Background()
			o := e.place(t, "k1", e.order(e.shopper))
			m1, err := e.c.Post(ctx, "m1", e.shopper, o.OrderID, "extra sambal please")
			if err != nil || m1.Replayed || !strings.HasPrefix(m1.MessageID, "c") || m1.From != e.shopper ||
				m1.OrderID != o.OrderID || m1.Text != "extra sambal please" || m1.At.IsZero() {
				t.Fatalf("Post = %+v, %v", m1, err)
			}
			m2, err := e.c.Post(ctx, "m1", e.shopper, o.OrderID, "extra sambal please")
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			// The same key from another sender is another message.
			reply, err := e.c.Post(ctx, "m1", e.rest.Owner, o.OrderID, "sure")
			if err != nil || reply.Replayed {
				t.Fatalf("merchant's reply = %+v, %v", reply, err)
			}
			ms, err := e.c.Messages(ctx, e.rest.Owner, o.OrderID)
			if err != nil {
				t.Fatalf("Messages: %v", err)
			}
			a := e.readAudit(t)
			if on {
				if m2.MessageID != m1.MessageID || !m2.Replayed || !m2.At.Equal(m1.At) {
					t.Errorf("retry = %+v; want %s replayed", m2, m1.MessageID)
				}
				_, err := e.c.Post(ctx, "m1", e.shopper, o.OrderID, "no sambal")
				wantCode(t, err, mockstore.CodeIdempotencyConflict)
				if len(ms) != 2 || ms[0].MessageID != m1.MessageID || ms[1].MessageID != reply.MessageID {
					t.Errorf("Messages = %+v; want the first and the reply", ms)
				}
				if len(a.Messages) != 2 {
					t.Errorf("audit messages = %+v; want 2", a.Messages)
				}
				return
			}
			if m2.MessageID == m1.MessageID || m2.Replayed {
				t.Errorf("retry = %+v; want a second message", m2)
			}
			if len(ms) != 3 || ms[0].MessageID != m1.MessageID || ms[1].MessageID != m2.MessageID || ms[2].MessageID != reply.MessageID {
				t.Errorf("Messages = %+v; want both copies then the reply, oldest first", ms)
			}
			if len(a.Messages) != 3 || a.Messages[0].Key != "m1" || a.Messages[1].Key != "m1" {
				t.Errorf("audit messages = %+v; want 3, two under m1", a.Messages)
			}
		})
	}
}

// TestConcurrentPlaceSameKey sends one order 20 times at once under one key:
// with the feature on exactly one order exists and every answer is it; off,
// every request is an order.
func TestConcurrentPlaceSameKey(t *testing.T) {
	for _, on := range []bool{true, false} {
		name := "off"
		if on {
			name = "on"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, on)
			const n = 20
			var wg sync.WaitGroup
			answers := make([]Order, n)
			errs := make([]error, n)
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					answers[i], errs[i] = e.c.Place(context.Background(), "same-key", e.order(e.shopper))
				}()
			}
			close(start)
			wg.Wait()
			ids := map[string]bool{}
			fresh := 0
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("Place %d: %v", i, errs[i])
				}
				ids[answers[i].OrderID] = true
				if !answers[i].Replayed {
					fresh++
				}
			}
			a := e.readAudit(t)
			want := 1
			if !on {
				want = n
			}
			if len(ids) != want || fresh != want || len(a.Orders) != want {
				t.Errorf("%d distinct answers, %d not replayed, %d orders in the audit; want %d each",
					len(ids), fresh, len(a.Orders), want)
			}
		})
	}
}

// TestAudit checks the audit's records against what was done.
func TestAudit(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	if a := e.readAudit(t); a.Orders == nil || a.Messages == nil || len(a.Orders)+len(a.Messages) != 0 {
		t.Errorf("empty audit = %+v; want empty lists", a)
	}
	if raw := rawAudit(t, e); raw != `{"orders":[],"messages":[]}` {
		t.Errorf("empty audit = %s", raw)
	}
	o1 := e.place(t, "k1", e.order(e.shopper))
	o2 := e.place(t, "k2", PlaceRequest{UserID: e.other, RestaurantID: e.rest2.ID, Items: []Item{{ItemID: e.rest2.Menu[2].ID, Qty: 20}}})
	if _, err := e.c.Accept(ctx, e.rest.Owner, o1.OrderID); err != nil {
		t.Fatal(err)
	}
	tk, err := e.c.Take(ctx, e.driver2, o1.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	m1, err := e.c.Post(ctx, "m1", e.driver2, o1.OrderID, "on my way, secret-text")
	if err != nil {
		t.Fatal(err)
	}
	m2, err := e.c.Post(ctx, "m2", e.other, o2.OrderID, "hello")
	if err != nil {
		t.Fatal(err)
	}

	a := e.readAudit(t)
	if len(a.Orders) != 2 || len(a.Messages) != 2 {
		t.Fatalf("audit = %+v; want 2 orders and 2 messages", a)
	}
	r1, r2 := a.Orders[0], a.Orders[1]
	if r1.OrderID != o1.OrderID || r1.UserID != e.shopper || r1.RestaurantID != e.rest.ID || r1.Key != "k1" ||
		r1.Status != mockstore.FoodAssigned || r1.Amount != e.amount() || r1.DriverID != e.driver2 ||
		!r1.CreatedAt.Equal(o1.CreatedAt) || len(r1.History) != 3 {
		t.Errorf("audit order 1 = %+v; want %+v", r1, tk)
	}
	if r2.OrderID != o2.OrderID || r2.Key != "k2" || r2.Status != mockstore.FoodPlaced || r2.Amount != 20*e.rest2.Menu[2].Price ||
		r2.DriverID != "" || len(r2.History) != 1 || r2.History[0].State != mockstore.FoodPlaced {
		t.Errorf("audit order 2 = %+v; want %+v", r2, o2)
	}
	want := []mockstore.ChatRecord{
		{MessageID: m1.MessageID, OrderID: o1.OrderID, From: e.driver2, Key: "m1", At: m1.At},
		{MessageID: m2.MessageID, OrderID: o2.OrderID, From: e.other, Key: "m2", At: m2.At},
	}
	if !reflect.DeepEqual(a.Messages, want) {
		t.Errorf("audit messages = %+v, want %+v", a.Messages, want)
	}
	if raw := rawAudit(t, e); strings.Contains(raw, "secret-text") {
		t.Errorf("the audit carries a message's text: %s", raw)
	}
}

// rawAudit returns the audit's body as served.
func rawAudit(tb testing.TB, e *env) string {
	tb.Helper()
	var raw json.RawMessage
	if err := mockstore.Call(context.Background(), http.DefaultClient, http.MethodGet, e.auditS.URL+"/audit/food", nil, &raw, nil); err != nil {
		tb.Fatalf("read audit: %v", err)
	}
	return string(raw)
}

// TestListsOldestFirstAndBounded: the merchant's queue and the drivers'
// offers are oldest first and hold at most 50 orders.
func TestListsOldestFirstAndBounded(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	var ids []string
	for i := range listLimit + 5 {
		ids = append(ids, e.place(t, fmt.Sprintf("k%d", i), e.order(e.shopper)).OrderID)
	}
	q, err := e.c.Queue(ctx, e.rest.Owner, e.rest.ID)
	if err != nil || len(q) != listLimit {
		t.Fatalf("Queue = %d orders, %v; want %d", len(q), err, listLimit)
	}
	for i := range q {
		if q[i].OrderID != ids[i] {
			t.Fatalf("Queue[%d] = %s, want %s (oldest first)", i, q[i].OrderID, ids[i])
		}
	}
	// Accept the three newest, oldest of them last: offers follow creation.
	for _, i := range []int{len(ids) - 1, len(ids) - 3, len(ids) - 2} {
		if _, err := e.c.Accept(ctx, e.rest.Owner, ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	offers, err := e.c.Offers(ctx, e.driver)
	if err != nil || len(offers) != 3 {
		t.Fatalf("Offers = %+v, %v", offers, err)
	}
	for j, o := range offers {
		if want := ids[len(ids)-3+j]; o.OrderID != want {
			t.Errorf("Offers[%d] = %s, want %s", j, o.OrderID, want)
		}
	}
}

// TestReopen: what was committed is there after Close and New on the same
// file; Close is idempotent.
func TestReopen(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	o := e.place(t, "k1", e.order(e.shopper))
	m, err := e.c.Post(ctx, "m1", e.shopper, o.OrderID, "hi")
	if err != nil {
		t.Fatal(err)
	}
	e.api.Close()
	e.auditS.Close()
	if err := e.svc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := e.svc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The closed server gives no answer: the client says so with its type.
	if _, err := e.c.Order(ctx, e.shopper, o.OrderID); !mockstore.IsUnreachable(err) {
		t.Errorf("Order from a closed server: %v, want an *UpstreamError", err)
	}

	e2 := startEnv(t, e.cfg)
	if got, err := e2.c.Order(ctx, e.shopper, o.OrderID); err != nil || got.OrderID != o.OrderID || got.Amount != o.Amount {
		t.Errorf("Order after reopen = %+v, %v", got, err)
	}
	if again := e2.place(t, "k1", e.order(e.shopper)); again.OrderID != o.OrderID || !again.Replayed {
		t.Errorf("retry after reopen = %+v; want %s replayed", again, o.OrderID)
	}
	if ms, err := e2.c.Messages(ctx, e.shopper, o.OrderID); err != nil || len(ms) != 1 || ms[0].MessageID != m.MessageID {
		t.Errorf("Messages after reopen = %+v, %v", ms, err)
	}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t, false)
	// The default client (nil hc) works too.
	if rs, err := NewClient(e.api.URL+"/", nil).Restaurants(context.Background()); err != nil || len(rs) != len(e.cfg.Dataset.Restaurants) {
		t.Errorf("Restaurants with the default client = %d, %v", len(rs), err)
	}
	var body map[string]string
	if err := mockstore.Call(context.Background(), http.DefaultClient, http.MethodGet, e.api.URL+"/healthz", nil, &body, nil); err != nil {
		t.Fatalf("healthz: %v", err)
	}
	if !reflect.DeepEqual(body, map[string]string{"service": "food"}) {
		t.Errorf("healthz = %v", body)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	good := mockstore.Seed(1, 40)
	dupRest := mockstore.Seed(1, 40)
	dupRest.Restaurants[1].ID = dupRest.Restaurants[0].ID
	freeDish := mockstore.Seed(1, 40)
	freeDish.Restaurants[0].Menu = []mockstore.MenuItem{{ID: "m1", Name: "Air", Price: 0}}
	badDriver := mockstore.Seed(1, 40)
	badDriver.Drivers = append(badDriver.Drivers, "a driver")
	cases := []struct {
		name string
		cfg  Config
	}{
		{"no DBPath", Config{Dataset: good}},
		{"DBPath with ?", Config{DBPath: filepath.Join(dir, "x.db?mode=ro"), Dataset: good}},
		{"missing directory", Config{DBPath: filepath.Join(dir, "no", "such", "x.db"), Dataset: good}},
		{"duplicate restaurant", Config{DBPath: filepath.Join(dir, "a.db"), Dataset: dupRest}},
		{"dish without a price", Config{DBPath: filepath.Join(dir, "b.db"), Dataset: freeDish}},
		{"malformed driver", Config{DBPath: filepath.Join(dir, "c.db"), Dataset: badDriver}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(context.Background(), tc.cfg)
			if err == nil {
				_ = s.Close()
				t.Fatal("New succeeded")
			}
			var me *mockstore.Error
			if errors.As(err, &me) {
				t.Errorf("New returned a storefront error %v; want a plain error", err)
			}
		})
	}
}
