package wallet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gameday/gameday/mockstore"
	_ "modernc.org/sqlite" // driver "sqlite"
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
	w     *sql.DB // exactly one connection: every write goes through it, one at a time
	stmts *stmts  // prepared on w
	r     *sql.DB // readers; WAL lets them read a committed snapshot while a write runs
	api   http.Handler
	audit http.Handler

	checkpoints chan struct{}      // nudges the checkpoint worker (see write)
	commits     atomic.Int64       // write transactions committed
	stop        context.CancelFunc // ends the checkpoint worker
	worker      sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// writeTimeout bounds how long a money operation may wait for the writer and
// run. It is deliberately not the caller's context: once the wallet has taken
// a money operation it finishes it even if the caller hangs up, as a real
// payment system does, so a cut connection leaves an outcome that a lookup
// by key can find, not a coin toss.
const writeTimeout = 10 * time.Second

// New opens (or creates) the ledger at cfg.DBPath, seeds the opening balances
// of cfg.Dataset.Users when the file is new, and returns the service. It
// returns an error when the file cannot be opened, has another schema, or the
// dataset is invalid (duplicate users, negative balances). It starts the
// checkpoint worker, which runs until Close.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DBPath == "" {
		return nil, errors.New("wallet: no DBPath")
	}
	if strings.ContainsAny(cfg.DBPath, "?#") {
		return nil, fmt.Errorf("wallet: DBPath %q: '?' and '#' are not allowed", cfg.DBPath)
	}
	s := &Service{log: cfg.Logger, now: cfg.Now, checkpoints: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("service", mockstore.ServiceWallet)
	if s.now == nil {
		s.now = time.Now
	}

	var err error
	// The writer opens first so that the file exists in WAL mode before any
	// reader connects.
	s.w, err = openDB(cfg.DBPath, true)
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	s.stmts = newStmts(s.w)
	seeded, err := s.migrate(ctx, cfg.Dataset)
	if err != nil {
		_ = s.w.Close()
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	s.r, err = openDB(cfg.DBPath, false)
	if err != nil {
		_ = s.w.Close()
		return nil, fmt.Errorf("open ledger readers: %w", err)
	}
	s.api, s.audit = s.routes()
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.worker.Go(func() { s.checkpointer(wctx) })
	s.log.Info("wallet ready", "db", cfg.DBPath, "seeded", seeded, "users", len(cfg.Dataset.Users))
	return s, nil
}

// openDB opens path with the pragmas every connection needs. The writer
// never checkpoints: see checkpointer.
//
// synchronous=NORMAL in WAL mode: a commit is in the WAL file (in the OS's
// page cache) when COMMIT returns, so it survives the process being killed
// (kill -9), which is the durability this harness needs; only an OS crash or
// power loss can lose the last commits, which FULL (an fsync per commit)
// would prevent at several times the cost per charge.
func openDB(path string, writer bool) (*sql.DB, error) {
	dsn := "file:" + path +
		"?_pragma=busy_timeout(10000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)"
	if writer {
		// BEGIN IMMEDIATE: take the write lock up front, so a transaction
		// that reads and then writes can never be refused half-way.
		dsn += "&_txlock=immediate&_pragma=wal_autocheckpoint(0)"
	} else {
		dsn += "&_pragma=query_only(1)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	if writer {
		// One writer connection serializes every money operation in this
		// process: nothing can get SQLITE_BUSY from another writer of ours.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
	} else {
		db.SetMaxOpenConns(4)
		db.SetMaxIdleConns(4)
	}
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.Ping(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// Handler returns the wallet's API, including GET /healthz.
func (s *Service) Handler() http.Handler { return s.api }

// AuditHandler returns the audit routes (GET /audit/totals, GET
// /audit/charges), to be served on a loopback listener of their own.
func (s *Service) AuditHandler() http.Handler { return s.audit }

// Close stops the checkpoint worker and closes the ledger. It is idempotent;
// later calls return the first call's result. Requests served after Close
// fail with a retryable error.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		s.worker.Wait()
		s.stmts.Close()
		s.closeErr = errors.Join(s.r.Close(), s.w.Close())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("close ledger: %w", s.closeErr)
		}
	})
	return s.closeErr
}

// routes registers every route in one place and returns the API and audit
// handlers.
func (s *Service) routes() (api, audit http.Handler) {
	m := newRouter(s.log)
	m.handle("GET /healthz", s.handleHealth)
	m.handle("GET /accounts/{user_id}", s.handleAccount)
	m.handle("POST /accounts/{user_id}/topup", s.handleTopup)
	m.handle("POST /charges", s.handleCharge)
	m.handle("GET /charges/{key}", s.handleLookupCharge)
	m.handle("POST /refunds", s.handleRefund)

	a := newRouter(s.log)
	a.handle("GET /audit/totals", s.handleTotals)
	a.handle("GET /audit/charges", s.handleCharges)
	return m, a
}

// router is a ServeMux whose misses are answered in the error envelope
// (not_found, method_not_allowed) and whose handlers' panics become an
// internal error instead of a dropped connection.
type router struct {
	log   *slog.Logger
	mux   *http.ServeMux
	paths *http.ServeMux // the same paths without methods, to tell 405 from 404
	seen  map[string]bool
}

func newRouter(log *slog.Logger) *router {
	r := &router{log: log, mux: http.NewServeMux(), paths: http.NewServeMux(), seen: map[string]bool{}}
	r.mux.HandleFunc("/", r.miss)
	return r
}

func (rt *router) handle(pattern string, h http.HandlerFunc) {
	rt.mux.HandleFunc(pattern, h)
	_, path, _ := strings.Cut(pattern, " ")
	if !rt.seen[path] {
		rt.seen[path] = true
		rt.paths.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			mockstore.WriteError(w, mockstore.Errorf(mockstore.CodeMethodNotAllowed, "%s not allowed on %s", r.Method, r.URL.Path))
		})
	}
}

func (rt *router) miss(w http.ResponseWriter, r *http.Request) {
	if _, pattern := rt.paths.Handler(r); pattern != "" {
		rt.paths.ServeHTTP(w, r)
		return
	}
	mockstore.WriteError(w, mockstore.Errorf(mockstore.CodeNotFound, "no route %s %s", r.Method, r.URL.Path))
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			rt.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v)
			mockstore.WriteError(w, mockstore.Errorf(mockstore.CodeInternal, "internal error"))
		}
	}()
	rt.mux.ServeHTTP(w, r)
}

// checkpointEvery is how many commits of the writer pass between two
// checkpoints it asks for; checkpointPeriod is the longest time between two.
const (
	checkpointEvery  = 64
	checkpointPeriod = time.Second
)

// checkpointer copies the pages committed to the WAL into the database file,
// as far as readers allow, on a reader's connection, whenever write asks and
// at least every checkpointPeriod, until ctx ends. Left to SQLite, the commit
// that takes the WAL past wal_autocheckpoint pages would do it, with two
// fsyncs, while every other money operation waits for the writer; here none
// waits for it. Commits are as durable either way: a commit is in the WAL
// when it returns, and the last connection to close checkpoints what is left.
func (s *Service) checkpointer(ctx context.Context) {
	t := time.NewTicker(checkpointPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.checkpoints:
		}
		var busy, walFrames, copied int
		err := s.r.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &walFrames, &copied)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("checkpoint", "err", err)
		}
	}
}
