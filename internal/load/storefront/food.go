package storefront

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/food"
)

// What a shopper writes to a restaurant.
var chatLines = []string{"Tidak pakai sambal ya, terima kasih", "Tolong sendoknya dua", "Saya tunggu di lobi",
	"Esnya dipisah ya", "Pintu pagar hitam, terima kasih"}

// qrPrefix starts a restaurant's payment QR code; the rest is its ID.
const qrPrefix = "gameday:pay:"

// food orders one or two dishes from a restaurant (journey food), writes to
// it on the order (chat) and waits up to Settings.FoodWait for a driver
// (food_delivery): placed, accepted by the merchant, assigned to a driver.
// The order and the message each keep one Idempotency-Key across their
// retries. A message not sent does not stop the wait for the driver.
func (u *shopper) food(ctx context.Context) error {
	list, err := u.call(ctx, http.MethodGet, "/api/v1/food/restaurants", nil,
		callOpts{endpoint: "food_restaurants", journey: JourneyFood, safe: true})
	if err != nil {
		return err
	}
	var all, open []mockstore.Restaurant
	if list.ok && list.decode(&all) {
		for _, r := range all {
			if r.ID != "" && len(r.Menu) > 0 {
				open = append(open, r)
			}
		}
	}
	if len(open) == 0 {
		return u.journey(ctx, JourneyFood, false)
	}
	r := pick(u.person, open)
	first := pick(u.person, r.Menu)
	items := []food.Item{{ItemID: first.ID, Qty: 1}}
	if len(r.Menu) > 1 && u.vu.Rand.Float64() < 0.5 {
		var others []mockstore.MenuItem
		for _, m := range r.Menu {
			if m.ID != first.ID {
				others = append(others, m)
			}
		}
		if len(others) > 0 {
			items = append(items, food.Item{ItemID: pick(u.person, others).ID, Qty: 1})
		}
	}
	if err := u.think(ctx); err != nil {
		return err
	}
	placed, err := u.authed(ctx, http.MethodPost, "/api/v1/food/orders", map[string]any{"restaurant_id": r.ID, "items": items},
		callOpts{endpoint: "food_order", journey: JourneyFood, key: u.key("food"), safe: true})
	if err != nil {
		return err
	}
	var order food.Order
	ok := placed.ok && placed.decode(&order) && order.OrderID != ""
	if ok {
		u.crossUser(order.UserID, "food_order", JourneyFood)
	}
	if err := u.journey(ctx, JourneyFood, ok); err != nil {
		return err
	}

	if err := u.think(ctx); err != nil {
		return err
	}
	path := "/api/v1/food/orders/" + url.PathEscape(order.OrderID)
	m, err := u.authed(ctx, http.MethodPost, path+"/messages", map[string]string{"text": pick(u.person, chatLines)},
		callOpts{endpoint: "chat_send", journey: JourneyChat, key: u.key("chat"), safe: true})
	if err != nil {
		return err
	}
	var msg food.Message
	sent := m.ok && m.decode(&msg) && msg.MessageID != ""
	if sent {
		u.crossUser(msg.From, "chat_send", JourneyChat)
	}
	if err := u.journey(ctx, JourneyChat, sent); err != nil && !errors.Is(err, errStop) {
		return err
	}

	status := order.Status
	giveUp := time.Now().Add(u.s.cfg.FoodWait)
	for status != mockstore.FoodAssigned && time.Now().Before(giveUp) {
		if err := sleep(ctx, time.Duration((0.4+0.2*u.vu.Rand.Float64())*float64(time.Second))); err != nil {
			return err
		}
		o, err := u.authed(ctx, http.MethodGet, path, nil, callOpts{endpoint: "food_order_get", journey: JourneyFoodDelivery, safe: true})
		if err != nil {
			return err
		}
		var now food.Order
		if o.ok && o.decode(&now) {
			if now.OrderID != order.OrderID {
				u.vu.Count(MetricCrossUserData, load.Tags{Endpoint: "food_order_get", Journey: JourneyFoodDelivery}, 1)
			} else {
				status = now.Status
			}
			u.crossUser(now.UserID, "food_order_get", JourneyFoodDelivery)
		}
	}
	return u.journey(ctx, JourneyFoodDelivery, status == mockstore.FoodAssigned)
}

// payAnswer is POST /api/v1/wallet/pay; Amount is nil when the answer has
// no number for it.
type payAnswer struct {
	PaymentID string `json:"payment_id"`
	Amount    *int64 `json:"amount"`
}

// qr pays a restaurant's QR code from the wallet (10 000 to 50 000, in
// thousands), with one Idempotency-Key kept across retries.
func (u *shopper) qr(ctx context.Context) error {
	amount := 1000 * (10 + u.vu.Rand.Int64N(41))
	return u.pay(ctx, qrPrefix+pick(u.person, u.s.qrIDs), amount)
}

// pay pays amount to the QR code. Money spent is counted as a checkout's
// is: a payment made lowers the balance the shopper knows of by what it
// took, and one whose outcome is not known (no answer, a 5xx) makes that
// balance unknown.
func (u *shopper) pay(ctx context.Context, code string, amount int64) error {
	r, err := u.authed(ctx, http.MethodPost, "/api/v1/wallet/pay", map[string]any{"qr": code, "amount": amount},
		callOpts{endpoint: "qr_pay", journey: JourneyQR, key: u.key("qr"), safe: true})
	if err != nil {
		return err
	}
	var paid payAnswer
	decoded := r.ok && r.decode(&paid)
	switch {
	case r.ok:
		took := amount
		if decoded && paid.Amount != nil && *paid.Amount > took {
			took = *paid.Amount
		}
		u.spent(took)
	case !(r.status >= 400 && r.status < 500):
		// No answer, or a 5xx: the wallet may have been charged all the same.
		u.spent(-1)
	}
	return u.journey(ctx, JourneyQR, decoded && paid.PaymentID != "")
}
