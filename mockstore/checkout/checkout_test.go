package checkout

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
	"github.com/gameday/gameday/mockstore/wallet"
)

// heavyLight returns a product of the ordinary range (not one of the two
// bulky ones) and how many of it weigh more than limitG.
func heavyLight(tb testing.TB, d mockstore.Dataset, limitG int) (string, int) {
	tb.Helper()
	for _, p := range d.Products[:len(d.Products)-2] {
		if n := limitG/p.WeightG + 1; n <= MaxQty {
			return p.ID, n
		}
	}
	tb.Fatalf("no ordinary product reaches %d g within %d units", limitG, MaxQty)
	return "", 0
}

func TestCheckoutRefusals(t *testing.T) {
	e := newEnv(t, false)
	d := e.cfg.Dataset
	heavy, big := d.Products[len(d.Products)-2].ID, d.Products[len(d.Products)-1].ID
	lightID, lightN := heavyLight(t, d, 10_000) // over sicepat's 10 kg

	type tc struct {
		name   string
		cart   map[string]int
		key    string
		body   any // a CheckoutRequest changed by edit, or a raw string
		edit   func(*CheckoutRequest)
		status int
		code   mockstore.Code
	}
	tests := []tc{
		// The refusals, each made true only of its own reason and of those
		// checked after it, to show the order in which they are checked.
		{name: "missing key", key: "-", edit: func(r *CheckoutRequest) {
			r.UserStatus, r.PaymentMethod, r.Courier = mockstore.StatusRestricted, mockstore.PaymentCard, "dhl"
		}, status: 400, code: mockstore.CodeIdempotencyKey},
		{name: "restricted account", edit: func(r *CheckoutRequest) {
			r.UserStatus, r.PaymentMethod, r.Courier = mockstore.StatusRestricted, mockstore.PaymentCard, "dhl"
		}, status: 403, code: mockstore.CodeAccountRestricted},
		{name: "empty cart", edit: func(r *CheckoutRequest) { r.PaymentMethod, r.Courier = mockstore.PaymentCard, "dhl" },
			status: 422, code: mockstore.CodeCartEmpty},
		{name: "card", cart: map[string]int{"p001": 1}, edit: func(r *CheckoutRequest) { r.PaymentMethod, r.Courier = mockstore.PaymentCard, "dhl" },
			status: 422, code: mockstore.CodePaymentUnsupported},
		{name: "cod", cart: map[string]int{"p001": 1}, edit: func(r *CheckoutRequest) { r.PaymentMethod = mockstore.PaymentCOD },
			status: 422, code: mockstore.CodePaymentUnsupported},
		{name: "paylater", cart: map[string]int{"p001": 1}, edit: func(r *CheckoutRequest) { r.PaymentMethod = mockstore.PaymentPaylater },
			status: 422, code: mockstore.CodePaymentUnsupported},
		{name: "unknown courier", cart: map[string]int{heavy: 1}, edit: func(r *CheckoutRequest) { r.Courier, r.Address.Area = "dhl", "papua" },
			status: 422, code: mockstore.CodeUnknownCourier},
		{name: "address not served", cart: map[string]int{heavy: 1, big: 1}, edit: func(r *CheckoutRequest) { r.Address.Area = "papua" },
			status: 422, code: mockstore.CodeAddressNotServed},
		{name: "area unknown to every courier", cart: map[string]int{"p001": 1}, edit: func(r *CheckoutRequest) { r.Address.Area = "atlantis" },
			status: 422, code: mockstore.CodeAddressNotServed},
		{name: "one bulky item over weight", cart: map[string]int{heavy: 1, big: 1},
			status: 422, code: mockstore.CodeOverWeight},
		{name: "many light items over weight", cart: map[string]int{lightID: lightN}, edit: func(r *CheckoutRequest) { r.Courier = "sicepat" },
			status: 422, code: mockstore.CodeOverWeight},
		{name: "item over size", cart: map[string]int{"p001": 1, big: 1},
			status: 422, code: mockstore.CodeOverSize},

		// Malformed requests.
		{name: "key too long", key: strings.Repeat("k", maxKeyLen+1), cart: map[string]int{"p001": 1}, status: 400, code: mockstore.CodeInvalidRequest},
		{name: "key with spaces", key: "a key", cart: map[string]int{"p001": 1}, status: 400, code: mockstore.CodeInvalidRequest},
		{name: "unknown payment method", cart: map[string]int{"p001": 1}, edit: func(r *CheckoutRequest) { r.PaymentMethod = "bitcoin" },
			status: 400, code: mockstore.CodeInvalidRequest},
		{name: "no payment method", cart: map[string]int{"p001": 1}, edit: func(r *CheckoutRequest) { r.PaymentMethod = "" },
			status: 400, code: mockstore.CodeInvalidRequest},
		{name: "no user", cart: map[string]int{"p001": 1}, edit: func(r *CheckoutRequest) { r.UserID = "" },
			status: 400, code: mockstore.CodeInvalidRequest},
		{name: "unknown user status", cart: map[string]int{"p001": 1}, edit: func(r *CheckoutRequest) { r.UserStatus = "banned" },
			status: 400, code: mockstore.CodeInvalidRequest},
		{name: "malformed owner", cart: map[string]int{"p001": 1}, edit: func(r *CheckoutRequest) { r.Owner = "cart-1" },
			status: 400, code: mockstore.CodeInvalidRequest},
		{name: "another user's cart", cart: map[string]int{"p001": 1}, edit: func(r *CheckoutRequest) { r.UserID = "someone-else" },
			status: 403, code: mockstore.CodeForbidden},
		{name: "no address line", cart: map[string]int{"p001": 1}, edit: func(r *CheckoutRequest) { r.Address.Line = "  " },
			status: 400, code: mockstore.CodeInvalidRequest},
		{name: "no area", cart: map[string]int{"p001": 1}, edit: func(r *CheckoutRequest) { r.Address.Area = "" },
			status: 400, code: mockstore.CodeInvalidRequest},
		{name: "no courier", cart: map[string]int{"p001": 1}, edit: func(r *CheckoutRequest) { r.Courier = "" },
			status: 400, code: mockstore.CodeInvalidRequest},
		{name: "not JSON", cart: map[string]int{"p001": 1}, body: "user_id=x", status: 400, code: mockstore.CodeInvalidRequest},
		{name: "unknown field", cart: map[string]int{"p001": 1}, body: `{"user_id":"x","amount":1}`, status: 400, code: mockstore.CodeInvalidRequest},
		{name: "address not an object", cart: map[string]int{"p001": 1}, body: `{"address":"Jl. Sudirman"}`, status: 400, code: mockstore.CodeInvalidRequest},
		{name: "body too large", cart: map[string]int{"p001": 1}, body: `{"user_id":"` + strings.Repeat("u", mockstore.MaxBody) + `"}`, status: 413, code: mockstore.CodeBodyTooLarge},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := fmt.Sprintf("r%02d", i)
			owner := "u:" + user
			e.fill(t, owner, tt.cart)
			before, err := e.client.Cart(context.Background(), owner)
			if err != nil {
				t.Fatal(err)
			}
			body := tt.body
			if body == nil {
				req := CheckoutRequest{UserID: user, UserStatus: mockstore.StatusActive, Owner: owner,
					Address: mockstore.Address{Line: "Jl. Sudirman 1", Area: "jakarta"}, Courier: "jne", PaymentMethod: mockstore.PaymentWallet}
				if tt.edit != nil {
					tt.edit(&req)
				}
				body = req
			}
			hdr := map[string]string{IdempotencyHeader: "key-" + user}
			switch tt.key {
			case "-":
				hdr = nil
			case "":
			default:
				hdr[IdempotencyHeader] = tt.key
			}
			status, code, raw := call(t, http.MethodPost, e.url+"/checkout", body, hdr)
			if status != tt.status || code != tt.code {
				t.Fatalf("got %d %q (%s), want %d %q", status, code, raw, tt.status, tt.code)
			}
			if !strings.Contains(string(raw), `"message":"`) || strings.Contains(string(raw), `"message":""`) {
				t.Errorf("refusal without a message: %s", raw)
			}
			after, err := e.client.Cart(context.Background(), owner)
			if err != nil || !reflect.DeepEqual(before, after) {
				t.Errorf("cart changed by a refusal: %+v → %+v (%v)", before, after, err)
			}
			if n := len(e.orders(t)); n != 0 {
				t.Errorf("%d orders exist after refusals, want 0", n)
			}
		})
	}
	totals, err := wallet.ReadTotals(context.Background(), nil, e.wallet.auditURL)
	if err != nil || totals.Charges != 0 {
		t.Errorf("wallet charged %d after refusals only (%v)", totals.Charges, err)
	}

	t.Run("bulky items go by cargo", func(t *testing.T) {
		req := e.buy(t, "u00001")
		e.fill(t, req.Owner, map[string]int{heavy: 1, big: 1})
		req.Courier = "cargo"
		o, err := e.client.Checkout(context.Background(), "cargo-1", req)
		if err != nil || o.Status != mockstore.OrderPaid {
			t.Fatalf("checkout by cargo = %+v, %v; want paid", o, err)
		}
	})
}

func TestCheckoutReplay(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	req := e.buy(t, "u00001")
	first, err := e.client.Checkout(ctx, "k1", req)
	if err != nil || first.Status != mockstore.OrderPaid || first.Amount <= 0 || first.OrderID == "" {
		t.Fatalf("checkout = %+v, %v; want paid", first, err)
	}

	t.Run("same key and body returns the same order", func(t *testing.T) {
		status, code, raw := call(t, http.MethodPost, e.url+"/checkout", req, map[string]string{IdempotencyHeader: "k1"})
		var again Order
		if err := json.Unmarshal(raw, &again); err != nil || status != http.StatusOK || code != "" {
			t.Fatalf("replay = %d %q %s", status, code, raw)
		}
		if again.Replayed != ReplayKey {
			t.Errorf("replay says replayed %q, want %q", again.Replayed, ReplayKey)
		}
		again.Replayed = ""
		if again != first {
			t.Errorf("replay = %+v, want %+v", again, first)
		}
	})
	t.Run("same key with another body is a conflict", func(t *testing.T) {
		other := req
		other.Address.Line = "Jl. Thamrin 2"
		_, err := e.client.Checkout(ctx, "k1", other)
		if got := errCode(t, err); got != mockstore.CodeIdempotencyConflict {
			t.Fatalf("got %v, want idempotency_conflict", err)
		}
	})
	t.Run("the same key from another user is another order", func(t *testing.T) {
		o, err := e.client.Checkout(ctx, "k1", e.buy(t, "u00003"))
		if err != nil || o.OrderID == first.OrderID || o.Status != mockstore.OrderPaid {
			t.Fatalf("other user's checkout = %+v, %v", o, err)
		}
	})
	t.Run("a paid order empties the cart", func(t *testing.T) {
		c, err := e.client.Cart(ctx, req.Owner)
		if err != nil || len(c.Items) != 0 {
			t.Fatalf("cart after paying = %+v, %v", c, err)
		}
		// And a new key now finds nothing to buy.
		_, err = e.client.Checkout(ctx, "k2", req)
		if got := errCode(t, err); got != mockstore.CodeCartEmpty {
			t.Fatalf("got %v, want cart_empty", err)
		}
	})
	t.Run("concurrent requests with one key make one order", func(t *testing.T) {
		req := e.buy(t, "u00004")
		const n = 8
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o, err := e.client.Checkout(ctx, "same", req)
				ids[i], errs[i] = o.OrderID, err
			}()
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("request %d: order %q, %v; request 0: %q", i, ids[i], errs[i], ids[0])
			}
		}
		if ch := e.wallet.chargesFor(t, ids[0]); len(ch) != 1 {
			t.Errorf("%d charges for the order, want 1", len(ch))
		}
	})
	if n := len(e.orders(t)); n != 3 {
		t.Errorf("%d orders, want 3", n)
	}
}

func TestOrderLookup(t *testing.T) {
	e := newEnv(t, false)
	o, err := e.client.Checkout(context.Background(), "k", e.buy(t, "u00001"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		status     int
		code       mockstore.Code
	}{
		{"own order", "/orders/" + o.OrderID + "?user_id=u00001", 200, ""},
		{"another user's order", "/orders/" + o.OrderID + "?user_id=u00003", 404, mockstore.CodeNotFound},
		{"unknown order", "/orders/o_0000?user_id=u00001", 404, mockstore.CodeNotFound},
		{"no user", "/orders/" + o.OrderID, 400, mockstore.CodeInvalidRequest},
		{"malformed user", "/orders/" + o.OrderID + "?user_id=a%20b", 400, mockstore.CodeInvalidRequest},
		{"malformed order ID", "/orders/" + strings.Repeat("o", 70) + "?user_id=u00001", 400, mockstore.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code, raw := call(t, http.MethodGet, e.url+tt.path, nil, nil)
			if status != tt.status || code != tt.code {
				t.Fatalf("got %d %q (%s), want %d %q", status, code, raw, tt.status, tt.code)
			}
			if status == 200 {
				var got Order
				if err := json.Unmarshal(raw, &got); err != nil || got != o {
					t.Errorf("order = %s, want %+v", raw, o)
				}
			}
		})
	}
}

func TestStateMachine(t *testing.T) {
	states := []string{"", mockstore.OrderCreated, mockstore.OrderPaymentPending, mockstore.OrderPaid, mockstore.OrderFailed, mockstore.OrderRefunded}
	legal := map[[2]string]bool{
		{"", mockstore.OrderCreated}:                            true,
		{mockstore.OrderCreated, mockstore.OrderPaymentPending}: true,
		{mockstore.OrderPaymentPending, mockstore.OrderPaid}:    true,
		{mockstore.OrderPaymentPending, mockstore.OrderFailed}:  true,
		{mockstore.OrderPaid, mockstore.OrderRefunded}:          true,
		{mockstore.OrderFailed, mockstore.OrderRefunded}:        true,
	}
	for _, from := range states {
		for _, to := range states {
			if got, want := canTransition(from, to), legal[[2]string{from, to}]; got != want {
				t.Errorf("canTransition(%q, %q) = %v, want %v", from, to, got, want)
			}
		}
	}

	e := newEnv(t, false)
	o, err := e.client.Checkout(context.Background(), "k", e.buy(t, "u00001"))
	if err != nil || o.Status != mockstore.OrderPaid {
		t.Fatalf("checkout = %+v, %v", o, err)
	}
	rec := e.record(t, o.OrderID)
	var states2 []string
	for _, h := range rec.History {
		states2 = append(states2, h.State)
		if h.At.IsZero() || h.Why == "" {
			t.Errorf("history entry without time or reason: %+v", h)
		}
	}
	if want := []string{mockstore.OrderCreated, mockstore.OrderPaymentPending, mockstore.OrderPaid}; !reflect.DeepEqual(states2, want) {
		t.Fatalf("history = %v, want %v", states2, want)
	}

	illegal := []struct {
		name, from, to string
	}{
		{"backwards", mockstore.OrderPaid, mockstore.OrderPaymentPending},
		{"skipping", mockstore.OrderCreated, mockstore.OrderPaid},
		{"from a state the order is not in", mockstore.OrderPaymentPending, mockstore.OrderFailed},
		{"legal move from the wrong state", mockstore.OrderFailed, mockstore.OrderRefunded},
		{"to itself", mockstore.OrderPaid, mockstore.OrderPaid},
		{"recreate", "", mockstore.OrderCreated},
	}
	for _, tt := range illegal {
		t.Run(tt.name, func(t *testing.T) {
			err := e.svc.db.Write(context.Background(), func(ctx context.Context, tx *sqlitestore.Tx) error {
				return transition(ctx, tx, o.OrderID, tt.from, tt.to, "test", e.svc.now())
			})
			if got := errCode(t, err); got != mockstore.CodeConflict {
				t.Fatalf("transition %q → %q: %v, want conflict", tt.from, tt.to, err)
			}
			if r := e.record(t, o.OrderID); r.Status != mockstore.OrderPaid || len(r.History) != 3 {
				t.Errorf("a refused transition changed the order: %+v", r)
			}
		})
	}
}
