package food

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
	// DBPath is the SQLite file of orders and messages; created when missing
	// (required).
	DBPath string
	// Dataset gives the restaurants with their menus and the drivers.
	Dataset mockstore.Dataset
	// Features switches the defences; IdempotentRequests is the only one the
	// service reads. nil means all off.
	Features mockstore.Features
	// Logger receives the service's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// writeTimeout bounds how long a write may wait for the writer and run.
const writeTimeout = 10 * time.Second

// Service is the food service. Its methods are safe for concurrent use.
type Service struct {
	log         *slog.Logger
	now         func() time.Time
	idempotent  bool // mockstore.IdempotentRequests
	restaurants []mockstore.Restaurant
	byID        map[string]restaurant
	drivers     map[string]bool

	db   *sqlitestore.DB
	errs httpkit.Errors

	api, audit http.Handler
}

// restaurant is a dataset restaurant with its menu indexed.
type restaurant struct {
	mockstore.Restaurant
	menu map[string]mockstore.MenuItem
}

// New opens (or creates) the store at cfg.DBPath and returns the service. It
// fails when DBPath is empty, the dataset's restaurants or drivers are
// malformed (duplicate or malformed IDs, a price not positive), or the store
// cannot be opened or migrated.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DBPath == "" {
		return nil, errors.New("food: no DBPath")
	}
	s := &Service{
		log:         cfg.Logger,
		now:         cfg.Now,
		idempotent:  cfg.Features.On(mockstore.IdempotentRequests),
		restaurants: cfg.Dataset.Restaurants,
		byID:        map[string]restaurant{},
		drivers:     map[string]bool{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("service", mockstore.ServiceFood)
	if s.now == nil {
		s.now = time.Now
	}
	if s.restaurants == nil {
		s.restaurants = []mockstore.Restaurant{}
	}
	for _, r := range cfg.Dataset.Restaurants {
		if _, dup := s.byID[r.ID]; dup || !validID(r.ID) || !validID(r.Owner) {
			return nil, fmt.Errorf("food: dataset restaurant %q: duplicate or malformed ID or owner", r.ID)
		}
		rr := restaurant{Restaurant: r, menu: map[string]mockstore.MenuItem{}}
		for _, m := range r.Menu {
			if _, dup := rr.menu[m.ID]; dup || !validID(m.ID) || m.Price <= 0 {
				return nil, fmt.Errorf("food: dataset restaurant %s item %q: duplicate or malformed ID or price not positive", r.ID, m.ID)
			}
			rr.menu[m.ID] = m
		}
		s.byID[r.ID] = rr
	}
	for _, id := range cfg.Dataset.Drivers {
		if !validID(id) {
			return nil, fmt.Errorf("food: dataset driver %q: malformed ID", id)
		}
		s.drivers[id] = true
	}

	// A write is not bound to its caller's context: once a change starts it
	// finishes, so a caller hanging up cannot waste the work (it is all or
	// nothing anyway).
	db, err := sqlitestore.Open(ctx, cfg.DBPath, []string{schema},
		sqlitestore.WithLogger(s.log), sqlitestore.WithDetachedWrites(writeTimeout))
	if err != nil {
		return nil, fmt.Errorf("food: %w", err)
	}
	s.db = db
	s.errs = httpkit.Errors{Log: s.log}
	s.api, s.audit = s.routes()
	s.log.Info("food ready", "db", cfg.DBPath, "idempotent_requests", s.idempotent)
	return s, nil
}

// Handler returns the food API, including GET /healthz.
func (s *Service) Handler() http.Handler { return s.api }

// AuditHandler returns the audit routes (GET /audit/food), to be served on a
// loopback listener of their own.
func (s *Service) AuditHandler() http.Handler { return s.audit }

// Close closes the store. It is idempotent; later calls return the first
// call's result.
func (s *Service) Close() error { return s.db.Close() }

// routes registers every route in one place and returns the API and audit
// handlers.
func (s *Service) routes() (api, audit http.Handler) {
	m := httpkit.NewRouter(s.errs)
	m.Health(mockstore.ServiceFood)
	m.Handle("GET /restaurants", s.handleRestaurants)
	m.Handle("GET /restaurants/{rid}/orders", s.handleQueue)
	m.Handle("POST /orders", s.handlePlace)
	m.Handle("GET /orders/{id}", s.handleOrder)
	m.Handle("POST /orders/{id}/accept", s.handleAccept)
	m.Handle("POST /orders/{id}/take", s.handleTake)
	m.Handle("GET /offers", s.handleOffers)
	m.Handle("POST /orders/{id}/messages", s.handlePost)
	m.Handle("GET /orders/{id}/messages", s.handleMessages)

	a := httpkit.NewRouter(s.errs)
	a.Handle("GET /audit/food", s.handleAudit)
	return m, a
}
