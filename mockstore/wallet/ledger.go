package wallet

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
)

// Ledger accounts that are not shoppers. Money enters the wallet from the
// external accounts (which therefore go negative) and leaves it to the
// merchant.
const (
	acctOpening  = "external:opening"
	acctTopup    = "external:topup"
	acctMerchant = "merchant"
)

// Transaction kinds.
const (
	kindOpening = "opening"
	kindTopup   = "topup"
	kindCharge  = "charge"
	kindRefund  = "refund"
)

// schemaVersion is what a seeded ledger's meta row "schema" says, the row
// whose presence tells a seeded ledger from a new one. The file's own schema
// version, which Open checks, is its user_version (see sqlitestore.Open).
const schemaVersion = "1"

// schema is the ledger. accounts.balance is the stored balance; entries is
// the ledger it must equal. A shopper account can never go below zero (the
// CHECK is a second line behind the code's own check).
const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS accounts (
	id      TEXT PRIMARY KEY,
	kind    TEXT NOT NULL CHECK (kind IN ('shopper', 'system')),
	balance INTEGER NOT NULL,
	CHECK (kind = 'system' OR balance >= 0)
) STRICT;
CREATE TABLE IF NOT EXISTS txns (
	id   INTEGER PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind IN ('opening', 'topup', 'charge', 'refund')),
	ref  TEXT NOT NULL,
	at   INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS entries (
	txn     INTEGER NOT NULL REFERENCES txns(id),
	account TEXT NOT NULL REFERENCES accounts(id),
	amount  INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS entries_account ON entries(account);
CREATE TABLE IF NOT EXISTS topups (
	user_id   TEXT NOT NULL REFERENCES accounts(id),
	reference TEXT NOT NULL,
	id        TEXT NOT NULL UNIQUE,
	amount    INTEGER NOT NULL CHECK (amount > 0),
	balance   INTEGER NOT NULL,
	at        INTEGER NOT NULL,
	PRIMARY KEY (user_id, reference)
) STRICT;
CREATE TABLE IF NOT EXISTS charges (
	seq      INTEGER PRIMARY KEY,
	key      TEXT NOT NULL UNIQUE,
	id       TEXT NOT NULL UNIQUE,
	user_id  TEXT NOT NULL REFERENCES accounts(id),
	order_id TEXT NOT NULL,
	amount   INTEGER NOT NULL CHECK (amount > 0),
	balance  INTEGER NOT NULL,
	at       INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS charges_order ON charges(order_id);
CREATE TABLE IF NOT EXISTS refunds (
	order_id TEXT PRIMARY KEY,
	id       TEXT NOT NULL UNIQUE,
	amount   INTEGER NOT NULL CHECK (amount >= 0),
	at       INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS refund_lines (
	refund_id TEXT NOT NULL REFERENCES refunds(id),
	charge_id TEXT NOT NULL REFERENCES charges(id),
	amount    INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS refund_lines_charge ON refund_lines(charge_id);
`

// Input limits.
const (
	// MaxAmount is the largest amount of one top-up or charge.
	MaxAmount = 1_000_000_000_000
	// maxIDLen bounds user IDs, order IDs, references and keys.
	maxIDLen = 200
)

// leg is one entry of a transaction.
type leg struct {
	account string
	amount  int64
}

// seed gives the opening balances of d.Users to a ledger that has none yet
// (one without its meta rows), in one transaction: a crash while seeding
// leaves a ledger without them, never a half-seeded one. A ledger seeded
// before keeps its state. It reports whether it seeded.
func (s *Service) seed(ctx context.Context, d mockstore.Dataset) (bool, error) {
	seeded := false
	err := s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		var version string
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema'`).Scan(&version)
		switch {
		case err == nil:
			var seed string
			_ = tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'dataset_seed'`).Scan(&seed)
			if seed != strconv.FormatInt(d.Seed, 10) {
				s.log.Warn("existing ledger was seeded from another dataset; keeping its state",
					"ledger_seed", seed, "dataset_seed", d.Seed)
			}
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read ledger meta: %w", err)
		}
		if err := seedLedger(ctx, tx, d, s.now()); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		seeded = true
		return nil
	})
	return seeded, err
}

func seedLedger(ctx context.Context, tx *sqlitestore.Tx, d mockstore.Dataset, now time.Time) error {
	meta := [][2]string{
		{"schema", schemaVersion},
		{"dataset_seed", strconv.FormatInt(d.Seed, 10)},
		{"users", strconv.Itoa(len(d.Users))},
	}
	for _, kv := range meta {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)`, kv[0], kv[1]); err != nil {
			return fmt.Errorf("write meta: %w", err)
		}
	}
	for _, a := range []string{acctOpening, acctTopup, acctMerchant} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, kind, balance) VALUES (?, 'system', 0)`, a); err != nil {
			return fmt.Errorf("create account %s: %w", a, err)
		}
	}
	for _, u := range d.Users {
		if u.ID == "" || len(u.ID) > maxIDLen {
			return fmt.Errorf("user %q: bad id", u.ID)
		}
		if u.Balance < 0 {
			return fmt.Errorf("user %s: negative opening balance %d", u.ID, u.Balance)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, kind, balance) VALUES (?, 'shopper', 0)`, u.ID); err != nil {
			return fmt.Errorf("create account %s: %w", u.ID, err)
		}
		if u.Balance == 0 {
			continue
		}
		if err := post(ctx, tx, kindOpening, "open:"+u.ID, now, leg{acctOpening, -u.Balance}, leg{u.ID, u.Balance}); err != nil {
			return err
		}
	}
	return nil
}

// post writes one balanced transaction: its entries and the matching change
// of every stored balance. Legs that do not sum to zero are a bug and are
// refused.
func post(ctx context.Context, tx *sqlitestore.Tx, kind, ref string, at time.Time, legs ...leg) error {
	var sum int64
	for _, l := range legs {
		sum += l.amount
	}
	if sum != 0 {
		return fmt.Errorf("post %s %s: entries sum to %d, not 0", kind, ref, sum)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO txns (kind, ref, at) VALUES (?, ?, ?)`, kind, ref, at.UnixNano())
	if err != nil {
		return fmt.Errorf("post %s %s: %w", kind, ref, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("post %s %s: %w", kind, ref, err)
	}
	for _, l := range legs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO entries (txn, account, amount) VALUES (?, ?, ?)`, id, l.account, l.amount); err != nil {
			return fmt.Errorf("post %s %s: entry %s: %w", kind, ref, l.account, err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET balance = balance + ? WHERE id = ?`, l.amount, l.account)
		if err != nil {
			return fmt.Errorf("post %s %s: balance %s: %w", kind, ref, l.account, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("post %s %s: balance %s: %d rows, %v", kind, ref, l.account, n, err)
		}
	}
	return nil
}

// shopperBalance returns userID's stored balance, or not_found.
func shopperBalance(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, userID string) (int64, error) {
	var bal int64
	err := q.QueryRowContext(ctx, `SELECT balance FROM accounts WHERE id = ? AND kind = 'shopper'`, userID).Scan(&bal)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, mockstore.Errorf(mockstore.CodeNotFound, "no account for user %q", userID)
	}
	if err != nil {
		return 0, fmt.Errorf("read balance: %w", err)
	}
	return bal, nil
}

// account reads userID's balance as of now.
func (s *Service) account(ctx context.Context, userID string) (Account, error) {
	if err := checkID("user_id", userID); err != nil {
		return Account{}, err
	}
	bal, err := shopperBalance(ctx, s.db, userID)
	if err != nil {
		return Account{}, err
	}
	return Account{UserID: userID, Balance: bal, Currency: mockstore.Currency, AsOf: s.now().UTC()}, nil
}

// topup adds amount to userID's balance, idempotently by (userID, reference).
func (s *Service) topup(ctx context.Context, userID string, amount int64, reference string) (Topup, error) {
	if err := checkID("user_id", userID); err != nil {
		return Topup{}, err
	}
	if err := checkID("reference", reference); err != nil {
		return Topup{}, err
	}
	if err := checkAmount(amount); err != nil {
		return Topup{}, err
	}
	var out Topup
	err := s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		bal, err := shopperBalance(ctx, tx, userID)
		if err != nil {
			return err
		}
		var prevAmount int64
		err = tx.QueryRowContext(ctx, `SELECT id, amount, balance FROM topups WHERE user_id = ? AND reference = ?`, userID, reference).
			Scan(&out.TopupID, &prevAmount, &out.Balance)
		switch {
		case err == nil:
			if prevAmount != amount {
				return mockstore.Errorf(mockstore.CodeIdempotencyConflict,
					"reference %q was used for a top-up of %d, not %d", reference, prevAmount, amount)
			}
			out.Replayed = true
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read top-up: %w", err)
		}
		if bal > math.MaxInt64-amount {
			return mockstore.Errorf(mockstore.CodeInvalidRequest, "top-up of %d would overflow the balance", amount)
		}
		out = Topup{TopupID: newID("tp"), Balance: bal + amount}
		at := s.now()
		if err := post(ctx, tx, kindTopup, out.TopupID, at, leg{acctTopup, -amount}, leg{userID, amount}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO topups (user_id, reference, id, amount, balance, at) VALUES (?, ?, ?, ?, ?, ?)`,
			userID, reference, out.TopupID, amount, out.Balance, at.UnixNano()); err != nil {
			return fmt.Errorf("write top-up: %w", err)
		}
		return nil
	})
	return out, err
}

// charge debits req.Amount from req.UserID under key. created is false for a
// replay of an earlier charge with the same key and body.
func (s *Service) charge(ctx context.Context, key string, req ChargeRequest) (ch Charge, created bool, err error) {
	if key == "" {
		return Charge{}, false, mockstore.Errorf(mockstore.CodeIdempotencyKey, "the %s header is required", IdempotencyHeader)
	}
	if err := checkID(IdempotencyHeader, key); err != nil {
		return Charge{}, false, err
	}
	if err := checkID("user_id", req.UserID); err != nil {
		return Charge{}, false, err
	}
	if err := checkID("order_id", req.OrderID); err != nil {
		return Charge{}, false, err
	}
	if err := checkAmount(req.Amount); err != nil {
		return Charge{}, false, err
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		prev, err := chargeByKey(ctx, tx, key)
		switch {
		case err == nil:
			if prev.UserID != req.UserID || prev.OrderID != req.OrderID || prev.Amount != req.Amount {
				return mockstore.Errorf(mockstore.CodeIdempotencyConflict,
					"key %q was used for a charge of %d to %s for order %s", key, prev.Amount, prev.UserID, prev.OrderID)
			}
			ch = prev
			ch.Replayed = true
			return nil
		case mockstore.ErrorCode(err) != mockstore.CodeNotFound:
			return err
		}
		bal, err := shopperBalance(ctx, tx, req.UserID)
		if err != nil {
			return err
		}
		var refundID string
		err = tx.QueryRowContext(ctx, `SELECT id FROM refunds WHERE order_id = ?`, req.OrderID).Scan(&refundID)
		switch {
		case err == nil:
			return mockstore.Errorf(mockstore.CodeConflict, "order %s is closed (refund %s)", req.OrderID, refundID)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read refund: %w", err)
		}
		if bal < req.Amount {
			return mockstore.Errorf(mockstore.CodeInsufficientFunds, "balance %d is below %d", bal, req.Amount)
		}
		at := s.now()
		ch = Charge{ChargeID: newID("ch"), Key: key, OrderID: req.OrderID, UserID: req.UserID,
			Amount: req.Amount, Balance: bal - req.Amount, At: at.UTC()}
		if err := post(ctx, tx, kindCharge, ch.ChargeID, at, leg{req.UserID, -req.Amount}, leg{acctMerchant, req.Amount}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO charges (key, id, user_id, order_id, amount, balance, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			key, ch.ChargeID, ch.UserID, ch.OrderID, ch.Amount, ch.Balance, at.UnixNano()); err != nil {
			return fmt.Errorf("write charge: %w", err)
		}
		created = true
		return nil
	})
	if err != nil {
		return Charge{}, false, err
	}
	return ch, created, nil
}

// chargeByKey returns the charge made under key, or not_found.
func chargeByKey(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, key string) (Charge, error) {
	ch := Charge{Key: key}
	var at int64
	err := q.QueryRowContext(ctx, `SELECT id, user_id, order_id, amount, balance, at FROM charges WHERE key = ?`, key).
		Scan(&ch.ChargeID, &ch.UserID, &ch.OrderID, &ch.Amount, &ch.Balance, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Charge{}, mockstore.Errorf(mockstore.CodeNotFound, "no charge with key %q", key)
	}
	if err != nil {
		return Charge{}, fmt.Errorf("read charge: %w", err)
	}
	ch.At = time.Unix(0, at).UTC()
	return ch, nil
}

// lookupCharge returns the charge made under key, or not_found.
func (s *Service) lookupCharge(ctx context.Context, key string) (Charge, error) {
	if err := checkID("key", key); err != nil {
		return Charge{}, err
	}
	return chargeByKey(ctx, s.db, key)
}

// refund refunds every charge of orderID and closes the order, once; later
// calls return the same refund with Replayed set.
func (s *Service) refund(ctx context.Context, orderID string) (Refund, error) {
	if err := checkID("order_id", orderID); err != nil {
		return Refund{}, err
	}
	out := Refund{OrderID: orderID}
	err := s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id, amount FROM refunds WHERE order_id = ?`, orderID).Scan(&out.RefundID, &out.Amount)
		switch {
		case err == nil:
			out.Replayed = true
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read refund: %w", err)
		}
		type line struct {
			chargeID, userID string
			amount           int64
		}
		var lines []line
		rows, err := tx.QueryContext(ctx, `SELECT id, user_id, amount FROM charges WHERE order_id = ? ORDER BY seq`, orderID)
		if err != nil {
			return fmt.Errorf("read charges: %w", err)
		}
		for rows.Next() {
			var l line
			if err := rows.Scan(&l.chargeID, &l.userID, &l.amount); err != nil {
				_ = rows.Close()
				return fmt.Errorf("read charges: %w", err)
			}
			lines = append(lines, l)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("read charges: %w", err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read charges: %w", err)
		}

		out.RefundID = newID("rf")
		at := s.now()
		// The refunds row goes first: refund_lines reference it.
		for _, l := range lines {
			out.Amount += l.amount
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO refunds (order_id, id, amount, at) VALUES (?, ?, ?, ?)`,
			orderID, out.RefundID, out.Amount, at.UnixNano()); err != nil {
			return fmt.Errorf("write refund: %w", err)
		}
		for _, l := range lines {
			if err := post(ctx, tx, kindRefund, out.RefundID, at, leg{acctMerchant, -l.amount}, leg{l.userID, l.amount}); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO refund_lines (refund_id, charge_id, amount) VALUES (?, ?, ?)`,
				out.RefundID, l.chargeID, l.amount); err != nil {
				return fmt.Errorf("write refund line: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return Refund{}, err
	}
	return out, nil
}

// totals reads the audit totals from one consistent snapshot.
func (s *Service) totals(ctx context.Context) (mockstore.WalletTotals, error) {
	t := mockstore.WalletTotals{Negative: []mockstore.AccountCheck{}, LedgerMismatch: []mockstore.AccountCheck{}}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return t, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	err = tx.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM accounts WHERE kind = 'shopper'),
		(SELECT coalesce(sum(balance), 0) FROM accounts WHERE kind = 'shopper'),
		(SELECT coalesce(sum(e.amount), 0) FROM entries e JOIN txns x ON x.id = e.txn
			WHERE x.kind = 'opening' AND e.account != ?),
		(SELECT coalesce(sum(amount), 0) FROM topups),
		(SELECT coalesce(sum(amount), 0) FROM charges),
		(SELECT coalesce(sum(amount), 0) FROM refunds),
		(SELECT coalesce(sum(amount), 0) FROM entries)`, acctOpening).
		Scan(&t.Accounts, &t.Balances, &t.Opening, &t.Topups, &t.Charges, &t.Refunds, &t.LedgerSum)
	if err != nil {
		return t, fmt.Errorf("read totals: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT a.id, a.kind, a.balance, coalesce(sum(e.amount), 0) AS ledger
		FROM accounts a LEFT JOIN entries e ON e.account = a.id
		GROUP BY a.id
		HAVING (a.kind = 'shopper' AND a.balance < 0) OR a.balance != ledger
		ORDER BY a.id`)
	if err != nil {
		return t, fmt.Errorf("read accounts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c mockstore.AccountCheck
		var kind string
		if err := rows.Scan(&c.UserID, &kind, &c.Balance, &c.Ledger); err != nil {
			return t, fmt.Errorf("read accounts: %w", err)
		}
		if kind == "shopper" && c.Balance < 0 {
			t.Negative = append(t.Negative, c)
		}
		if c.Balance != c.Ledger {
			t.LedgerMismatch = append(t.LedgerMismatch, c)
		}
	}
	if err := rows.Err(); err != nil {
		return t, fmt.Errorf("read accounts: %w", err)
	}
	t.Conserved = t.Balances == t.Opening+t.Topups-t.Charges+t.Refunds && t.LedgerSum == 0
	return t, nil
}

// charges reads every charge with its refunds, oldest first.
func (s *Service) charges(ctx context.Context) ([]mockstore.ChargeRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.key, c.order_id, c.user_id, c.amount, c.at,
			count(l.charge_id), max(r.at)
		FROM charges c
		LEFT JOIN refund_lines l ON l.charge_id = c.id
		LEFT JOIN refunds r ON r.id = l.refund_id
		GROUP BY c.seq
		ORDER BY c.seq`)
	if err != nil {
		return nil, fmt.Errorf("read charges: %w", err)
	}
	defer rows.Close()
	out := []mockstore.ChargeRecord{}
	for rows.Next() {
		var c mockstore.ChargeRecord
		var at int64
		var refunded sql.NullInt64
		if err := rows.Scan(&c.ChargeID, &c.Key, &c.OrderID, &c.UserID, &c.Amount, &at, &c.Refunds, &refunded); err != nil {
			return nil, fmt.Errorf("read charges: %w", err)
		}
		c.At = time.Unix(0, at).UTC()
		if refunded.Valid {
			rt := time.Unix(0, refunded.Int64).UTC()
			c.Refunded = &rt
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read charges: %w", err)
	}
	return out, nil
}

// ledger returns every entry of the shopper accounts, oldest first.
func (s *Service) ledger(ctx context.Context) ([]mockstore.LedgerEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT e.account, t.kind, t.ref, e.amount, t.at
		FROM entries e
		JOIN txns t ON t.id = e.txn
		JOIN accounts a ON a.id = e.account
		WHERE a.kind = 'shopper'
		ORDER BY t.id`)
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	defer rows.Close()
	out := []mockstore.LedgerEntry{}
	for rows.Next() {
		var e mockstore.LedgerEntry
		var at int64
		if err := rows.Scan(&e.UserID, &e.Kind, &e.Ref, &e.Amount, &at); err != nil {
			return nil, fmt.Errorf("read ledger: %w", err)
		}
		e.At = time.Unix(0, at).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	return out, nil
}

func checkID(field, v string) error {
	if v == "" {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "%s is required", field)
	}
	if len(v) > maxIDLen {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "%s over %d bytes", field, maxIDLen)
	}
	// An ID is text: control characters and broken UTF-8 can only be a
	// caller's mistake, and would be stored and echoed as they are.
	if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "%s must be UTF-8 text without control characters", field)
	}
	return nil
}

func checkAmount(amount int64) error {
	if amount <= 0 || amount > MaxAmount {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "amount %d out of range (1..%d)", amount, int64(MaxAmount))
	}
	return nil
}

// newID returns prefix_ followed by 96 random bits in hex.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + "_" + hex.EncodeToString(b[:])
}
