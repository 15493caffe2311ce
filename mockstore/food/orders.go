package food

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
)

// Item is one dish of an order: Qty (1..MaxQty) of the restaurant's menu item.
type Item struct {
	ItemID string `json:"item_id"`
	Qty    int    `json:"qty"`
}

// PlaceRequest is the body of POST /orders: UserID (the shopper, from the
// gateway's session) orders Items (1..MaxItems distinct dishes) from
// RestaurantID.
type PlaceRequest struct {
	UserID       string `json:"user_id"`
	RestaurantID string `json:"restaurant_id"`
	Items        []Item `json:"items"`
}

// Order is a food order as its parties see it. Status is one of
// mockstore.FoodPlaced, FoodAccepted, FoodAssigned; DriverID is set once a
// driver took it. Amount is the sum of price×qty from the menu.
type Order struct {
	OrderID      string    `json:"order_id"`
	UserID       string    `json:"user_id"`
	RestaurantID string    `json:"restaurant_id"`
	Status       string    `json:"status"`
	Amount       int64     `json:"amount"`
	Items        []Item    `json:"items"`
	DriverID     string    `json:"driver_id,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	// Replayed is set on the answer to an Idempotency-Key seen before (the
	// order is the first one, in its current state).
	Replayed bool `json:"replayed,omitempty"`
}

// actRequest is the body of POST /orders/{id}/accept and /take.
type actRequest struct {
	As string `json:"as"`
}

// checkPlace validates req against the menu and returns its amount:
// invalid_request for a missing or malformed field, a quantity or item count
// out of range, a dish listed twice or not on the menu; not_found for an
// unknown restaurant.
func (s *Service) checkPlace(req PlaceRequest) (int64, error) {
	bad := func(format string, args ...any) (int64, error) {
		return 0, mockstore.Errorf(mockstore.CodeInvalidRequest, format, args...)
	}
	if err := checkID("user_id", req.UserID); err != nil {
		return 0, err
	}
	if err := checkID("restaurant_id", req.RestaurantID); err != nil {
		return 0, err
	}
	if len(req.Items) < 1 || len(req.Items) > MaxItems {
		return bad("%d items: an order has 1..%d", len(req.Items), MaxItems)
	}
	seen := map[string]bool{}
	for i, it := range req.Items {
		if err := checkID(fmt.Sprintf("items[%d].item_id", i), it.ItemID); err != nil {
			return 0, err
		}
		if it.Qty < 1 || it.Qty > MaxQty {
			return bad("items[%d] (%s): qty %d out of range (1..%d)", i, it.ItemID, it.Qty, MaxQty)
		}
		if seen[it.ItemID] {
			return bad("items[%d]: item %s is listed twice; give its total qty once", i, it.ItemID)
		}
		seen[it.ItemID] = true
	}
	r, ok := s.byID[req.RestaurantID]
	if !ok {
		return 0, mockstore.Errorf(mockstore.CodeNotFound, "no restaurant %q", req.RestaurantID)
	}
	var amount int64
	for i, it := range req.Items {
		m, ok := r.menu[it.ItemID]
		if !ok {
			return bad("items[%d]: item %q is not on the menu of %s", i, it.ItemID, r.ID)
		}
		amount += m.Price * int64(it.Qty)
	}
	return amount, nil
}

func requestHash(req PlaceRequest) string {
	b, _ := json.Marshal(req) // strings and ints always encode
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// place stores req as a new order under key, or, with IdempotentRequests on,
// returns the order the user placed under key before (replay true);
// idempotency_conflict when that order was for another request.
func (s *Service) place(ctx context.Context, key string, req PlaceRequest, amount int64) (o order, replay bool, err error) {
	hash := requestHash(req)
	err = s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		var dedup any // NULL: the naive store keeps every duplicate
		if s.idempotent {
			prev, ok, err := orderByKey(ctx, tx, req.UserID, key)
			if err != nil {
				return err
			}
			if ok {
				if prev.RequestHash != hash {
					return mockstore.Errorf(mockstore.CodeIdempotencyConflict,
						"%s %q was used for another order (%s)", IdempotencyHeader, clip(key), prev.ID)
				}
				o, replay = prev, true
				return nil
			}
			dedup = key
		}
		now := s.now().UTC()
		o = order{ID: newID("f"), UserID: req.UserID, RestaurantID: req.RestaurantID, Key: key, RequestHash: hash,
			Items: req.Items, Amount: amount, Status: mockstore.FoodPlaced, CreatedAt: now}
		items, err := json.Marshal(o.Items)
		if err != nil {
			return fmt.Errorf("encode items: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO orders
			(id, user_id, restaurant_id, idem_key, dedup_key, request_hash, items, amount, status, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.ID, o.UserID, o.RestaurantID, key, dedup, hash, string(items), o.Amount, o.Status, now.UnixNano()); err != nil {
			return fmt.Errorf("create order: %w", err)
		}
		return recordState(ctx, tx, o.ID, mockstore.FoodPlaced, "placed by "+o.UserID, now)
	})
	return o, replay, err
}

// party reports whether user may see order o: its shopper, its restaurant's
// merchant, or its driver.
func (s *Service) party(o order, user string) bool {
	if user == o.UserID || (o.DriverID != "" && user == o.DriverID) {
		return true
	}
	r, ok := s.byID[o.RestaurantID]
	return ok && r.Owner == user
}

// visibleOrder returns order id if user is a party to it; not_found when
// there is no such order or user is not a party, alike.
func (s *Service) visibleOrder(ctx context.Context, q querier, user, id string) (order, error) {
	o, err := loadOrder(ctx, q, id)
	if err != nil {
		return order{}, err
	}
	if !s.party(o, user) {
		return order{}, mockstore.Errorf(mockstore.CodeNotFound, "no order %q", id)
	}
	return o, nil
}

// accept moves order id from placed to accepted for the restaurant's
// merchant as. An order already accepted or assigned is returned unchanged.
// not_found for an unknown order, forbidden when as is not the merchant.
func (s *Service) accept(ctx context.Context, as, id string) (o order, err error) {
	err = s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		if o, err = loadOrder(ctx, tx, id); err != nil {
			return err
		}
		if r, ok := s.byID[o.RestaurantID]; !ok || r.Owner != as {
			return mockstore.Errorf(mockstore.CodeForbidden, "only the merchant of %s accepts its orders", o.RestaurantID)
		}
		if o.Status != mockstore.FoodPlaced {
			return nil
		}
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = ? WHERE id = ?`, mockstore.FoodAccepted, id); err != nil {
			return fmt.Errorf("accept order %s: %w", id, err)
		}
		o.Status = mockstore.FoodAccepted
		return recordState(ctx, tx, id, mockstore.FoodAccepted, "accepted by "+as, now)
	})
	return o, err
}

// take assigns order id to driver as. The same driver again gets the order
// unchanged. forbidden when as is not a driver, not_found for an unknown
// order, conflict when the restaurant has not accepted it or another driver
// has it.
func (s *Service) take(ctx context.Context, as, id string) (o order, err error) {
	if !s.drivers[as] {
		return order{}, mockstore.Errorf(mockstore.CodeForbidden, "%s is not a driver", as)
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		if o, err = loadOrder(ctx, tx, id); err != nil {
			return err
		}
		switch {
		case o.Status == mockstore.FoodPlaced:
			return mockstore.Errorf(mockstore.CodeConflict, "order %s: the restaurant has not accepted it yet", id)
		case o.Status == mockstore.FoodAssigned && o.DriverID == as:
			return nil
		case o.Status == mockstore.FoodAssigned:
			return mockstore.Errorf(mockstore.CodeConflict, "order %s: another driver took it", id)
		case o.Status != mockstore.FoodAccepted:
			return mockstore.Errorf(mockstore.CodeConflict, "order %s is %s: it cannot be taken", id, o.Status)
		}
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = ?, driver_id = ? WHERE id = ?`,
			mockstore.FoodAssigned, as, id); err != nil {
			return fmt.Errorf("assign order %s: %w", id, err)
		}
		o.Status, o.DriverID = mockstore.FoodAssigned, as
		return recordState(ctx, tx, id, mockstore.FoodAssigned, "taken by driver "+as, now)
	})
	return o, err
}

func (s *Service) handleRestaurants(w http.ResponseWriter, r *http.Request) {
	mockstore.WriteJSON(w, http.StatusOK, s.restaurants)
}

func (s *Service) handlePlace(w http.ResponseWriter, r *http.Request) {
	// The key is checked before the body, so a caller that forgot it is told
	// so whatever its body.
	key := r.Header.Get(IdempotencyHeader)
	if err := checkKey(key); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	var req PlaceRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	amount, err := s.checkPlace(req)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	o, replay, err := s.place(r.Context(), key, req, amount)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	v, status := o.view(), http.StatusCreated
	if replay {
		v.Replayed, status = true, http.StatusOK
	}
	mockstore.WriteJSON(w, status, v)
}

// asQuery returns the query parameter "as", or invalid_request.
func asQuery(r *http.Request) (string, error) {
	as := r.URL.Query().Get("as")
	return as, checkID("as", as)
}

// orderParam returns the path's order ID, or invalid_request.
func orderParam(r *http.Request) (string, error) {
	id := r.PathValue("id")
	return id, checkID("order ID", id)
}

// readAct reads the order ID of the path and the body {"as"}.
func readAct(w http.ResponseWriter, r *http.Request) (as, id string, err error) {
	if id, err = orderParam(r); err != nil {
		return "", "", err
	}
	var req actRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		return "", "", err
	}
	return req.As, id, checkID("as", req.As)
}

func (s *Service) handleOrder(w http.ResponseWriter, r *http.Request) {
	id, err := orderParam(r)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	as, err := asQuery(r)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	o, err := s.visibleOrder(r.Context(), s.db, as, id)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, o.view())
}

func (s *Service) handleQueue(w http.ResponseWriter, r *http.Request) {
	rid := r.PathValue("rid")
	if err := checkID("restaurant ID", rid); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	as, err := asQuery(r)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	rest, ok := s.byID[rid]
	if !ok {
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeNotFound, "no restaurant %q", rid))
		return
	}
	if rest.Owner != as {
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeForbidden, "only the merchant of %s sees its orders", rid))
		return
	}
	list, err := listOrders(r.Context(), s.db, `restaurant_id = ? AND status = ?`, listLimit, rid, mockstore.FoodPlaced)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, list)
}

func (s *Service) handleAccept(w http.ResponseWriter, r *http.Request) {
	as, id, err := readAct(w, r)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	o, err := s.accept(r.Context(), as, id)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, o.view())
}

func (s *Service) handleOffers(w http.ResponseWriter, r *http.Request) {
	as, err := asQuery(r)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if !s.drivers[as] {
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeForbidden, "%s is not a driver", as))
		return
	}
	list, err := listOrders(r.Context(), s.db, `status = ? AND driver_id = ''`, listLimit, mockstore.FoodAccepted)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, list)
}

func (s *Service) handleTake(w http.ResponseWriter, r *http.Request) {
	as, id, err := readAct(w, r)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	o, err := s.take(r.Context(), as, id)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, o.view())
}

func (s *Service) handleAudit(w http.ResponseWriter, r *http.Request) {
	a, err := s.readAudit(r.Context())
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, a)
}
