package sessions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/httpkit"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
)

// MaxTTL is the longest TTL a session may be stored with.
const MaxTTL = 30 * 24 * time.Hour

// Limits on what the store accepts.
const (
	maxTokenLen  = 256
	maxUserIDLen = 128
	purgeBatch   = 256 // expired sessions purged on each write
)

// Config configures the session store.
type Config struct {
	// DBPath is the SQLite file; it is created when missing.
	DBPath string
	// Features are accepted for uniformity; the store has no feature switch.
	Features mockstore.Features
	// Logger receives the store's logs; nil discards them.
	Logger *slog.Logger
	// Now is the store's clock; nil means time.Now. Tests inject a fake one
	// to expire sessions without waiting.
	Now func() time.Time
}

// Service is the session store.
type Service struct {
	db   *sqlitestore.DB
	log  *slog.Logger
	now  func() time.Time
	errs httpkit.Errors

	api, auditAPI http.Handler
}

// New opens (or creates) the store at cfg.DBPath. It fails when the path is
// empty or the database cannot be opened or migrated.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DBPath == "" {
		return nil, errors.New("sessions: DBPath is required")
	}
	s := &Service{log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("service", mockstore.ServiceSessions)
	if s.now == nil {
		s.now = time.Now
	}
	db, err := sqlitestore.Open(ctx, cfg.DBPath, []string{schema}, sqlitestore.WithLogger(s.log))
	if err != nil {
		return nil, err
	}
	s.db = db
	s.errs = httpkit.Errors{Log: s.log}
	s.api, s.auditAPI = s.routes()
	return s, nil
}

const schema = `
CREATE TABLE IF NOT EXISTS sessions (
	token      TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	expires_at INTEGER NOT NULL -- unix nanoseconds
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions(expires_at);
CREATE TABLE IF NOT EXISTS counters (
	name TEXT PRIMARY KEY,
	n    INTEGER NOT NULL
) WITHOUT ROWID;
`

// Close closes the store. It is safe to call more than once.
func (s *Service) Close() error { return s.db.Close() }

// Handler returns the store's API: PUT, GET and DELETE /sessions/{token}, and
// GET /healthz.
func (s *Service) Handler() http.Handler { return s.api }

// AuditHandler returns the audit routes: GET /audit/sessions.
func (s *Service) AuditHandler() http.Handler { return s.auditAPI }

// routes registers every route in one place and returns the API and audit
// handlers.
func (s *Service) routes() (api, audit http.Handler) {
	m := httpkit.NewRouter(s.errs)
	m.Health(mockstore.ServiceSessions)
	m.Handle("PUT /sessions/{token}", s.handlePut)
	m.Handle("GET /sessions/{token}", s.handleGet)
	m.Handle("DELETE /sessions/{token}", s.handleDelete)

	a := httpkit.NewRouter(s.errs)
	a.Handle("GET /audit/sessions", s.handleAudit)
	return m, a
}

func (s *Service) handlePut(w http.ResponseWriter, r *http.Request) {
	token, err := tokenParam(r)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	var in putRequest
	if err := mockstore.DecodeJSON(w, r, &in); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if err := validUserID(in.UserID); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if in.TTLS < 1 || in.TTLS > int64(MaxTTL/time.Second) {
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeInvalidRequest,
			"ttl_s %d out of range (1..%d)", in.TTLS, int64(MaxTTL/time.Second)))
		return
	}
	if err := s.put(r.Context(), token, in.UserID, time.Duration(in.TTLS)*time.Second); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) {
	token, err := tokenParam(r)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	sess, ok, err := s.get(r.Context(), token)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if !ok {
		s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeNotFound, "no such session"))
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, sess)
}

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) {
	token, err := tokenParam(r)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if err := s.delete(r.Context(), token); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handleAudit(w http.ResponseWriter, r *http.Request) {
	a, err := s.audit(r.Context())
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, a)
}

// tokenParam returns the path's token, or invalid_request when it is empty,
// too long or has characters outside printable ASCII.
func tokenParam(r *http.Request) (string, error) {
	t := r.PathValue("token")
	if t == "" || len(t) > maxTokenLen {
		return "", mockstore.Errorf(mockstore.CodeInvalidRequest, "token must be 1..%d characters", maxTokenLen)
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= 0x20 || t[i] >= 0x7f {
			return "", mockstore.Errorf(mockstore.CodeInvalidRequest, "token must be printable ASCII without spaces")
		}
	}
	return t, nil
}

func validUserID(id string) error {
	if id == "" || len(id) > maxUserIDLen {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "user_id must be 1..%d characters", maxUserIDLen)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= 0x20 || id[i] >= 0x7f {
			return mockstore.Errorf(mockstore.CodeInvalidRequest, "user_id must be printable ASCII without spaces")
		}
	}
	return nil
}

// put stores the session. Replacing a live session is not a creation;
// replacing an expired one counts it expired and the new one created, so
// that live == created - deleted - expired holds.
func (s *Service) put(ctx context.Context, token, userID string, ttl time.Duration) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		now := s.now()
		if err := purgeExpired(ctx, tx, now, purgeBatch); err != nil {
			return err
		}
		var exp int64
		switch err := tx.QueryRowContext(ctx, `SELECT expires_at FROM sessions WHERE token = ?`, token).Scan(&exp); {
		case errors.Is(err, sql.ErrNoRows):
			if err := bump(ctx, tx, "created", 1); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("read session: %w", err)
		case exp <= now.UnixNano():
			// purgeExpired left it (batch limit): it expires now.
			if err := bump(ctx, tx, "expired", 1); err != nil {
				return err
			}
			if err := bump(ctx, tx, "created", 1); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO sessions(token, user_id, expires_at) VALUES(?, ?, ?)
		 ON CONFLICT(token) DO UPDATE SET user_id = excluded.user_id, expires_at = excluded.expires_at`,
			token, userID, now.Add(ttl).UnixNano()); err != nil {
			return fmt.Errorf("write session: %w", err)
		}
		return nil
	})
}

// get returns the live session of token. An expired one is purged and
// reported missing.
func (s *Service) get(ctx context.Context, token string) (Session, bool, error) {
	var userID string
	var exp int64
	err := s.db.QueryRowContext(ctx, `SELECT user_id, expires_at FROM sessions WHERE token = ?`, token).Scan(&userID, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, fmt.Errorf("read session: %w", err)
	}
	now := s.now()
	if exp > now.UnixNano() {
		return Session{UserID: userID, ExpiresAt: time.Unix(0, exp).UTC()}, true, nil
	}
	if err := s.purgeToken(ctx, token, now); err != nil {
		return Session{}, false, err
	}
	return Session{}, false, nil
}

// purgeToken removes token if it is expired at now, counting it expired.
func (s *Service) purgeToken(ctx context.Context, token string, now time.Time) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token = ? AND expires_at <= ?`, token, now.UnixNano())
		if err != nil {
			return fmt.Errorf("purge session: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return bump(ctx, tx, "expired", n)
		}
		return nil
	})
}

// delete removes token's session: a live one counts as deleted, an expired
// one as expired, an unknown one changes nothing.
func (s *Service) delete(ctx context.Context, token string) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		now := s.now()
		var exp int64
		err := tx.QueryRowContext(ctx, `DELETE FROM sessions WHERE token = ? RETURNING expires_at`, token).Scan(&exp)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return fmt.Errorf("delete session: %w", err)
		case exp > now.UnixNano():
			return bump(ctx, tx, "deleted", 1)
		default:
			return bump(ctx, tx, "expired", 1)
		}
	})
}

// audit purges every expired session, then reads the counters.
func (s *Service) audit(ctx context.Context) (Audit, error) {
	var a Audit
	err := s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		if err := purgeExpired(ctx, tx, s.now(), -1); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sessions`).Scan(&a.Live); err != nil {
			return fmt.Errorf("count sessions: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT name, n FROM counters`)
		if err != nil {
			return fmt.Errorf("read counters: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var n int
			if err := rows.Scan(&name, &n); err != nil {
				return fmt.Errorf("read counters: %w", err)
			}
			switch name {
			case "created":
				a.Created = n
			case "deleted":
				a.Deleted = n
			case "expired":
				a.Expired = n
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read counters: %w", err)
		}
		return nil
	})
	if err != nil {
		return Audit{}, err
	}
	return a, nil
}

// purgeExpired deletes up to limit sessions expired at now (limit < 0: all)
// and counts them expired.
func purgeExpired(ctx context.Context, tx *sqlitestore.Tx, now time.Time, limit int) error {
	res, err := tx.ExecContext(ctx,
		`DELETE FROM sessions WHERE token IN (SELECT token FROM sessions WHERE expires_at <= ? LIMIT ?)`,
		now.UnixNano(), limit)
	if err != nil {
		return fmt.Errorf("purge sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("purge sessions: %w", err)
	}
	if n > 0 {
		return bump(ctx, tx, "expired", n)
	}
	return nil
}

func bump(ctx context.Context, tx *sqlitestore.Tx, name string, n int64) error {
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO counters(name, n) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET n = n + excluded.n`, name, n); err != nil {
		return fmt.Errorf("count %s: %w", name, err)
	}
	return nil
}
