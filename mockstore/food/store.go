package food

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
)

// schema holds orders, their history and their chat. Times are Unix
// nanoseconds, UTC; seq (the rowid) is the order of arrival.
//
// idem_key is the key the request came with, always recorded, so the audit
// can show duplicates. dedup_key is the same key when IdempotentRequests was
// on and NULL when it was off: the partial unique indexes then hold the
// feature's promise in the store itself, and leave the naive duplicates be.
const schema = `
CREATE TABLE IF NOT EXISTS orders (
	seq           INTEGER PRIMARY KEY,
	id            TEXT    NOT NULL UNIQUE,
	user_id       TEXT    NOT NULL,
	restaurant_id TEXT    NOT NULL,
	idem_key      TEXT    NOT NULL,
	dedup_key     TEXT,
	request_hash  TEXT    NOT NULL,
	items         TEXT    NOT NULL,
	amount        INTEGER NOT NULL CHECK (amount > 0),
	status        TEXT    NOT NULL,
	driver_id     TEXT    NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS orders_dedup ON orders (user_id, dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS orders_queue ON orders (restaurant_id, status);
CREATE INDEX IF NOT EXISTS orders_offers ON orders (status, driver_id);
CREATE TABLE IF NOT EXISTS order_history (
	order_id TEXT    NOT NULL REFERENCES orders (id),
	seq      INTEGER NOT NULL,
	state    TEXT    NOT NULL,
	at       INTEGER NOT NULL,
	why      TEXT    NOT NULL,
	PRIMARY KEY (order_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
	seq       INTEGER PRIMARY KEY,
	id        TEXT    NOT NULL UNIQUE,
	order_id  TEXT    NOT NULL REFERENCES orders (id),
	sender    TEXT    NOT NULL,
	idem_key  TEXT    NOT NULL,
	dedup_key TEXT,
	text      TEXT    NOT NULL,
	at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_dedup ON messages (order_id, sender, dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_by_order ON messages (order_id);
`

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// order is an order as stored.
type order struct {
	ID           string
	UserID       string
	RestaurantID string
	Key          string
	RequestHash  string
	Items        []Item
	Amount       int64
	Status       string
	DriverID     string
	CreatedAt    time.Time
}

// view is the order as its parties see it.
func (o order) view() Order {
	return Order{OrderID: o.ID, UserID: o.UserID, RestaurantID: o.RestaurantID, Status: o.Status,
		Amount: o.Amount, Items: o.Items, DriverID: o.DriverID, CreatedAt: o.CreatedAt}
}

const orderColumns = `id, user_id, restaurant_id, idem_key, request_hash, items, amount, status, driver_id, created_at`

func scanOrder(row interface{ Scan(...any) error }) (order, error) {
	var o order
	var items string
	var created int64
	if err := row.Scan(&o.ID, &o.UserID, &o.RestaurantID, &o.Key, &o.RequestHash, &items, &o.Amount,
		&o.Status, &o.DriverID, &created); err != nil {
		return order{}, err
	}
	if err := json.Unmarshal([]byte(items), &o.Items); err != nil {
		return order{}, fmt.Errorf("order %s items: %w", o.ID, err)
	}
	o.CreatedAt = fromNanos(created)
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

// orderByKey returns the order userID placed under the deduplicating key;
// ok is false when there is none.
func orderByKey(ctx context.Context, q querier, userID, key string) (o order, ok bool, err error) {
	o, err = scanOrder(q.QueryRowContext(ctx,
		`SELECT `+orderColumns+` FROM orders WHERE user_id = ? AND dedup_key = ?`, userID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return order{}, false, nil
	}
	if err != nil {
		return order{}, false, fmt.Errorf("read order by key: %w", err)
	}
	return o, true, nil
}

// listOrders returns the orders a query selects (its WHERE clause and
// arguments), oldest first, at most limit.
func listOrders(ctx context.Context, q querier, where string, limit int, args ...any) ([]Order, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE `+where+` ORDER BY seq LIMIT ?`,
		append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	defer rows.Close()
	out := []Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, fmt.Errorf("list orders: %w", err)
		}
		out = append(out, o.view())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	return out, nil
}

// recordState appends a state change to order id's history.
func recordState(ctx context.Context, tx *sqlitestore.Tx, id, state, why string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO order_history (order_id, seq, state, at, why)
		VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM order_history WHERE order_id = ?), ?, ?, ?)`,
		id, id, state, at.UnixNano(), why); err != nil {
		return fmt.Errorf("record state of order %s: %w", id, err)
	}
	return nil
}

// message is a chat message as stored.
type message struct {
	ID      string
	OrderID string
	From    string
	Key     string
	Text    string
	At      time.Time
}

func (m message) view() Message {
	return Message{MessageID: m.ID, OrderID: m.OrderID, From: m.From, Text: m.Text, At: m.At}
}

const messageColumns = `id, order_id, sender, idem_key, text, at`

func scanMessage(row interface{ Scan(...any) error }) (message, error) {
	var m message
	var at int64
	if err := row.Scan(&m.ID, &m.OrderID, &m.From, &m.Key, &m.Text, &at); err != nil {
		return message{}, err
	}
	m.At = fromNanos(at)
	return m, nil
}

// messageByKey returns the message from sent on orderID under the
// deduplicating key; ok is false when there is none.
func messageByKey(ctx context.Context, q querier, orderID, from, key string) (m message, ok bool, err error) {
	m, err = scanMessage(q.QueryRowContext(ctx,
		`SELECT `+messageColumns+` FROM messages WHERE order_id = ? AND sender = ? AND dedup_key = ?`, orderID, from, key))
	if errors.Is(err, sql.ErrNoRows) {
		return message{}, false, nil
	}
	if err != nil {
		return message{}, false, fmt.Errorf("read message by key: %w", err)
	}
	return m, true, nil
}

// listMessages returns orderID's messages, oldest first.
func listMessages(ctx context.Context, q querier, orderID string) ([]Message, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE order_id = ? ORDER BY seq`, orderID)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("list messages: %w", err)
		}
		out = append(out, m.view())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return out, nil
}

// readAudit reads every order with its history and every message, oldest
// first, from one snapshot.
func (s *Service) readAudit(ctx context.Context) (mockstore.FoodAudit, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return mockstore.FoodAudit{}, fmt.Errorf("begin audit: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	a := mockstore.FoodAudit{Orders: []mockstore.FoodOrderRecord{}, Messages: []mockstore.ChatRecord{}}

	index := map[string]int{}
	err = eachRow(ctx, tx, `SELECT id, user_id, restaurant_id, idem_key, status, amount, driver_id, created_at
		FROM orders ORDER BY seq`, func(rows *sql.Rows) error {
		var rec mockstore.FoodOrderRecord
		var created int64
		if err := rows.Scan(&rec.OrderID, &rec.UserID, &rec.RestaurantID, &rec.Key, &rec.Status, &rec.Amount,
			&rec.DriverID, &created); err != nil {
			return err
		}
		rec.CreatedAt = fromNanos(created)
		rec.History = []mockstore.StateChange{}
		index[rec.OrderID] = len(a.Orders)
		a.Orders = append(a.Orders, rec)
		return nil
	})
	if err != nil {
		return mockstore.FoodAudit{}, fmt.Errorf("read orders: %w", err)
	}
	err = eachRow(ctx, tx, `SELECT order_id, state, at, why FROM order_history ORDER BY order_id, seq`, func(rows *sql.Rows) error {
		var id string
		var c mockstore.StateChange
		var at int64
		if err := rows.Scan(&id, &c.State, &at, &c.Why); err != nil {
			return err
		}
		c.At = fromNanos(at)
		if i, ok := index[id]; ok {
			a.Orders[i].History = append(a.Orders[i].History, c)
		}
		return nil
	})
	if err != nil {
		return mockstore.FoodAudit{}, fmt.Errorf("read history: %w", err)
	}
	err = eachRow(ctx, tx, `SELECT id, order_id, sender, idem_key, at FROM messages ORDER BY seq`, func(rows *sql.Rows) error {
		var rec mockstore.ChatRecord
		var at int64
		if err := rows.Scan(&rec.MessageID, &rec.OrderID, &rec.From, &rec.Key, &at); err != nil {
			return err
		}
		rec.At = fromNanos(at)
		a.Messages = append(a.Messages, rec)
		return nil
	})
	if err != nil {
		return mockstore.FoodAudit{}, fmt.Errorf("read messages: %w", err)
	}
	return a, nil
}

// eachRow runs query and calls fn on each of its rows.
func eachRow(ctx context.Context, q querier, query string, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
