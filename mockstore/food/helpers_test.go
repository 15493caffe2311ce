package food

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// clock is a fake clock that moves one millisecond on every reading, so
// that every recorded time is distinct and in order.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// env is a food service under test, served on loopback, with the roles of
// the seeded world.
type env struct {
	svc    *Service
	cfg    Config
	api    *httptest.Server
	auditS *httptest.Server
	c      *Client // the API
	audit  *Client // the audit handler

	shopper, other  string // two shoppers
	rest, rest2     mockstore.Restaurant
	driver, driver2 string
}

// newEnv starts the service on a new store with IdempotentRequests on or off.
func newEnv(tb testing.TB, idempotent bool) *env {
	tb.Helper()
	cfg := Config{
		DBPath:   filepath.Join(tb.TempDir(), "food.db"),
		Dataset:  mockstore.Seed(1, 40),
		Features: mockstore.Features{mockstore.IdempotentRequests: idempotent},
		Now:      (&clock{t: time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC)}).Now,
	}
	return startEnv(tb, cfg)
}

// startEnv starts the service with cfg.
func startEnv(tb testing.TB, cfg Config) *env {
	tb.Helper()
	svc, err := New(context.Background(), cfg)
	if svc != nil {
		tb.Cleanup(func() { _ = svc.Close() })
	}
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	api := httptest.NewServer(svc.Handler())
	tb.Cleanup(api.Close)
	audit := httptest.NewServer(svc.AuditHandler())
	tb.Cleanup(audit.Close)
	d := cfg.Dataset
	if len(d.Restaurants) < 2 || len(d.Drivers) < 2 {
		tb.Fatalf("dataset has %d restaurants and %d drivers; want 2 of each", len(d.Restaurants), len(d.Drivers))
	}
	return &env{
		svc: svc, cfg: cfg, api: api, auditS: audit,
		// Generous timeouts: -race and a busy machine slow the concurrent tests.
		c: NewClient(api.URL, mockstore.NewClient(10*time.Second)), audit: NewClient(audit.URL, mockstore.NewClient(10*time.Second)),
		shopper: d.Users[0].ID, other: d.Users[1].ID,
		rest: d.Restaurants[0], rest2: d.Restaurants[1],
		driver: d.Drivers[0], driver2: d.Drivers[1],
	}
}

// order is a valid request of shopper: one of the first dish and two of the
// second of the first restaurant.
func (e *env) order(shopper string) PlaceRequest {
	return PlaceRequest{UserID: shopper, RestaurantID: e.rest.ID, Items: []Item{
		{ItemID: e.rest.Menu[0].ID, Qty: 1}, {ItemID: e.rest.Menu[1].ID, Qty: 2},
	}}
}

// amount is what e.order costs.
func (e *env) amount() int64 { return e.rest.Menu[0].Price + 2*e.rest.Menu[1].Price }

func (e *env) place(tb testing.TB, key string, req PlaceRequest) Order {
	tb.Helper()
	o, err := e.c.Place(context.Background(), key, req)
	if err != nil {
		tb.Fatalf("Place %s: %v", key, err)
	}
	return o
}

func (e *env) readAudit(tb testing.TB) mockstore.FoodAudit {
	tb.Helper()
	a, err := e.audit.Audit(context.Background())
	if err != nil {
		tb.Fatalf("Audit: %v", err)
	}
	return a
}

// wantCode fails unless err is a *mockstore.Error with code, arrived with
// code's status.
func wantCode(tb testing.TB, err error, code mockstore.Code) {
	tb.Helper()
	var e *mockstore.Error
	if !errors.As(err, &e) || e.Code != code || e.Status != code.Status() {
		tb.Fatalf("err = %v (%T), want %d %s", err, err, code.Status(), code)
	}
}
