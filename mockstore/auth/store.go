package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
)

// store is auth's SQLite database: users, logins with their code hashes,
// issued session tokens (hashed) and the audit counters.
type store struct {
	db *sqlitestore.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS users (
	user_id TEXT PRIMARY KEY,
	phone   TEXT NOT NULL UNIQUE,
	status  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS logins (
	login_id   TEXT PRIMARY KEY,
	phone      TEXT NOT NULL,
	user_id    TEXT NOT NULL,     -- '' for an unregistered phone
	channel    TEXT NOT NULL,
	code_hash  BLOB NOT NULL,     -- HMAC of the current code; never the code
	issued_at  INTEGER NOT NULL,  -- unix ns of the current code's issue
	expires_at INTEGER NOT NULL,  -- unix ns
	attempts   INTEGER NOT NULL DEFAULT 0,
	locked     INTEGER NOT NULL DEFAULT 0,
	done       INTEGER NOT NULL DEFAULT 0 -- the code was consumed
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS old_codes (
	login_id  TEXT NOT NULL,
	code_hash BLOB NOT NULL,
	PRIMARY KEY (login_id, code_hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens (
	token_hash BLOB PRIMARY KEY,   -- SHA-256 of the token; never the token
	user_id    TEXT NOT NULL,
	issued_at  INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS delivered (  -- codes a provider acknowledged, each once
	login_id  TEXT NOT NULL,
	code_hash BLOB NOT NULL,
	PRIMARY KEY (login_id, code_hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
	name TEXT PRIMARY KEY,
	n    INTEGER NOT NULL
) WITHOUT ROWID;
`

// verifiesSchema is the second migration: every verify of a known login,
// the ground truth of the OTP rules (AuthAudit.Verifies).
const verifiesSchema = `
CREATE TABLE IF NOT EXISTS verifies (
	seq       INTEGER PRIMARY KEY,  -- order of the records
	login_id  TEXT NOT NULL,
	issued_at INTEGER NOT NULL,     -- unix ns of the login's current code's issue
	at        INTEGER NOT NULL,     -- unix ns of the decision
	outcome   TEXT NOT NULL         -- 'accepted' or the error code answered
);
`

// Counter names; per-reason and per-channel counters are prefixed.
const (
	cLoginsStarted  = "logins_started"
	cCodesIssued    = "codes_issued"
	cCodesDelivered = "codes_delivered"
	cVerified       = "verified"
	cWrongCodes     = "wrong_codes"
	cLockouts       = "lockouts"
	cFaultCounted   = "fault_counted"
	cSessionsIssued = "sessions_issued"
	cLogouts        = "logouts"
	cRejectedPrefix = "sessions_rejected:"
	cSendsPrefix    = "sends:"
)

// Reasons a session is rejected, as counted in AuthAudit.SessionsRejected.
const (
	RejectUnknown    = "unknown"
	RejectExpired    = "expired"
	RejectRevoked    = "revoked"
	RejectStoreError = "store_error"
)

// openStore opens (or creates) auth's store at path; see sqlitestore.Open.
func openStore(ctx context.Context, path string, log *slog.Logger) (*store, error) {
	db, err := sqlitestore.Open(ctx, path, []string{schema, verifiesSchema}, sqlitestore.WithLogger(log))
	if err != nil {
		return nil, err
	}
	return &store{db: db}, nil
}

func bump(ctx context.Context, tx *sqlitestore.Tx, name string, n int) error {
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO counters(name, n) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET n = n + excluded.n`, name, n); err != nil {
		return fmt.Errorf("count %s: %w", name, err)
	}
	return nil
}

// count adds one to each named counter.
func (st *store) count(ctx context.Context, names ...string) error {
	return st.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		for _, n := range names {
			if err := bump(ctx, tx, n, 1); err != nil {
				return err
			}
		}
		return nil
	})
}

// delivered counts a send on channel the provider acknowledged, and the
// code (login, hash) as delivered the first time any of its sends is: a code
// that goes out by SMS and by WhatsApp is one code delivered, two sends.
func (st *store) delivered(ctx context.Context, loginID string, codeHash []byte, channel string) error {
	return st.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		r, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO delivered(login_id, code_hash) VALUES(?, ?)`, loginID, codeHash)
		if err != nil {
			return fmt.Errorf("mark delivered: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return fmt.Errorf("mark delivered: %w", err)
		} else if n == 1 {
			if err := bump(ctx, tx, cCodesDelivered, 1); err != nil {
				return err
			}
		}
		return bump(ctx, tx, cSendsPrefix+channel, 1)
	})
}

// seedUsers replaces the users with those of the dataset.
func (st *store) seedUsers(ctx context.Context, users []mockstore.User) error {
	return st.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM users`); err != nil {
			return fmt.Errorf("clear users: %w", err)
		}
		for _, u := range users {
			if _, err := tx.ExecContext(ctx, `INSERT INTO users(user_id, phone, status) VALUES(?, ?, ?)`,
				u.ID, u.Phone, u.Status); err != nil {
				return fmt.Errorf("seed user %s: %w", u.ID, err)
			}
		}
		return nil
	})
}

type user struct {
	ID, Phone, Status string
}

// userBy returns the user whose column (user_id or phone) equals v.
func (st *store) userBy(ctx context.Context, column, v string) (user, bool, error) {
	var u user
	err := st.db.QueryRowContext(ctx, `SELECT user_id, phone, status FROM users WHERE `+column+` = ?`, v).
		Scan(&u.ID, &u.Phone, &u.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return user{}, false, nil
	}
	if err != nil {
		return user{}, false, fmt.Errorf("read user: %w", err)
	}
	return u, true, nil
}

type login struct {
	ID, Phone, UserID, Channel string
	CodeHash                   []byte
	IssuedAt, ExpiresAt        time.Time
	Attempts                   int
	Locked, Done               bool
}

func (l login) registered() bool { return l.UserID != "" }

func (st *store) createLogin(ctx context.Context, l login) error {
	return st.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO logins(login_id, phone, user_id, channel, code_hash, issued_at, expires_at) VALUES(?, ?, ?, ?, ?, ?, ?)`,
			l.ID, l.Phone, l.UserID, l.Channel, l.CodeHash, l.IssuedAt.UnixNano(), l.ExpiresAt.UnixNano()); err != nil {
			return fmt.Errorf("insert login: %w", err)
		}
		if err := bump(ctx, tx, cLoginsStarted, 1); err != nil {
			return err
		}
		if l.registered() {
			return bump(ctx, tx, cCodesIssued, 1)
		}
		return nil
	})
}

func (st *store) login(ctx context.Context, id string) (login, bool, error) {
	var l login
	var issued, expires int64
	err := st.db.QueryRowContext(ctx,
		`SELECT login_id, phone, user_id, channel, code_hash, issued_at, expires_at, attempts, locked, done
		 FROM logins WHERE login_id = ?`, id).
		Scan(&l.ID, &l.Phone, &l.UserID, &l.Channel, &l.CodeHash, &issued, &expires, &l.Attempts, &l.Locked, &l.Done)
	if errors.Is(err, sql.ErrNoRows) {
		return login{}, false, nil
	}
	if err != nil {
		return login{}, false, fmt.Errorf("read login: %w", err)
	}
	l.IssuedAt, l.ExpiresAt = time.Unix(0, issued), time.Unix(0, expires)
	return l, true, nil
}

// superseded reports whether hash is an earlier code of the login.
func (st *store) superseded(ctx context.Context, loginID string, hash []byte) (bool, error) {
	var one int
	err := st.db.QueryRowContext(ctx, `SELECT 1 FROM old_codes WHERE login_id = ? AND code_hash = ?`, loginID, hash).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read old codes: %w", err)
	}
	return true, nil
}

// reissue replaces the login's code: the old hash goes to old_codes, the new
// one gets a fresh lifetime. Attempts are kept: a resend does not reset the
// lockout.
func (st *store) reissue(ctx context.Context, l login, hash []byte, issued, expires time.Time, channel string) error {
	return st.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO old_codes(login_id, code_hash) VALUES(?, ?)`, l.ID, l.CodeHash); err != nil {
			return fmt.Errorf("keep old code: %w", err)
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE logins SET code_hash = ?, issued_at = ?, expires_at = ?, channel = ? WHERE login_id = ?`,
			hash, issued.UnixNano(), expires.UnixNano(), channel, l.ID); err != nil {
			return fmt.Errorf("reissue code: %w", err)
		}
		if l.registered() {
			return bump(ctx, tx, cCodesIssued, 1)
		}
		return nil
	})
}

// failAttempt counts one failed attempt on the login (counter is
// cWrongCodes or cFaultCounted), consuming the code when consume is set, and
// locks the login at maxAttempts. It returns whether the login is now locked.
func (st *store) failAttempt(ctx context.Context, loginID, counter string, consume bool) (bool, error) {
	var locked bool
	err := st.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		var attempts int
		var wasLocked bool
		if err := tx.QueryRowContext(ctx,
			`UPDATE logins SET attempts = attempts + 1, done = done OR ? WHERE login_id = ? RETURNING attempts, locked`,
			consume, loginID).Scan(&attempts, &wasLocked); err != nil {
			return fmt.Errorf("count attempt: %w", err)
		}
		if err := bump(ctx, tx, counter, 1); err != nil {
			return err
		}
		locked = wasLocked || attempts >= maxAttempts
		if locked && !wasLocked {
			if _, err := tx.ExecContext(ctx, `UPDATE logins SET locked = 1 WHERE login_id = ?`, loginID); err != nil {
				return fmt.Errorf("lock login: %w", err)
			}
			return bump(ctx, tx, cLockouts, 1)
		}
		return nil
	})
	return locked, err
}

// completeLogin consumes the login's code (issued at codeIssued), records
// the verify as accepted at issued, and records the issued session.
func (st *store) completeLogin(ctx context.Context, loginID string, codeIssued time.Time, tokenHash []byte, userID string, issued, expires time.Time) error {
	return st.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE logins SET done = 1 WHERE login_id = ?`, loginID); err != nil {
			return fmt.Errorf("consume code: %w", err)
		}
		if err := insertVerify(ctx, tx, loginID, codeIssued, issued, mockstore.VerifyAccepted); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tokens(token_hash, user_id, issued_at, expires_at) VALUES(?, ?, ?, ?)`,
			tokenHash, userID, issued.UnixNano(), expires.UnixNano()); err != nil {
			return fmt.Errorf("record session: %w", err)
		}
		if err := bump(ctx, tx, cVerified, 1); err != nil {
			return err
		}
		return bump(ctx, tx, cSessionsIssued, 1)
	})
}

func insertVerify(ctx context.Context, tx *sqlitestore.Tx, loginID string, codeIssued, at time.Time, outcome string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO verifies(login_id, issued_at, at, outcome) VALUES(?, ?, ?, ?)`,
		loginID, codeIssued.UnixNano(), at.UnixNano(), outcome); err != nil {
		return fmt.Errorf("record verify: %w", err)
	}
	return nil
}

// refusedVerify records a verify of the login's code (issued at
// codeIssued) refused at at with outcome, the error code answered.
func (st *store) refusedVerify(ctx context.Context, loginID string, codeIssued, at time.Time, outcome string) error {
	return st.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		return insertVerify(ctx, tx, loginID, codeIssued, at, outcome)
	})
}

type tokenRecord struct {
	UserID    string
	ExpiresAt time.Time
	Revoked   bool
}

func (st *store) token(ctx context.Context, hash []byte) (tokenRecord, bool, error) {
	var r tokenRecord
	var exp, revoked int64
	err := st.db.QueryRowContext(ctx, `SELECT user_id, expires_at, revoked_at FROM tokens WHERE token_hash = ?`, hash).
		Scan(&r.UserID, &exp, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return tokenRecord{}, false, nil
	}
	if err != nil {
		return tokenRecord{}, false, fmt.Errorf("read token: %w", err)
	}
	r.ExpiresAt, r.Revoked = time.Unix(0, exp), revoked != 0
	return r, true, nil
}

// revoke marks the token revoked and counts a logout, once; it reports
// whether this call revoked it.
func (st *store) revoke(ctx context.Context, hash []byte, at time.Time) (bool, error) {
	var did bool
	err := st.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at = 0`, at.UnixNano(), hash)
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		did = true
		return bump(ctx, tx, cLogouts, 1)
	})
	return did, err
}

// audit reads the counters into an AuthAudit, every map key present.
// accounts returns every user as stored, by user ID.
func (st *store) accounts(ctx context.Context) ([]mockstore.AccountRecord, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT user_id, phone, status FROM users ORDER BY user_id`)
	if err != nil {
		return nil, fmt.Errorf("read accounts: %w", err)
	}
	defer rows.Close()
	out := []mockstore.AccountRecord{}
	for rows.Next() {
		var a mockstore.AccountRecord
		if err := rows.Scan(&a.UserID, &a.Phone, &a.Status); err != nil {
			return nil, fmt.Errorf("read accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read accounts: %w", err)
	}
	return out, nil
}

func (st *store) audit(ctx context.Context) (mockstore.AuthAudit, error) {
	a := mockstore.AuthAudit{
		SessionsRejected: map[string]int{RejectUnknown: 0, RejectExpired: 0, RejectRevoked: 0, RejectStoreError: 0},
		SendsByChannel:   map[string]int{"sms": 0, "whatsapp": 0},
	}
	rows, err := st.db.QueryContext(ctx, `SELECT name, n FROM counters`)
	if err != nil {
		return a, fmt.Errorf("read counters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			return a, fmt.Errorf("read counters: %w", err)
		}
		switch {
		case strings.HasPrefix(name, cRejectedPrefix):
			a.SessionsRejected[strings.TrimPrefix(name, cRejectedPrefix)] = n
		case strings.HasPrefix(name, cSendsPrefix):
			a.SendsByChannel[strings.TrimPrefix(name, cSendsPrefix)] = n
		}
		switch name {
		case cLoginsStarted:
			a.LoginsStarted = n
		case cCodesIssued:
			a.CodesIssued = n
		case cCodesDelivered:
			a.CodesDelivered = n
		case cVerified:
			a.Verified = n
		case cWrongCodes:
			a.WrongCodes = n
		case cLockouts:
			a.Lockouts = n
		case cFaultCounted:
			a.FaultCounted = n
		case cSessionsIssued:
			a.SessionsIssued = n
		case cLogouts:
			a.Logouts = n
		}
	}
	if err := rows.Err(); err != nil {
		return a, fmt.Errorf("read counters: %w", err)
	}
	a.Verifies, err = st.verifies(ctx)
	return a, err
}

// verifies reads every recorded verify, oldest first.
func (st *store) verifies(ctx context.Context) ([]mockstore.VerifyRecord, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT login_id, issued_at, at, outcome FROM verifies ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("read verifies: %w", err)
	}
	defer rows.Close()
	out := []mockstore.VerifyRecord{}
	for rows.Next() {
		var v mockstore.VerifyRecord
		var issued, at int64
		if err := rows.Scan(&v.LoginID, &issued, &at, &v.Outcome); err != nil {
			return nil, fmt.Errorf("read verifies: %w", err)
		}
		v.IssuedAt, v.At = time.Unix(0, issued).UTC(), time.Unix(0, at).UTC()
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read verifies: %w", err)
	}
	return out, nil
}
