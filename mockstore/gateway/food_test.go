package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/food"
)

// userByID returns the seeded user with id.
func (st *stack) userByID(tb testing.TB, id string) mockstore.User {
	tb.Helper()
	for _, u := range st.data.Users {
		if u.ID == id {
			return u
		}
	}
	tb.Fatalf("no user %s in the dataset", id)
	return mockstore.User{}
}

// shopper returns the first active user who is neither merchant nor driver.
func (st *stack) shopper(tb testing.TB, skip int) mockstore.User {
	tb.Helper()
	partners := st.data.Partners()
	for _, u := range st.data.Users {
		if u.Status == mockstore.StatusActive && !partners[u.ID] {
			if skip == 0 {
				return u
			}
			skip--
		}
	}
	tb.Fatal("not enough shoppers in the dataset")
	return mockstore.User{}
}

// auditJSON GETs an audit path and decodes it into v.
func auditJSON(tb testing.TB, base, path string, v any) {
	tb.Helper()
	res, err := http.Get(base + path)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
}

func keyed(token, key string) []string { return append(bearer(token), IdempotencyHeader, key) }

// TestFoodThroughTheGateway walks a food order from the shopper to the
// merchant to a driver, with chat, through the real food service, and holds
// each party to its own orders.
func TestFoodThroughTheGateway(t *testing.T) {
	st := newStack(t, features(), nil)
	rest := st.data.Restaurants[0]
	merchant := st.login(t, st.userByID(t, rest.Owner))
	driver := st.login(t, st.userByID(t, st.data.Drivers[0]))
	other := st.login(t, st.userByID(t, st.data.Drivers[1]))
	shopper := st.login(t, st.shopper(t, 0))
	stranger := st.login(t, st.shopper(t, 1))

	var rs []publicRestaurant
	st.call(t, "GET", "/api/v1/food/restaurants", "").decode(t, http.StatusOK, &rs)
	if len(rs) != len(st.data.Restaurants) || rs[0].ID != rest.ID || len(rs[0].Menu) == 0 {
		t.Fatalf("restaurants %+v", rs)
	}
	var raw []map[string]any
	st.call(t, "GET", "/api/v1/food/restaurants", "").decode(t, http.StatusOK, &raw)
	if _, ok := raw[0]["owner"]; ok {
		t.Fatalf("restaurants show their merchant's user id: %v", raw[0])
	}

	body := fmt.Sprintf(`{"restaurant_id":%q,"items":[{"item_id":%q,"qty":2}]}`, rest.ID, rest.Menu[0].ID)
	var o food.Order
	st.call(t, "POST", "/api/v1/food/orders", body, keyed(shopper, "f-1")...).decode(t, http.StatusCreated, &o)
	if o.Status != mockstore.FoodPlaced || o.Amount != 2*rest.Menu[0].Price {
		t.Fatalf("placed %+v", o)
	}
	var again food.Order
	st.call(t, "POST", "/api/v1/food/orders", body, keyed(shopper, "f-1")...).decode(t, http.StatusOK, &again)
	if again.OrderID != o.OrderID || !again.Replayed {
		t.Fatalf("the same key again: %+v, want order %s replayed", again, o.OrderID)
	}

	var m food.Message
	st.call(t, "POST", "/api/v1/food/orders/"+o.OrderID+"/messages", `{"text":"tanpa sambal"}`, keyed(shopper, "m-1")...).decode(t, http.StatusCreated, &m)
	st.call(t, "GET", "/api/v1/food/orders/"+o.OrderID, "", bearer(stranger)...).wantError(t, http.StatusNotFound, mockstore.CodeNotFound)
	st.call(t, "GET", "/api/v1/food/restaurants/"+rest.ID+"/orders", "", bearer(shopper)...).wantError(t, http.StatusForbidden, mockstore.CodeForbidden)

	// The merchant sees it, reads the chat, accepts; a driver takes it.
	var queue []food.Order
	st.call(t, "GET", "/api/v1/food/restaurants/"+rest.ID+"/orders", "", bearer(merchant)...).decode(t, http.StatusOK, &queue)
	if len(queue) != 1 || queue[0].OrderID != o.OrderID {
		t.Fatalf("merchant's queue %+v", queue)
	}
	var ms []food.Message
	st.call(t, "GET", "/api/v1/food/orders/"+o.OrderID+"/messages", "", bearer(merchant)...).decode(t, http.StatusOK, &ms)
	if len(ms) != 1 || ms[0].Text != "tanpa sambal" || ms[0].From != st.shopper(t, 0).ID {
		t.Fatalf("messages %+v", ms)
	}
	st.call(t, "POST", "/api/v1/food/orders/"+o.OrderID+"/take", "", bearer(driver)...).wantError(t, http.StatusConflict, mockstore.CodeConflict)
	st.call(t, "POST", "/api/v1/food/orders/"+o.OrderID+"/accept", "", bearer(driver)...).wantError(t, http.StatusForbidden, mockstore.CodeForbidden)
	st.call(t, "POST", "/api/v1/food/orders/"+o.OrderID+"/accept", "", bearer(merchant)...).decode(t, http.StatusOK, &o)
	var offers []food.Order
	st.call(t, "GET", "/api/v1/food/offers", "", bearer(driver)...).decode(t, http.StatusOK, &offers)
	if len(offers) != 1 || offers[0].OrderID != o.OrderID {
		t.Fatalf("offers %+v", offers)
	}
	st.call(t, "GET", "/api/v1/food/offers", "", bearer(shopper)...).wantError(t, http.StatusForbidden, mockstore.CodeForbidden)
	st.call(t, "POST", "/api/v1/food/orders/"+o.OrderID+"/take", "", bearer(driver)...).decode(t, http.StatusOK, &o)
	st.call(t, "POST", "/api/v1/food/orders/"+o.OrderID+"/take", "", bearer(other)...).wantError(t, http.StatusConflict, mockstore.CodeConflict)
	st.call(t, "GET", "/api/v1/food/orders/"+o.OrderID, "", bearer(shopper)...).decode(t, http.StatusOK, &o)
	if o.Status != mockstore.FoodAssigned || o.DriverID != st.data.Drivers[0] {
		t.Fatalf("after the take %+v", o)
	}
}

// TestLostAnswersRetried cuts the answer of food and of the wallet after
// they did the work: with idempotent_requests and idempotent_payments on, a
// retry with the same Idempotency-Key is the same order, message and
// charge; off, it is another one — the incident's double orders and double
// charges.
func TestLostAnswersRetried(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run("idempotent_requests "+onOff(on), func(t *testing.T) {
			f := features()
			f[mockstore.IdempotentRequests] = on
			st := newStack(t, f, nil)
			rest := st.data.Restaurants[1]
			shopper := st.login(t, st.shopper(t, 0))
			body := fmt.Sprintf(`{"restaurant_id":%q,"items":[{"item_id":%q,"qty":1}]}`, rest.ID, rest.Menu[0].ID)

			st.foodLink.set(linkLoseAnswer)
			st.call(t, "POST", "/api/v1/food/orders", body, keyed(shopper, "f-1")...).wantError(t, http.StatusServiceUnavailable, mockstore.CodeUnavailable)
			st.foodLink.set(linkPass)
			var o food.Order
			r := st.call(t, "POST", "/api/v1/food/orders", body, keyed(shopper, "f-1")...)
			r.decode(t, map[bool]int{true: http.StatusOK, false: http.StatusCreated}[on], &o)
			if o.Replayed != on {
				t.Fatalf("the retry after a lost answer: %+v, want replayed %v", o, on)
			}
			st.foodLink.set(linkLoseAnswer)
			st.call(t, "POST", "/api/v1/food/orders/"+o.OrderID+"/messages", `{"text":"halo"}`, keyed(shopper, "m-1")...).wantError(t, http.StatusServiceUnavailable, mockstore.CodeUnavailable)
			st.foodLink.set(linkPass)
			st.call(t, "POST", "/api/v1/food/orders/"+o.OrderID+"/messages", `{"text":"halo"}`, keyed(shopper, "m-1")...).
				decode(t, map[bool]int{true: http.StatusOK, false: http.StatusCreated}[on], nil)

			var a mockstore.FoodAudit
			auditJSON(t, st.foodAudit, "/audit/food", &a)
			wantN := 1
			if !on {
				wantN = 2 // at least: the gateway retried the lost answer too
			}
			if on && (len(a.Orders) != 1 || len(a.Messages) != 1) || !on && (len(a.Orders) < wantN || len(a.Messages) < wantN) {
				t.Fatalf("food stored %d orders and %d messages for one key each; want %d (or more when off)", len(a.Orders), len(a.Messages), wantN)
			}
		})
		t.Run("idempotent_payments "+onOff(on), func(t *testing.T) {
			f := features()
			f[mockstore.IdempotentPayments] = on
			st := newStack(t, f, nil)
			u := st.shopper(t, 0)
			shopper := st.login(t, u)
			const pay = `{"qr":"gameday:pay:r01","amount":15000}`

			st.walLink.set(linkLoseAnswer)
			st.call(t, "POST", "/api/v1/wallet/pay", pay, keyed(shopper, "q-1")...).wantError(t, http.StatusServiceUnavailable, mockstore.CodeUnavailable)
			st.walLink.set(linkPass)
			var p payResponse
			st.call(t, "POST", "/api/v1/wallet/pay", pay, keyed(shopper, "q-1")...).decode(t, http.StatusOK, &p)
			if p.Replayed != on || p.Amount != 15000 || p.OrderID != "qr-"+u.ID+"-q-1" {
				t.Fatalf("the retry after a lost answer: %+v, want replayed %v", p, on)
			}
			var charges []mockstore.ChargeRecord
			auditJSON(t, st.walletAudit, "/audit/charges", &charges)
			n := 0
			for _, c := range charges {
				if c.OrderID == p.OrderID {
					n++
				}
			}
			if on && n != 1 || !on && n < 2 {
				t.Fatalf("one QR payment charged %d times (want 1 on, 2 or more off)", n)
			}
			if on && p.Balance != u.Balance-15000 {
				t.Fatalf("balance after paying %d, want %d", p.Balance, u.Balance-15000)
			}
		})
	}
}
