package checkout

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// schema holds carts and orders. Times are Unix nanoseconds, UTC.
//
// payment_attempts has one row per call to the wallet's charge, committed
// before the call (the first one with the order itself): outcome is empty
// while the call is out, or when the process died before the answer was
// recorded; then charged, refused or unknown, recorded in the transaction
// that acts on the answer. An order "may have been charged" when any
// attempt's outcome is not refused.
const schema = `
CREATE TABLE IF NOT EXISTS cart_items (
	owner      TEXT    NOT NULL,
	product_id TEXT    NOT NULL,
	qty        INTEGER NOT NULL CHECK (qty BETWEEN 1 AND 99),
	PRIMARY KEY (owner, product_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS orders (
	id            TEXT    PRIMARY KEY,
	user_id       TEXT    NOT NULL,
	idem_key      TEXT    NOT NULL,
	request_hash  TEXT    NOT NULL,
	owner         TEXT    NOT NULL,
	items         TEXT    NOT NULL,
	amount        INTEGER NOT NULL CHECK (amount > 0),
	status        TEXT    NOT NULL,
	payment_key   TEXT    NOT NULL UNIQUE,
	fail_code     TEXT    NOT NULL DEFAULT '',
	fail_message  TEXT    NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL,
	pending_since INTEGER NOT NULL DEFAULT 0,
	refund_status TEXT    NOT NULL DEFAULT '',
	refund_at     INTEGER NOT NULL DEFAULT 0,
	UNIQUE (user_id, idem_key)
);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status);
CREATE TABLE IF NOT EXISTS order_history (
	order_id TEXT    NOT NULL REFERENCES orders (id),
	seq      INTEGER NOT NULL,
	state    TEXT    NOT NULL,
	at       INTEGER NOT NULL,
	why      TEXT    NOT NULL,
	PRIMARY KEY (order_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS payment_attempts (
	order_id TEXT    NOT NULL REFERENCES orders (id),
	seq      INTEGER NOT NULL,
	key      TEXT    NOT NULL,
	by       TEXT    NOT NULL,
	at       INTEGER NOT NULL,
	outcome  TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (order_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS refund_outbox (
	order_id   TEXT    PRIMARY KEY REFERENCES orders (id),
	queued_at  INTEGER NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	next_at    INTEGER NOT NULL,
	done_at    INTEGER NOT NULL DEFAULT 0,
	last_error TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refund_outbox_due ON refund_outbox (done_at, next_at);
`

// cartRevisions, the schema's second version, counts the shopper's changes to
// each cart (cart_revs.rev, bumped by every add or removal) and keeps with
// each order the revision of the cart it was placed from (orders.cart_rev).
const cartRevisions = `
CREATE TABLE cart_revs (
	owner TEXT    PRIMARY KEY,
	rev   INTEGER NOT NULL
) WITHOUT ROWID;
ALTER TABLE orders ADD COLUMN cart_rev INTEGER NOT NULL DEFAULT 0;
CREATE INDEX orders_by_owner ON orders (owner, status);
`

// Outcomes of a payment attempt.
const (
	attemptOut      = ""
	attemptCharged  = "charged"
	attemptRefused  = "refused"
	attemptUnknown  = "unknown"
	byCheckout      = "checkout"
	byCheckoutRetry = "checkout_retry"
	byReconciler    = "reconciler"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func nanos(t time.Time) int64 { return t.UnixNano() }

// fromNanos is the inverse of nanos; 0 is the zero time.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// order is an order as stored.
type order struct {
	ID           string
	UserID       string
	IdemKey      string
	RequestHash  string
	Owner        string
	Items        []CartItem
	Amount       int64
	Status       string
	PaymentKey   string
	FailCode     mockstore.Code
	FailMessage  string
	CreatedAt    time.Time
	PendingSince time.Time
	RefundStatus string
	RefundAt     time.Time
	CartRev      int64 // the revision of the cart it was placed from
	// Replay says why a checkout answered with this order rather than a new
	// one: ReplayKey or ReplayCart; "" for a new order.
	Replay string
}

const orderColumns = `id, user_id, idem_key, request_hash, owner, items, amount, status, payment_key,
	fail_code, fail_message, created_at, pending_since, refund_status, refund_at, cart_rev`

func scanOrder(row interface{ Scan(...any) error }) (order, error) {
	var (
		o                          order
		items, failCode            string
		created, pending, refundAt int64
	)
	if err := row.Scan(&o.ID, &o.UserID, &o.IdemKey, &o.RequestHash, &o.Owner, &items, &o.Amount, &o.Status,
		&o.PaymentKey, &failCode, &o.FailMessage, &created, &pending, &o.RefundStatus, &refundAt, &o.CartRev); err != nil {
		return order{}, err
	}
	if err := json.Unmarshal([]byte(items), &o.Items); err != nil {
		return order{}, fmt.Errorf("order %s items: %w", o.ID, err)
	}
	o.FailCode = mockstore.Code(failCode)
	o.CreatedAt, o.PendingSince, o.RefundAt = fromNanos(created), fromNanos(pending), fromNanos(refundAt)
	return o, nil
}

// loadOrder returns the order id; not_found when there is none.
func loadOrder(ctx context.Context, q querier, id string) (order, error) {
	o, err := scanOrder(q.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return order{}, mockstore.Errorf(mockstore.CodeNotFound, "no order %q", id)
	}
	if err != nil {
		return order{}, fmt.Errorf("read order: %w", err)
	}
	return o, nil
}

// orderByKey returns userID's order placed under idempotency key; ok is false
// when there is none.
func orderByKey(ctx context.Context, q querier, userID, key string) (o order, ok bool, err error) {
	o, err = scanOrder(q.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE user_id = ? AND idem_key = ?`, userID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return order{}, false, nil
	}
	if err != nil {
		return order{}, false, fmt.Errorf("read order by key: %w", err)
	}
	return o, true, nil
}

// cartOrder returns the order that userID's cart owner is ordered by already
// (ok false when none): the newest order of the cart still being paid
// (created or payment_pending), whatever the cart holds now, since its items
// leave the cart only once it is paid; else the newest order paid from the
// cart at revision rev, the cart as it is now — not changed by its shopper
// since. A failed order does not count: its cart may be ordered again.
func cartOrder(ctx context.Context, q querier, userID, owner string, rev int64) (o order, ok bool, err error) {
	o, err = scanOrder(q.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders
		WHERE user_id = ? AND owner = ? AND (status IN (?, ?) OR (status = ? AND cart_rev = ?))
		ORDER BY rowid DESC LIMIT 1`,
		userID, owner, mockstore.OrderCreated, mockstore.OrderPaymentPending, mockstore.OrderPaid, rev))
	if errors.Is(err, sql.ErrNoRows) {
		return order{}, false, nil
	}
	if err != nil {
		return order{}, false, fmt.Errorf("read the cart's order: %w", err)
	}
	return o, true, nil
}

// ordersIn returns the IDs of the orders in state, oldest first.
func ordersIn(ctx context.Context, q querier, state string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM orders WHERE status = ? ORDER BY rowid`, state)
	if err != nil {
		return nil, fmt.Errorf("list %s orders: %w", state, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list %s orders: %w", state, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s orders: %w", state, err)
	}
	return ids, nil
}

// auditOrders reads every order with its history and payment keys, oldest
// first, from one snapshot.
func (s *Service) auditOrders(ctx context.Context) ([]mockstore.OrderRecord, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("begin audit: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	out := []mockstore.OrderRecord{}
	index := map[string]int{}
	rows, err := tx.QueryContext(ctx, `SELECT id, user_id, owner, cart_rev, status, amount, created_at FROM orders ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("read orders: %w", err)
	}
	for rows.Next() {
		var rec mockstore.OrderRecord
		var created int64
		if err := rows.Scan(&rec.OrderID, &rec.UserID, &rec.Cart, &rec.CartRev, &rec.Status, &rec.Amount, &created); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("read orders: %w", err)
		}
		rec.CreatedAt = fromNanos(created)
		rec.PaymentKeys = []string{}
		rec.History = []mockstore.StateChange{}
		index[rec.OrderID] = len(out)
		out = append(out, rec)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("read orders: %w", err)
	}

	rows, err = tx.QueryContext(ctx, `SELECT order_id, state, at, why FROM order_history ORDER BY order_id, seq`)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	for rows.Next() {
		var id string
		var c mockstore.StateChange
		var at int64
		if err := rows.Scan(&id, &c.State, &at, &c.Why); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("read history: %w", err)
		}
		c.At = fromNanos(at)
		if i, ok := index[id]; ok {
			out[i].History = append(out[i].History, c)
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}

	rows, err = tx.QueryContext(ctx, `SELECT order_id, key FROM payment_attempts ORDER BY order_id, seq`)
	if err != nil {
		return nil, fmt.Errorf("read payment keys: %w", err)
	}
	for rows.Next() {
		var id, key string
		if err := rows.Scan(&id, &key); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("read payment keys: %w", err)
		}
		i, ok := index[id]
		if !ok {
			continue
		}
		if !slices.Contains(out[i].PaymentKeys, key) {
			out[i].PaymentKeys = append(out[i].PaymentKeys, key)
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("read payment keys: %w", err)
	}
	return out, nil
}

func closeRows(rows *sql.Rows) error {
	if err := rows.Close(); err != nil {
		return err
	}
	return rows.Err()
}
