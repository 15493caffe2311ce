package checkout

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
)

// paymentMethods are the methods a checkout may name; only wallet is
// supported, the others are refused with payment_method_not_supported.
var paymentMethods = []string{mockstore.PaymentWallet, mockstore.PaymentCard, mockstore.PaymentCOD, mockstore.PaymentPaylater}

// transitions is the order state machine: from each state, the states it may
// move to. "" is the state before the order exists.
var transitions = map[string][]string{
	"":                            {mockstore.OrderCreated},
	mockstore.OrderCreated:        {mockstore.OrderPaymentPending},
	mockstore.OrderPaymentPending: {mockstore.OrderPaid, mockstore.OrderFailed},
	mockstore.OrderPaid:           {mockstore.OrderRefunded},
	mockstore.OrderFailed:         {mockstore.OrderRefunded},
}

// canTransition reports whether the state machine allows from → to.
func canTransition(from, to string) bool { return slices.Contains(transitions[from], to) }

// transition moves order id from one state to the next in tx and records the
// change with its time and reason. It returns a conflict error, and changes
// nothing, when the move is not allowed or the order is not in state from.
func transition(ctx context.Context, tx *sqlitestore.Tx, id, from, to, why string, at time.Time) error {
	if !canTransition(from, to) {
		return mockstore.Errorf(mockstore.CodeConflict, "order %s: illegal transition %s → %s", id, stateName(from), to)
	}
	res, err := tx.ExecContext(ctx, `UPDATE orders SET status = ? WHERE id = ? AND status = ?`, to, id, from)
	if err != nil {
		return fmt.Errorf("update order %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update order %s: %w", id, err)
	} else if n == 0 {
		var cur string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM orders WHERE id = ?`, id).Scan(&cur); err != nil {
			return mockstore.Errorf(mockstore.CodeNotFound, "no order %q", id)
		}
		return mockstore.Errorf(mockstore.CodeConflict, "order %s is %s, not %s: cannot move to %s", id, cur, from, to)
	}
	return recordState(ctx, tx, id, to, why, at)
}

// recordState appends a state change to the order's history.
func recordState(ctx context.Context, tx *sqlitestore.Tx, id, state, why string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO order_history (order_id, seq, state, at, why)
		VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM order_history WHERE order_id = ?), ?, ?, ?)`,
		id, id, state, nanos(at), why); err != nil {
		return fmt.Errorf("record state of order %s: %w", id, err)
	}
	return nil
}

func stateName(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// view is the order as its shopper sees it.
func (o order) view() Order {
	v := Order{OrderID: o.ID, Status: o.Status, Amount: o.Amount, Replayed: o.Replay}
	if o.RefundStatus != "" {
		v.Refund = &RefundInfo{Status: o.RefundStatus, At: o.RefundAt}
	}
	return v
}

// failure is the error a checkout that ended with the order failed answers.
func (o order) failure() *mockstore.Error {
	code := o.FailCode
	if code == "" {
		code = mockstore.CodeConflict
	}
	return &mockstore.Error{Code: code, Message: o.FailMessage}
}

func newOrderID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "o_" + hex.EncodeToString(b)
}

// paymentKey is the key K of an order's payment: derived from the order, so
// every attempt that reuses it is the same charge to the wallet.
func paymentKey(orderID string) string { return "chk-" + orderID }

func requestHash(req CheckoutRequest) string {
	b, _ := json.Marshal(req) // a struct of strings always encodes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// checkKey returns idempotency_key_required for an empty key and
// invalid_request for one that is too long or not printable ASCII.
func checkKey(key string) error {
	if key == "" {
		return mockstore.Errorf(mockstore.CodeIdempotencyKey, "the %s header is required", IdempotencyHeader)
	}
	if len(key) > maxKeyLen {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "%s over %d bytes", IdempotencyHeader, maxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return mockstore.Errorf(mockstore.CodeInvalidRequest, "%s must be printable ASCII without spaces", IdempotencyHeader)
		}
	}
	return nil
}

// checkRequest validates the shape of a checkout request: invalid_request for
// a missing or malformed field or a value outside its allowed set, forbidden
// for a user's cart that is not the caller's.
func checkRequest(req CheckoutRequest) error {
	bad := func(format string, args ...any) error {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, format, args...)
	}
	if !validID(req.UserID) {
		return bad("user_id %q: want 1..%d letters, digits, '.', '_', '-'", clip(req.UserID), maxIDLen)
	}
	if req.UserStatus != mockstore.StatusActive && req.UserStatus != mockstore.StatusRestricted {
		return bad("user_status %q (allowed: %s, %s)", clip(req.UserStatus), mockstore.StatusActive, mockstore.StatusRestricted)
	}
	if err := checkOwner(req.Owner); err != nil {
		return err
	}
	if kind, id, _ := strings.Cut(req.Owner, ":"); kind == "u" && id != req.UserID {
		return mockstore.Errorf(mockstore.CodeForbidden, "cart %s is not user %s's", req.Owner, req.UserID)
	}
	if l := strings.TrimSpace(req.Address.Line); l == "" || len(req.Address.Line) > maxAddressLine {
		return bad("address.line is required (at most %d bytes)", maxAddressLine)
	}
	if !utf8.ValidString(req.Address.Line) || strings.ContainsFunc(req.Address.Line, unicode.IsControl) {
		return bad("address.line must be text without control characters")
	}
	if !validID(req.Address.Area) {
		return bad("address.area %q: want an area name such as %s", clip(req.Address.Area), strings.Join(mockstore.Areas, ", "))
	}
	if !validID(req.Courier) {
		return bad("courier %q: want a courier ID", clip(req.Courier))
	}
	if !slices.Contains(paymentMethods, req.PaymentMethod) {
		return bad("payment_method %q (allowed: %s)", clip(req.PaymentMethod), strings.Join(paymentMethods, ", "))
	}
	return nil
}

// refuse checks, in their documented order, whether the storefront accepts
// req for cart, and returns the specific refusal if not.
func (s *Service) refuse(req CheckoutRequest, cart Cart) error {
	if req.UserStatus == mockstore.StatusRestricted {
		return mockstore.Errorf(mockstore.CodeAccountRestricted, "account %s is restricted and cannot check out", req.UserID)
	}
	if len(cart.Items) == 0 {
		return mockstore.Errorf(mockstore.CodeCartEmpty, "cart %s is empty", cart.Owner)
	}
	for _, it := range cart.Items {
		if _, ok := s.products[it.ProductID]; !ok {
			return mockstore.Errorf(mockstore.CodeUnknownProduct, "product %s in the cart is no longer in the catalogue; remove it", it.ProductID)
		}
	}
	if req.PaymentMethod != mockstore.PaymentWallet {
		return mockstore.Errorf(mockstore.CodePaymentUnsupported, "payment method %s is not supported (supported: %s)",
			req.PaymentMethod, mockstore.PaymentWallet)
	}
	c, ok := s.couriers[req.Courier]
	if !ok {
		ids := make([]string, 0, len(s.couriers))
		for _, c := range s.cfg.Dataset.Couriers {
			ids = append(ids, c.ID)
		}
		return mockstore.Errorf(mockstore.CodeUnknownCourier, "no courier %q (known: %s)", req.Courier, strings.Join(ids, ", "))
	}
	if !slices.Contains(c.Areas, req.Address.Area) {
		return mockstore.Errorf(mockstore.CodeAddressNotServed, "courier %s does not deliver to %s (it serves: %s)",
			c.ID, req.Address.Area, strings.Join(c.Areas, ", "))
	}
	weight := 0
	for _, it := range cart.Items {
		weight += s.products[it.ProductID].WeightG * it.Qty
	}
	if weight > c.MaxWeightG {
		return mockstore.Errorf(mockstore.CodeOverWeight, "the order weighs %d g; courier %s takes at most %d g", weight, c.ID, c.MaxWeightG)
	}
	for _, it := range cart.Items {
		if p := s.products[it.ProductID]; p.SizeCM > c.MaxSizeCM {
			return mockstore.Errorf(mockstore.CodeOverSize, "%s (%s) measures %d cm; courier %s takes at most %d cm",
				p.Name, p.ID, p.SizeCM, c.ID, c.MaxSizeCM)
		}
	}
	return nil
}

func (s *Service) handleCheckout(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get(IdempotencyHeader)
	if err := checkKey(key); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	var req CheckoutRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if err := checkRequest(req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	o, first, replay, err := s.placeOrder(r.Context(), key, req)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if replay {
		s.writeReplay(w, r, o)
		return
	}
	// The payment is not bound to the shopper's connection: hanging up must
	// not abandon a charge half-way.
	o, err = s.payInRequest(context.WithoutCancel(r.Context()), o, first)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if o.Status == mockstore.OrderFailed {
		s.errs.Write(w, r, o.failure())
		return
	}
	mockstore.WriteJSON(w, http.StatusCreated, o.view())
}

// writeReplay answers a checkout repeated with the same key and request: a
// failed order gives its failure again (insufficient_funds as the first time;
// otherwise conflict, since retrying the same key cannot revive it), any
// other order its current state with 200. The cart's order found under
// another key (ReplayCart) is never failed: it is answered 200 the same way.
func (s *Service) writeReplay(w http.ResponseWriter, r *http.Request, o order) {
	if o.FailCode != "" {
		e := o.failure()
		if e.Code != mockstore.CodeInsufficientFunds {
			e = mockstore.Errorf(mockstore.CodeConflict, "order %s is %s (%s); check out again with a new %s",
				o.ID, o.Status, o.FailMessage, IdempotencyHeader)
		}
		s.errs.Write(w, r, e)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, o.view())
}

// placeOrder returns the order userID placed under key before (replay true,
// Replay ReplayKey); with checkout_once_per_cart, the order the cart is
// ordered by already under another key (replay true, Replay ReplayCart, see
// cartOrder); or refuses req, or creates the order, moves it to payment_pending under its
// payment key and records the first payment attempt (first) — all in one
// transaction. A new order is returned claimed (see claim); the caller
// releases it. idempotency_conflict when the key was used for another request.
func (s *Service) placeOrder(ctx context.Context, key string, req CheckoutRequest) (o order, first attemptRecord, replay bool, err error) {
	hash := requestHash(req)
	id := newOrderID()
	s.claim(id)
	err = s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		prev, ok, err := orderByKey(ctx, tx, req.UserID, key)
		if err != nil {
			return err
		}
		if ok {
			if prev.RequestHash != hash {
				return mockstore.Errorf(mockstore.CodeIdempotencyConflict,
					"%s %q was used for another checkout (order %s)", IdempotencyHeader, clip(key), prev.ID)
			}
			o, replay = prev, true
			o.Replay = ReplayKey
			return nil
		}
		rev, err := cartRev(ctx, tx, req.Owner)
		if err != nil {
			return err
		}
		if s.cfg.Features.On(mockstore.CheckoutOncePerCart) {
			prev, ok, err := cartOrder(ctx, tx, req.UserID, req.Owner, rev)
			if err != nil {
				return err
			}
			if ok {
				o, replay = prev, true
				o.Replay = ReplayCart
				return nil
			}
		}
		cart, err := s.readCart(ctx, tx, req.Owner)
		if err != nil {
			return err
		}
		if err := s.refuse(req, cart); err != nil {
			return err
		}
		now := s.now()
		o = order{ID: id, UserID: req.UserID, IdemKey: key, RequestHash: hash, Owner: req.Owner,
			Items: cart.Items, Amount: cart.Total, Status: mockstore.OrderCreated, PaymentKey: paymentKey(id),
			CreatedAt: now.UTC(), CartRev: rev}
		items, err := json.Marshal(o.Items)
		if err != nil {
			return fmt.Errorf("encode items: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, user_id, idem_key, request_hash, owner, items, amount, status, payment_key, created_at, cart_rev)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.ID, o.UserID, key, hash, o.Owner, string(items), o.Amount, o.Status, o.PaymentKey, nanos(now), rev); err != nil {
			return fmt.Errorf("create order: %w", err)
		}
		if err := recordState(ctx, tx, o.ID, mockstore.OrderCreated,
			fmt.Sprintf("checkout of cart %s via %s to %s", o.Owner, req.Courier, req.Address.Area), now); err != nil {
			return err
		}
		if err := transition(ctx, tx, o.ID, mockstore.OrderCreated, mockstore.OrderPaymentPending,
			"charging the wallet under key "+o.PaymentKey, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET pending_since = ? WHERE id = ?`, nanos(now), o.ID); err != nil {
			return fmt.Errorf("update order: %w", err)
		}
		o.Status, o.PendingSince = mockstore.OrderPaymentPending, now.UTC()
		first, err = s.recordAttempt(ctx, tx, o, byCheckout)
		return err
	})
	if err != nil || replay {
		s.release(id)
	}
	return o, first, replay, err
}

// claim marks order id as being driven by the caller; false when someone else is.
func (s *Service) claim(id string) bool {
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	if s.busy[id] {
		return false
	}
	s.busy[id] = true
	return true
}

func (s *Service) release(id string) {
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	delete(s.busy, id)
}

func (s *Service) handleOrder(w http.ResponseWriter, r *http.Request) {
	id, userID := r.PathValue("id"), r.URL.Query().Get("user_id")
	if !validID(userID) {
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeInvalidRequest, "user_id %q: the query parameter is required", clip(userID)))
		return
	}
	if !validID(id) {
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeInvalidRequest, "order ID %q is malformed", clip(id)))
		return
	}
	o, err := loadOrder(r.Context(), s.db, id)
	if err == nil && o.UserID != userID {
		// Another user's order is not found, exactly as a missing one is.
		err = mockstore.Errorf(mockstore.CodeNotFound, "no order %q", id)
	}
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, o.view())
}

func (s *Service) handleRefund(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validID(id) {
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeInvalidRequest, "order ID %q is malformed", clip(id)))
		return
	}
	o, err := s.manualRefund(r.Context(), id)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, o.view())
}

func (s *Service) handleAuditOrders(w http.ResponseWriter, r *http.Request) {
	recs, err := s.auditOrders(r.Context())
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, recs)
}

// handleAuditCatalogue answers what refusals are decided by: the catalogue,
// the couriers and the supported payment methods, as this service holds
// them (its Dataset, in the dataset's order).
func (s *Service) handleAuditCatalogue(w http.ResponseWriter, r *http.Request) {
	mockstore.WriteJSON(w, http.StatusOK, mockstore.CatalogueAudit{
		Products:       s.cfg.Dataset.Products,
		Couriers:       s.cfg.Dataset.Couriers,
		PaymentMethods: []string{mockstore.PaymentWallet},
	})
}
