package checkout

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
)

// Limits of a cart.
const (
	MaxQty         = 99 // of one product in a cart, and of one add
	MaxCartLines   = 50 // distinct products in a cart
	maxIDLen       = 64 // user, guest, product and order IDs
	maxKeyLen      = 128
	maxAddressLine = 300
)

// validID reports whether s is a plausible identifier: 1..64 characters of
// letters, digits, '.', '_' and '-'.
func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// checkOwner returns invalid_request unless owner is "u:<user_id>" or
// "g:<guest_id>".
func checkOwner(owner string) error {
	kind, id, ok := strings.Cut(owner, ":")
	if !ok || (kind != "u" && kind != "g") || !validID(id) {
		return mockstore.Errorf(mockstore.CodeInvalidRequest,
			"owner %q: want u:<user_id> or g:<guest_id> (IDs of 1..%d letters, digits, '.', '_', '-')", clip(owner), maxIDLen)
	}
	return nil
}

// checkProductID returns invalid_request unless id is a plausible product
// ID (see validID): an ID that cannot be in the catalogue is a malformed
// request, not an unknown product.
func checkProductID(id string) error {
	if id == "" {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "product_id is required")
	}
	if !validID(id) {
		return mockstore.Errorf(mockstore.CodeInvalidRequest,
			"product_id %q: want 1..%d letters, digits, '.', '_', '-'", clip(id), maxIDLen)
	}
	return nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func (s *Service) handleProducts(w http.ResponseWriter, r *http.Request) {
	ps := s.cfg.Dataset.Products
	if ps == nil {
		ps = []mockstore.Product{}
	}
	mockstore.WriteJSON(w, http.StatusOK, ps)
}

func (s *Service) handleCart(w http.ResponseWriter, r *http.Request) {
	owner := r.PathValue("owner")
	if err := checkOwner(owner); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	cart, err := s.readCart(r.Context(), s.db, owner)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, cart)
}

func (s *Service) handleAddItem(w http.ResponseWriter, r *http.Request) {
	owner := r.PathValue("owner")
	if err := checkOwner(owner); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	var req AddItemRequest
	if err := mockstore.DecodeJSON(w, r, &req); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	cart, err := s.addItem(r.Context(), owner, req)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, cart)
}

func (s *Service) handleRemoveItem(w http.ResponseWriter, r *http.Request) {
	owner := r.PathValue("owner")
	if err := checkOwner(owner); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	productID := r.PathValue("product_id")
	if err := checkProductID(productID); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	cart, err := s.removeItem(r.Context(), owner, productID)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, cart)
}

// readCart returns owner's cart, priced from the catalogue. A line whose
// product left the catalogue is shown with price 0 (checkout refuses it).
func (s *Service) readCart(ctx context.Context, q querier, owner string) (Cart, error) {
	rows, err := q.QueryContext(ctx, `SELECT product_id, qty FROM cart_items WHERE owner = ? ORDER BY product_id`, owner)
	if err != nil {
		return Cart{}, fmt.Errorf("read cart: %w", err)
	}
	cart := Cart{Owner: owner, Items: []CartItem{}}
	for rows.Next() {
		var it CartItem
		if err := rows.Scan(&it.ProductID, &it.Qty); err != nil {
			_ = rows.Close()
			return Cart{}, fmt.Errorf("read cart: %w", err)
		}
		it.Price = s.products[it.ProductID].Price
		cart.Items = append(cart.Items, it)
		cart.Total += it.Price * int64(it.Qty)
	}
	if err := closeRows(rows); err != nil {
		return Cart{}, fmt.Errorf("read cart: %w", err)
	}
	return cart, nil
}

// addItem adds req.Qty of req.ProductID to owner's cart. invalid_request for
// a malformed product ID, a quantity outside 1..99 (also for the sum with
// what the cart holds) or a cart already at MaxCartLines products;
// unknown_product for a product not in the catalogue. Nothing is written on
// error.
func (s *Service) addItem(ctx context.Context, owner string, req AddItemRequest) (Cart, error) {
	if err := checkProductID(req.ProductID); err != nil {
		return Cart{}, err
	}
	if req.Qty < 1 || req.Qty > MaxQty {
		return Cart{}, mockstore.Errorf(mockstore.CodeInvalidRequest, "qty %d out of range (1..%d)", req.Qty, MaxQty)
	}
	if _, ok := s.products[req.ProductID]; !ok {
		return Cart{}, mockstore.Errorf(mockstore.CodeUnknownProduct, "no product %q in the catalogue", clip(req.ProductID))
	}
	var cart Cart
	err := s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		var have int
		err := tx.QueryRowContext(ctx, `SELECT qty FROM cart_items WHERE owner = ? AND product_id = ?`, owner, req.ProductID).Scan(&have)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			var lines int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM cart_items WHERE owner = ?`, owner).Scan(&lines); err != nil {
				return fmt.Errorf("count cart lines: %w", err)
			}
			if lines >= MaxCartLines {
				return mockstore.Errorf(mockstore.CodeInvalidRequest, "the cart already holds %d products (at most %d)", lines, MaxCartLines)
			}
		case err != nil:
			return fmt.Errorf("read cart line: %w", err)
		}
		if have+req.Qty > MaxQty {
			return mockstore.Errorf(mockstore.CodeInvalidRequest, "the cart holds %d of %s; adding %d would exceed %d",
				have, req.ProductID, req.Qty, MaxQty)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO cart_items (owner, product_id, qty) VALUES (?, ?, ?)
			ON CONFLICT (owner, product_id) DO UPDATE SET qty = qty + excluded.qty`, owner, req.ProductID, req.Qty); err != nil {
			return fmt.Errorf("write cart line: %w", err)
		}
		if err := bumpCart(ctx, tx, owner); err != nil {
			return err
		}
		cart, err = s.readCart(ctx, tx, owner)
		return err
	})
	return cart, err
}

// removeItem removes productID from owner's cart. Removing a catalogue
// product the cart does not hold is a no-op; an ID that is neither in the
// cart nor in the catalogue is unknown_product.
func (s *Service) removeItem(ctx context.Context, owner, productID string) (Cart, error) {
	var cart Cart
	err := s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM cart_items WHERE owner = ? AND product_id = ?`, owner, productID)
		if err != nil {
			return fmt.Errorf("delete cart line: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete cart line: %w", err)
		} else if n == 0 {
			if _, ok := s.products[productID]; !ok {
				return mockstore.Errorf(mockstore.CodeUnknownProduct, "no product %q in the catalogue", clip(productID))
			}
		} else if err := bumpCart(ctx, tx, owner); err != nil {
			return err
		}
		cart, err = s.readCart(ctx, tx, owner)
		return err
	})
	return cart, err
}

// bumpCart counts a change the shopper made to owner's cart: the cart's
// revision goes up by one. An order remembers the revision it was placed
// from, which is how checkout_once_per_cart tells the cart it ordered from
// the cart filled again since.
func bumpCart(ctx context.Context, tx *sqlitestore.Tx, owner string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO cart_revs (owner, rev) VALUES (?, 1)
		ON CONFLICT (owner) DO UPDATE SET rev = rev + 1`, owner); err != nil {
		return fmt.Errorf("count cart change: %w", err)
	}
	return nil
}

// cartRev returns the revision of owner's cart: 0 for a cart never changed.
func cartRev(ctx context.Context, q querier, owner string) (int64, error) {
	var rev int64
	err := q.QueryRowContext(ctx, `SELECT rev FROM cart_revs WHERE owner = ?`, owner).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read cart revision: %w", err)
	}
	return rev, nil
}

// takeFromCart removes what an order bought from owner's cart: each line
// loses the quantity bought (a line added to since is kept with the rest).
func takeFromCart(ctx context.Context, tx *sqlitestore.Tx, owner string, items []CartItem) error {
	for _, it := range items {
		// Delete first: the update below would otherwise bring a line into
		// the delete's range.
		if _, err := tx.ExecContext(ctx, `DELETE FROM cart_items WHERE owner = ? AND product_id = ? AND qty <= ?`,
			owner, it.ProductID, it.Qty); err != nil {
			return fmt.Errorf("empty cart: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cart_items SET qty = qty - ? WHERE owner = ? AND product_id = ?`,
			it.Qty, owner, it.ProductID); err != nil {
			return fmt.Errorf("empty cart: %w", err)
		}
	}
	return nil
}
