package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/food"
	"github.com/gameday/gameday/mockstore/wallet"
)

// QRPrefix starts every payment QR code the storefront prints: the rest is
// the merchant's ID ("gameday:pay:r01").
const QRPrefix = "gameday:pay:"

// MaxPayment is the largest single QR payment, smallest unit.
const MaxPayment = 10_000_000

// ---- QR payments

type payRequest struct {
	QR     string `json:"qr"`
	Amount int64  `json:"amount"`
}

type payResponse struct {
	PaymentID string `json:"payment_id"`
	OrderID   string `json:"order_id"`
	Amount    int64  `json:"amount"`
	Balance   int64  `json:"balance"`
	Replayed  bool   `json:"replayed,omitempty"`
}

// handlePay pays a merchant's QR code from the shopper's wallet. The
// payment is the wallet order "qr-<user>-<key>". With idempotent_payments on
// the wallet charge is keyed by the shopper's Idempotency-Key, so a retry —
// the gateway's own or the shopper's after a lost answer — is the same
// charge; off, every attempt gets a fresh key, so a retry charges again (the
// incident's "scan failed" that took the money twice).
func (s *Service) handlePay(w http.ResponseWriter, r *http.Request) {
	token, ok := s.credential(w, r)
	if !ok {
		return
	}
	key, ok := s.idempotencyKey(w, r, "payment")
	if !ok {
		return
	}
	var req payRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	merchant, found := strings.CutPrefix(req.QR, QRPrefix)
	if !found || !validID(merchant, 1) {
		s.errs.Write(w, r, badRequest("qr %q is not a payment code: want %s<merchant id>", clip(req.QR), QRPrefix))
		return
	}
	if req.Amount < 1 || req.Amount > MaxPayment {
		s.errs.Write(w, r, badRequest("amount %d out of range (1..%d)", req.Amount, MaxPayment))
		return
	}
	id, ok := s.validate(w, r, token)
	if !ok {
		return
	}
	order := "qr-" + id.UserID + "-" + key
	var ch wallet.Charge
	err := s.up[upstreamWallet].do(r.Context(), true, func(ctx context.Context) error {
		walletKey := "qr:" + id.UserID + ":" + key
		if !s.features.On(mockstore.IdempotentPayments) {
			walletKey = "qr:" + id.UserID + ":" + freshKey()
		}
		var err error
		ch, err = s.wallet.Charge(ctx, walletKey, wallet.ChargeRequest{UserID: id.UserID, OrderID: order, Amount: req.Amount})
		return err
	})
	if err != nil {
		s.fail(w, r, err, "QR payment", "retry with the same "+IdempotencyHeader+": you will not be charged twice")
		return
	}
	s.balances.put(id.UserID, ch.Balance, mockstore.Currency, s.now())
	mockstore.WriteJSON(w, http.StatusOK, payResponse{PaymentID: ch.ChargeID, OrderID: order, Amount: ch.Amount, Balance: ch.Balance, Replayed: ch.Replayed})
}

// freshKey is a random key: what a payment gets per attempt without
// idempotent_payments.
func freshKey() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ---- food: restaurants, orders, merchants, drivers, chat

// publicRestaurant is a restaurant as shoppers see it (without its
// merchant's user ID).
type publicRestaurant struct {
	ID   string               `json:"id"`
	Name string               `json:"name"`
	Menu []mockstore.MenuItem `json:"menu"`
}

type placeFoodRequest struct {
	RestaurantID string      `json:"restaurant_id"`
	Items        []food.Item `json:"items"`
}

type messageRequest struct {
	Text string `json:"text"`
}

func (s *Service) handleRestaurants(w http.ResponseWriter, r *http.Request) {
	var rs []mockstore.Restaurant
	err := s.up[upstreamFood].do(r.Context(), true, func(ctx context.Context) error {
		var err error
		rs, err = s.food.Restaurants(ctx)
		return err
	})
	if err != nil {
		s.fail(w, r, err, "restaurants", "")
		return
	}
	out := make([]publicRestaurant, 0, len(rs))
	for _, x := range rs {
		menu := x.Menu
		if menu == nil {
			menu = []mockstore.MenuItem{}
		}
		out = append(out, publicRestaurant{ID: x.ID, Name: x.Name, Menu: menu})
	}
	mockstore.WriteJSON(w, http.StatusOK, out)
}

// handlePlaceFood orders from a restaurant. The Idempotency-Key is required
// and passed on; the call is retried as idempotent (food stores a key once
// with idempotent_requests on).
func (s *Service) handlePlaceFood(w http.ResponseWriter, r *http.Request) {
	token, ok := s.credential(w, r)
	if !ok {
		return
	}
	key, ok := s.idempotencyKey(w, r, "food order")
	if !ok {
		return
	}
	var req placeFoodRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if !validID(req.RestaurantID, 1) {
		s.errs.Write(w, r, badRequest("restaurant_id: want 1..%d letters, digits, '.', '_' or '-'", maxIDLen))
		return
	}
	if len(req.Items) < 1 || len(req.Items) > food.MaxItems {
		s.errs.Write(w, r, badRequest("items: want 1..%d menu items", food.MaxItems))
		return
	}
	for i, it := range req.Items {
		if !validID(it.ItemID, 1) {
			s.errs.Write(w, r, badRequest("items[%d].item_id: want a menu item id", i))
			return
		}
		if it.Qty < 1 || it.Qty > food.MaxQty {
			s.errs.Write(w, r, badRequest("items[%d].qty %d out of range (1..%d)", i, it.Qty, food.MaxQty))
			return
		}
	}
	id, ok := s.validate(w, r, token)
	if !ok {
		return
	}
	var o food.Order
	err := s.up[upstreamFood].do(r.Context(), true, func(ctx context.Context) error {
		var err error
		o, err = s.food.Place(ctx, key, food.PlaceRequest{UserID: id.UserID, RestaurantID: req.RestaurantID, Items: req.Items})
		return err
	})
	if err != nil {
		s.fail(w, r, err, "food ordering", "retry with the same "+IdempotencyHeader+": the order is placed once")
		return
	}
	status := http.StatusCreated
	if o.Replayed {
		status = http.StatusOK
	}
	mockstore.WriteJSON(w, status, o)
}

// foodOrderID reads the order id of the path, answering a malformed one.
func (s *Service) foodOrderID(w http.ResponseWriter, r *http.Request) (string, bool) {
	oid := r.PathValue("id")
	if !validID(oid, 1) {
		s.errs.Write(w, r, badRequest("order id: want 1..%d letters, digits, '.', '_' or '-'", maxIDLen))
		return "", false
	}
	return oid, true
}

// foodCall validates the session, runs fn as the caller against food (every
// such call is idempotent: a read, or a state change that repeated is the
// same change; it is retried) and answers its result 200.
func foodCall[T any](s *Service, w http.ResponseWriter, r *http.Request, token string, what, hint string,
	fn func(ctx context.Context, as string) (T, error)) {
	id, ok := s.validate(w, r, token)
	if !ok {
		return
	}
	var out T
	err := s.up[upstreamFood].do(r.Context(), true, func(ctx context.Context) error {
		var err error
		out, err = fn(ctx, id.UserID)
		return err
	})
	if err != nil {
		s.fail(w, r, err, what, hint)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleFoodOrder(w http.ResponseWriter, r *http.Request) {
	token, ok := s.credential(w, r)
	if !ok {
		return
	}
	oid, ok := s.foodOrderID(w, r)
	if !ok {
		return
	}
	foodCall(s, w, r, token, "your food order", "", func(ctx context.Context, as string) (food.Order, error) {
		return s.food.Order(ctx, as, oid)
	})
}

// handleMerchantQueue lists the orders of the caller's restaurant waiting for
// the merchant to accept them.
func (s *Service) handleMerchantQueue(w http.ResponseWriter, r *http.Request) {
	token, ok := s.credential(w, r)
	if !ok {
		return
	}
	rid := r.PathValue("id")
	if !validID(rid, 1) {
		s.errs.Write(w, r, badRequest("restaurant id: want 1..%d letters, digits, '.', '_' or '-'", maxIDLen))
		return
	}
	foodCall(s, w, r, token, "your restaurant's orders", "", func(ctx context.Context, as string) ([]food.Order, error) {
		os, err := s.food.Queue(ctx, as, rid)
		if os == nil {
			os = []food.Order{}
		}
		return os, err
	})
}

// handleAccept is the merchant accepting an order; accepting twice is the
// same acceptance, so it is retried as idempotent.
func (s *Service) handleAccept(w http.ResponseWriter, r *http.Request) {
	token, ok := s.credential(w, r)
	if !ok {
		return
	}
	oid, ok := s.foodOrderID(w, r)
	if !ok {
		return
	}
	foodCall(s, w, r, token, "accepting orders", "retry: accepting twice is accepting once", func(ctx context.Context, as string) (food.Order, error) {
		return s.food.Accept(ctx, as, oid)
	})
}

// handleOffers lists the accepted orders no driver has taken yet.
func (s *Service) handleOffers(w http.ResponseWriter, r *http.Request) {
	token, ok := s.credential(w, r)
	if !ok {
		return
	}
	foodCall(s, w, r, token, "delivery offers", "", func(ctx context.Context, as string) ([]food.Order, error) {
		os, err := s.food.Offers(ctx, as)
		if os == nil {
			os = []food.Order{}
		}
		return os, err
	})
}

// handleTake is a driver taking a delivery; taking it again is the same
// take, so it is retried as idempotent.
func (s *Service) handleTake(w http.ResponseWriter, r *http.Request) {
	token, ok := s.credential(w, r)
	if !ok {
		return
	}
	oid, ok := s.foodOrderID(w, r)
	if !ok {
		return
	}
	foodCall(s, w, r, token, "taking deliveries", "retry: taking it twice is taking it once", func(ctx context.Context, as string) (food.Order, error) {
		return s.food.Take(ctx, as, oid)
	})
}

// handlePostMessage sends a chat message on a food order. The
// Idempotency-Key is required and passed on, so a retry after a lost answer
// is the same message (with idempotent_requests on).
func (s *Service) handlePostMessage(w http.ResponseWriter, r *http.Request) {
	token, ok := s.credential(w, r)
	if !ok {
		return
	}
	oid, ok := s.foodOrderID(w, r)
	if !ok {
		return
	}
	key, ok := s.idempotencyKey(w, r, "message")
	if !ok {
		return
	}
	var req messageRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if err := checkText(req.Text); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	id, ok := s.validate(w, r, token)
	if !ok {
		return
	}
	var m food.Message
	err := s.up[upstreamFood].do(r.Context(), true, func(ctx context.Context) error {
		var err error
		m, err = s.food.Post(ctx, key, id.UserID, oid, req.Text)
		return err
	})
	if err != nil {
		s.fail(w, r, err, "chat", "retry with the same "+IdempotencyHeader+": the message is sent once")
		return
	}
	status := http.StatusCreated
	if m.Replayed {
		status = http.StatusOK
	}
	mockstore.WriteJSON(w, status, m)
}

func (s *Service) handleMessages(w http.ResponseWriter, r *http.Request) {
	token, ok := s.credential(w, r)
	if !ok {
		return
	}
	oid, ok := s.foodOrderID(w, r)
	if !ok {
		return
	}
	foodCall(s, w, r, token, "chat", "", func(ctx context.Context, as string) ([]food.Message, error) {
		ms, err := s.food.Messages(ctx, as, oid)
		if ms == nil {
			ms = []food.Message{}
		}
		return ms, err
	})
}

// checkText accepts 1..food.MaxText characters of UTF-8 text without
// control characters.
func checkText(t string) error {
	switch {
	case strings.TrimSpace(t) == "" || utf8.RuneCountInString(t) > food.MaxText:
		return badRequest("text: want 1..%d characters", food.MaxText)
	case !utf8.ValidString(t) || strings.ContainsFunc(t, unicode.IsControl):
		return badRequest("text: want UTF-8 text without control characters")
	}
	return nil
}
