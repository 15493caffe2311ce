package otp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/httpkit"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
)

// Limits on what the provider accepts.
const (
	maxLoginIDLen     = 128
	maxLinkLen        = 1024
	defaultInboxLimit = 100
	maxInboxLimit     = 1000
)

// Config configures the provider.
type Config struct {
	// DBPath is the SQLite file; it is created when missing.
	DBPath string
	// Features are accepted for uniformity; the provider has no feature switch.
	Features mockstore.Features
	// Logger receives the provider's logs; nil discards them.
	Logger *slog.Logger
	// Now is the provider's clock (a message's received_at); nil means time.Now.
	Now func() time.Time
}

// Service is the OTP provider and test inbox.
type Service struct {
	db   *sqlitestore.DB
	log  *slog.Logger
	now  func() time.Time
	errs httpkit.Errors

	api, auditAPI http.Handler
}

// New opens (or creates) the provider's store at cfg.DBPath. It fails when
// the path is empty or the database cannot be opened or migrated.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DBPath == "" {
		return nil, errors.New("otp: DBPath is required")
	}
	s := &Service{log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("service", mockstore.ServiceOTP)
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
CREATE TABLE IF NOT EXISTS messages (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	message_id  TEXT NOT NULL UNIQUE,
	phone       TEXT NOT NULL,
	channel     TEXT NOT NULL,
	code        TEXT NOT NULL,
	login_id    TEXT NOT NULL,
	link        TEXT NOT NULL,
	received_at INTEGER NOT NULL -- unix nanoseconds
);
CREATE INDEX IF NOT EXISTS messages_phone ON messages(phone, seq);
`

// Close closes the store. It is safe to call more than once.
func (s *Service) Close() error { return s.db.Close() }

// Handler returns the provider's API: POST /send, POST /send/{channel},
// GET /inbox/{phone} and GET /healthz.
func (s *Service) Handler() http.Handler { return s.api }

// AuditHandler returns the audit routes: GET /audit/otp.
func (s *Service) AuditHandler() http.Handler { return s.auditAPI }

// routes registers every route in one place and returns the API and audit
// handlers.
func (s *Service) routes() (api, audit http.Handler) {
	m := httpkit.NewRouter(s.errs)
	m.Health(mockstore.ServiceOTP)
	m.Handle("POST /send", s.handleSend)
	m.Handle("POST /send/{channel}", s.handleSend)
	m.Handle("GET /inbox/{phone}", s.handleInbox)

	a := httpkit.NewRouter(s.errs)
	a.Handle("GET /audit/otp", s.handleAudit)
	return m, a
}

// handleSend accepts a message. POST /send/{channel} names the channel in
// the path (so that a fault can target one channel by path); the body's
// channel may then be left out, and must agree when given.
func (s *Service) handleSend(w http.ResponseWriter, r *http.Request) {
	var in sendRequest
	if err := mockstore.DecodeJSON(w, r, &in); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if ch := r.PathValue("channel"); ch != "" {
		if err := CheckChannel(ch); err != nil {
			s.errs.Write(w, r, err)
			return
		}
		if in.Channel != "" && in.Channel != ch {
			s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeInvalidRequest, "channel %q in the body, %q in the path", clip(in.Channel), ch))
			return
		}
		in.Channel = ch
	}
	if err := validSend(in); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	id, err := s.store(r.Context(), in)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	s.log.Debug("message accepted", "message_id", id, "channel", in.Channel, "login_id", in.LoginID)
	mockstore.WriteJSON(w, http.StatusAccepted, SendResult{MessageID: id, Channel: in.Channel})
}

func (s *Service) handleInbox(w http.ResponseWriter, r *http.Request) {
	phone := r.PathValue("phone")
	if err := CheckPhone(phone); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	limit := defaultInboxLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxInboxLimit {
			s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeInvalidRequest, "limit %q: want 1..%d", v, maxInboxLimit))
			return
		}
		limit = n
	}
	es, err := s.inbox(r.Context(), phone, limit)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, es)
}

func (s *Service) handleAudit(w http.ResponseWriter, r *http.Request) {
	a, err := s.audit(r.Context())
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, a)
}

// CheckPhone returns nil when phone is an E.164 number ("+" then 8 to 15
// digits, the first not 0), else an invalid_request *mockstore.Error.
func CheckPhone(phone string) error {
	ok := len(phone) >= 9 && len(phone) <= 16 && phone[0] == '+' && phone[1] != '0'
	for i := 1; ok && i < len(phone); i++ {
		ok = phone[i] >= '0' && phone[i] <= '9'
	}
	if !ok {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "phone %q: want E.164, \"+\" then 8 to 15 digits", clip(phone))
	}
	return nil
}

// CheckChannel returns nil when channel is one of Channels, else an
// invalid_request *mockstore.Error naming the allowed values.
func CheckChannel(channel string) error {
	if channel == ChannelSMS || channel == ChannelWhatsApp {
		return nil
	}
	return mockstore.Errorf(mockstore.CodeInvalidRequest, "channel %q (allowed: %s)", clip(channel), strings.Join(Channels, ", "))
}

// CheckCode returns nil when code is exactly 6 ASCII digits, else an
// invalid_request *mockstore.Error.
func CheckCode(code string) error {
	ok := len(code) == 6
	for i := 0; ok && i < len(code); i++ {
		ok = code[i] >= '0' && code[i] <= '9'
	}
	if !ok {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "code: want exactly 6 digits")
	}
	return nil
}

func validSend(in sendRequest) error {
	if err := CheckPhone(in.Phone); err != nil {
		return err
	}
	if err := CheckChannel(in.Channel); err != nil {
		return err
	}
	if err := CheckCode(in.Code); err != nil {
		return err
	}
	if !printable(in.LoginID, maxLoginIDLen) {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "login_id must be 1..%d printable ASCII characters", maxLoginIDLen)
	}
	if in.Link != "" && !printable(in.Link, maxLinkLen) {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "link must be at most %d printable ASCII characters", maxLinkLen)
	}
	return nil
}

// printable reports whether v is 1..max bytes of printable ASCII, no spaces.
func printable(v string, max int) bool {
	if v == "" || len(v) > max {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= 0x20 || v[i] >= 0x7f {
			return false
		}
	}
	return true
}

// clip shortens v for an error message.
func clip(v string) string {
	if len(v) > 32 {
		return v[:32] + "…"
	}
	return v
}

func (s *Service) store(ctx context.Context, in sendRequest) (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("message id: %w", err)
	}
	id := "m_" + hex.EncodeToString(b[:])
	err := s.db.Write(ctx, func(ctx context.Context, tx *sqlitestore.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO messages(message_id, phone, channel, code, login_id, link, received_at) VALUES(?, ?, ?, ?, ?, ?, ?)`,
			id, in.Phone, in.Channel, in.Code, in.LoginID, in.Link, s.now().UnixNano()); err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

func (s *Service) inbox(ctx context.Context, phone string, limit int) ([]inboxEntry, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT message_id, channel, code, login_id, link, received_at FROM messages
		 WHERE phone = ? ORDER BY seq DESC LIMIT ?`, phone, limit)
	if err != nil {
		return nil, fmt.Errorf("query inbox: %w", err)
	}
	defer rows.Close()
	out := []inboxEntry{}
	for rows.Next() {
		var e inboxEntry
		var at int64
		if err := rows.Scan(&e.MessageID, &e.Channel, &e.Code, &e.LoginID, &e.Link, &at); err != nil {
			return nil, fmt.Errorf("read inbox: %w", err)
		}
		e.ReceivedAt = time.Unix(0, at).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read inbox: %w", err)
	}
	return out, nil
}

func (s *Service) audit(ctx context.Context) (Audit, error) {
	a := Audit{Sent: map[string]int{ChannelSMS: 0, ChannelWhatsApp: 0}}
	rows, err := s.db.QueryContext(ctx, `SELECT channel, count(*) FROM messages GROUP BY channel`)
	if err != nil {
		return Audit{}, fmt.Errorf("count messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ch string
		var n int
		if err := rows.Scan(&ch, &n); err != nil {
			return Audit{}, fmt.Errorf("count messages: %w", err)
		}
		a.Sent[ch] = n
	}
	if err := rows.Err(); err != nil {
		return Audit{}, fmt.Errorf("count messages: %w", err)
	}
	a.Codes = map[string]int{}
	rows, err = s.db.QueryContext(ctx, `SELECT phone, count(DISTINCT login_id || ':' || code) FROM messages GROUP BY phone`)
	if err != nil {
		return Audit{}, fmt.Errorf("count codes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var phone string
		var n int
		if err := rows.Scan(&phone, &n); err != nil {
			return Audit{}, fmt.Errorf("count codes: %w", err)
		}
		a.Codes[phone] = n
	}
	if err := rows.Err(); err != nil {
		return Audit{}, fmt.Errorf("count codes: %w", err)
	}
	return a, nil
}
