package wallet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/httpkit"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
)

// Config is what New needs.
type Config struct {
	// DBPath is the SQLite file of the ledger; it is created when missing.
	DBPath string
	// Dataset's Users get their opening balances when DBPath is new. An
	// existing file keeps its state and is never seeded again.
	Dataset mockstore.Dataset
	// Features is accepted for uniformity with the other services. The wallet
	// has no switch of its own: its defences (idempotency, exactly-once
	// refunds, closed orders) are the ground truth the judge relies on, and
	// the naive behaviours live in its callers.
	Features mockstore.Features
	// Logger receives the service's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service is the wallet. Its methods are safe for concurrent use.
type Service struct {
	log   *slog.Logger
	now   func() time.Time
	db    *sqlitestore.DB // the ledger
	errs  httpkit.Errors
	api   http.Handler
	audit http.Handler
}

// writeTimeout bounds how long a money operation may wait for the writer and
// run. It is deliberately not the caller's context: once the wallet has taken
// a money operation it finishes it even if the caller hangs up, as a real
// payment system does, so a cut connection leaves an outcome that a lookup
// by key can find, not a coin toss.
const writeTimeout = 10 * time.Second

// checkpointPeriod is the longest time between two checkpoints of the
// ledger, which never waits for one (see sqlitestore.WithCheckpoints).
const checkpointPeriod = time.Second

// New opens (or creates) the ledger at cfg.DBPath, seeds the opening balances
// of cfg.Dataset.Users when the file is new, and returns the service. It
// returns an error when the file cannot be opened, has another schema, or the
// dataset is invalid (duplicate users, negative balances). It starts the
// checkpoint worker, which runs until Close.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DBPath == "" {
		return nil, errors.New("wallet: no DBPath")
	}
	s := &Service{log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("service", mockstore.ServiceWallet)
	if s.now == nil {
		s.now = time.Now
	}

	db, err := sqlitestore.Open(ctx, cfg.DBPath, []string{schema}, sqlitestore.WithLogger(s.log),
		sqlitestore.WithDetachedWrites(writeTimeout), sqlitestore.WithCheckpoints(checkpointPeriod))
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	s.db = db
	seeded, err := s.seed(ctx, cfg.Dataset)
	if err != nil {
		_ = s.db.Close()
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	// A failure of the wallet's own is a storage failure, answered as
	// retryable: every write of the wallet is idempotent (by reference, key
	// or order), so a retry is safe, and the caller can tell it from a
	// refusal.
	s.errs = httpkit.Errors{Log: s.log, Internal: mockstore.Retry(mockstore.CodeUnavailable, 1, "wallet storage unavailable")}
	s.api, s.audit = s.routes()
	s.log.Info("wallet ready", "db", cfg.DBPath, "seeded", seeded, "users", len(cfg.Dataset.Users))
	return s, nil
}

// Handler returns the wallet's API, including GET /healthz.
func (s *Service) Handler() http.Handler { return s.api }

// AuditHandler returns the audit routes (GET /audit/totals, GET
// /audit/charges, GET /audit/ledger), to be served on a loopback listener of their own.
func (s *Service) AuditHandler() http.Handler { return s.audit }

// Close stops the checkpoint worker and closes the ledger. It is idempotent;
// later calls return the first call's result. Requests served after Close
// fail with a retryable error.
func (s *Service) Close() error { return s.db.Close() }

// routes registers every route in one place and returns the API and audit
// handlers.
func (s *Service) routes() (api, audit http.Handler) {
	m := httpkit.NewRouter(s.errs)
	m.Health(mockstore.ServiceWallet)
	m.Handle("GET /accounts/{user_id}", s.handleAccount)
	m.Handle("POST /accounts/{user_id}/topup", s.handleTopup)
	m.Handle("POST /charges", s.handleCharge)
	m.Handle("GET /charges/{key}", s.handleLookupCharge)
	m.Handle("POST /refunds", s.handleRefund)

	a := httpkit.NewRouter(s.errs)
	a.Handle("GET /audit/totals", s.handleTotals)
	a.Handle("GET /audit/charges", s.handleCharges)
	a.Handle("GET /audit/ledger", s.handleLedger)
	return m, a
}
