package food

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gameday/gameday/mockstore"
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

// Service is the food service. Its methods are safe for concurrent use.
type Service struct {
	log         *slog.Logger
	now         func() time.Time
	idempotent  bool // mockstore.IdempotentRequests
	restaurants []mockstore.Restaurant
	byID        map[string]restaurant
	drivers     map[string]bool

	w *sql.DB // one connection: every write goes through it, one at a time
	r *sql.DB // readers of committed snapshots (WAL)

	api, audit http.Handler
	closeOnce  sync.Once
	closeErr   error
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
	if strings.ContainsAny(cfg.DBPath, "?#") {
		return nil, fmt.Errorf("food: DBPath %q: '?' and '#' are not allowed", cfg.DBPath)
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

	var err error
	if s.w, err = openDB(cfg.DBPath, true); err != nil {
		return nil, fmt.Errorf("food: open store: %w", err)
	}
	if err := migrate(ctx, s.w); err != nil {
		_ = s.w.Close()
		return nil, fmt.Errorf("food: open store: %w", err)
	}
	if s.r, err = openDB(cfg.DBPath, false); err != nil {
		_ = s.w.Close()
		return nil, fmt.Errorf("food: open store readers: %w", err)
	}
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
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		if err := errors.Join(s.r.Close(), s.w.Close()); err != nil {
			s.closeErr = fmt.Errorf("close store: %w", err)
		}
	})
	return s.closeErr
}

// routes registers every route in one place and returns the API and audit
// handlers.
func (s *Service) routes() (api, audit http.Handler) {
	m := newRouter(s.log)
	m.handle("GET /healthz", s.handleHealth)
	m.handle("GET /restaurants", s.handleRestaurants)
	m.handle("GET /restaurants/{rid}/orders", s.handleQueue)
	m.handle("POST /orders", s.handlePlace)
	m.handle("GET /orders/{id}", s.handleOrder)
	m.handle("POST /orders/{id}/accept", s.handleAccept)
	m.handle("POST /orders/{id}/take", s.handleTake)
	m.handle("GET /offers", s.handleOffers)
	m.handle("POST /orders/{id}/messages", s.handlePost)
	m.handle("GET /orders/{id}/messages", s.handleMessages)

	a := newRouter(s.log)
	a.handle("GET /audit/food", s.handleAudit)
	return m, a
}

func (s *Service) handleHealth(w http.ResponseWriter, r *http.Request) {
	mockstore.WriteJSON(w, http.StatusOK, map[string]string{"service": mockstore.ServiceFood})
}

// writeError answers err in the envelope and logs what is not the caller's
// fault (an internal error's text stays out of the answer).
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *mockstore.Error
	if !errors.As(err, &e) || e.Code == mockstore.CodeInternal {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	mockstore.WriteError(w, err)
}

// router is a ServeMux that answers its misses in the error envelope — 405
// method_not_allowed for a known path, 404 not_found otherwise — and turns a
// handler's panic into an internal error instead of a dropped connection.
type router struct {
	log   *slog.Logger
	mux   *http.ServeMux
	known *http.ServeMux // the registered paths for any method: a hit there is a wrong method
	paths map[string]bool
}

func newRouter(log *slog.Logger) *router {
	rt := &router{log: log, mux: http.NewServeMux(), known: http.NewServeMux(), paths: map[string]bool{}}
	rt.mux.HandleFunc("/", rt.miss)
	return rt
}

// handle registers h for pattern, "METHOD /path".
func (rt *router) handle(pattern string, h http.HandlerFunc) {
	rt.mux.HandleFunc(pattern, h)
	_, path, _ := strings.Cut(pattern, " ")
	if !rt.paths[path] {
		rt.paths[path] = true
		rt.known.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			mockstore.WriteError(w, mockstore.Errorf(mockstore.CodeMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
		})
	}
}

func (rt *router) miss(w http.ResponseWriter, r *http.Request) {
	if _, pattern := rt.known.Handler(r); pattern != "" {
		rt.known.ServeHTTP(w, r)
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
