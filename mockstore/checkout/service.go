package checkout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/httpkit"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
	"github.com/gameday/gameday/mockstore/wallet"
)

// Config is what New needs. Zero durations get the defaults named on each.
type Config struct {
	// DBPath is the SQLite file of carts and orders; created when missing.
	DBPath string
	// WalletURL is the wallet's base URL (the checkout->wallet proxy).
	WalletURL string
	// HTTPClient calls the wallet; nil gets mockstore.NewClient(PaymentTimeout).
	HTTPClient *http.Client
	// Dataset gives the catalogue and the couriers.
	Dataset mockstore.Dataset
	// Features switches the defences (idempotent_payments,
	// payment_reconciliation, refund_outbox); nil means all off.
	Features mockstore.Features
	// PaymentTimeout bounds one charge or refund call to the wallet (default 2s).
	PaymentTimeout time.Duration
	// RefundSLA is how soon after an order fails its outbox refund should be
	// confirmed (default 10s). It caps the outbox's retry backoff, and a
	// refund confirmed later than this is logged as late.
	RefundSLA time.Duration
	// PendingBound is how long a payment may stay unresolved before the order
	// is failed (default 30s).
	PendingBound time.Duration
	// ReconcileEvery is the period of the reconciler and of the outbox worker
	// (default 500ms). The outbox's first retry waits half of it.
	ReconcileEvery time.Duration
	// Logger receives the service's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Defaults of Config's durations.
const (
	DefaultPaymentTimeout = 2 * time.Second
	DefaultRefundSLA      = 10 * time.Second
	DefaultPendingBound   = 30 * time.Second
	DefaultReconcileEvery = 500 * time.Millisecond
)

// writeTimeout bounds how long a write may wait for the writer and run.
const writeTimeout = 10 * time.Second

// workerConcurrency bounds how many orders the reconciler (and, separately,
// the outbox) works on at once, so that a backlog after an outage drains in
// a few PaymentTimeouts rather than one order at a time.
const workerConcurrency = 8

// Service is the checkout service. Its methods are safe for concurrent use.
type Service struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	wallet   *wallet.Client
	products map[string]mockstore.Product
	couriers map[string]mockstore.Courier
	db       *sqlitestore.DB
	errs     httpkit.Errors
	api      http.Handler
	audit    http.Handler

	// busy holds the orders whose payment someone (a checkout request or the
	// reconciler) is driving right now, so no two drive the same order.
	busyMu sync.Mutex
	busy   map[string]bool
	// refunding holds the orders whose outbox refund is being called now.
	refunding map[string]bool

	wake      chan struct{} // nudges the outbox worker when a row is written
	stop      context.CancelFunc
	workers   sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// New opens (or creates) the store at cfg.DBPath (whose checkpoint worker
// runs until Close), starts the reconciler and the outbox worker (each only
// when its feature is on), and returns the service. It returns an error for an invalid config or a store that cannot
// be opened. Cancelling ctx stops the workers as Close does.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DBPath == "" {
		return nil, errors.New("checkout: no DBPath")
	}
	if cfg.WalletURL == "" {
		return nil, errors.New("checkout: no WalletURL")
	}
	for _, d := range []struct {
		p   *time.Duration
		def time.Duration
	}{
		{&cfg.PaymentTimeout, DefaultPaymentTimeout},
		{&cfg.RefundSLA, DefaultRefundSLA},
		{&cfg.PendingBound, DefaultPendingBound},
		{&cfg.ReconcileEvery, DefaultReconcileEvery},
	} {
		if *d.p < 0 {
			return nil, fmt.Errorf("checkout: negative duration %v", *d.p)
		}
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	s := &Service{
		cfg:       cfg,
		log:       cfg.Logger,
		now:       cfg.Now,
		products:  map[string]mockstore.Product{},
		couriers:  map[string]mockstore.Courier{},
		busy:      map[string]bool{},
		refunding: map[string]bool{},
		wake:      make(chan struct{}, 1),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("service", mockstore.ServiceCheckout)
	if s.now == nil {
		s.now = time.Now
	}
	for _, p := range cfg.Dataset.Products {
		if _, dup := s.products[p.ID]; dup || !validID(p.ID) || p.Price <= 0 {
			return nil, fmt.Errorf("checkout: dataset product %q: duplicate, malformed ID or price not positive", p.ID)
		}
		s.products[p.ID] = p
	}
	for _, c := range cfg.Dataset.Couriers {
		if _, dup := s.couriers[c.ID]; dup || c.ID == "" {
			return nil, fmt.Errorf("checkout: dataset courier %q: duplicate or empty ID", c.ID)
		}
		s.couriers[c.ID] = c
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = mockstore.NewClient(cfg.PaymentTimeout)
	}
	s.wallet = wallet.NewClient(cfg.WalletURL, hc)

	// A write is not bound to its caller's context: once a state change
	// starts it finishes, so a shopper hanging up cannot leave a payment
	// recorded without its order update.
	db, err := sqlitestore.Open(ctx, cfg.DBPath, []string{schema, cartRevisions}, sqlitestore.WithLogger(s.log),
		sqlitestore.WithDetachedWrites(writeTimeout), sqlitestore.WithCheckpoints(cfg.ReconcileEvery))
	if err != nil {
		return nil, fmt.Errorf("checkout: %w", err)
	}
	s.db = db
	s.errs = httpkit.Errors{Log: s.log}
	s.api, s.audit = s.routes()

	wctx, stop := context.WithCancel(ctx)
	s.stop = stop
	if cfg.Features.On(mockstore.PaymentReconciliation) {
		s.startWorker(wctx, "reconciler", s.reconcileOnce, nil)
	}
	if cfg.Features.On(mockstore.RefundOutbox) {
		s.startWorker(wctx, "outbox", s.outboxOnce, s.wake)
	}
	s.log.Info("checkout ready", "db", cfg.DBPath, "features", cfg.Features.String())
	return s, nil
}

// Handler returns the checkout API, including GET /healthz.
func (s *Service) Handler() http.Handler { return s.api }

// AuditHandler returns the audit routes (GET /audit/orders, GET
// /audit/catalogue), to be served on
// a loopback listener of their own.
func (s *Service) AuditHandler() http.Handler { return s.audit }

// Close stops the workers, waits for them, and closes the store. It is
// idempotent; later calls return the first call's result.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		s.workers.Wait()
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// startWorker runs pass every ReconcileEvery (and whenever wake fires) until
// ctx ends. A pass's errors are logged; the next tick tries again.
func (s *Service) startWorker(ctx context.Context, name string, pass func(ctx context.Context) error, wake <-chan struct{}) {
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		t := time.NewTicker(s.cfg.ReconcileEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-wake:
			}
			if err := pass(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("worker pass", "worker", name, "err", err)
			}
		}
	}()
}

// routes registers every route in one place and returns the API and audit
// handlers.
func (s *Service) routes() (api, audit http.Handler) {
	m := httpkit.NewRouter(s.errs)
	m.Health(mockstore.ServiceCheckout)
	m.Handle("GET /products", s.handleProducts)
	m.Handle("GET /carts/{owner}", s.handleCart)
	m.Handle("POST /carts/{owner}/items", s.handleAddItem)
	m.Handle("DELETE /carts/{owner}/items/{product_id}", s.handleRemoveItem)
	m.Handle("POST /checkout", s.handleCheckout)
	m.Handle("GET /orders/{id}", s.handleOrder)
	m.Handle("POST /orders/{id}/refund", s.handleRefund)

	a := httpkit.NewRouter(s.errs)
	a.Handle("GET /audit/orders", s.handleAuditOrders)
	a.Handle("GET /audit/catalogue", s.handleAuditCatalogue)
	return m, a
}
