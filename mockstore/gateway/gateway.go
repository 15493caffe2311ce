package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/auth"
	"github.com/gameday/gameday/mockstore/checkout"
	"github.com/gameday/gameday/mockstore/food"
	"github.com/gameday/gameday/mockstore/internal/httpkit"
	"github.com/gameday/gameday/mockstore/wallet"
)

// Timeouts bound one call to each upstream (each attempt, when retried).
// Zero fields get the defaults.
type Timeouts struct {
	Auth     time.Duration // default 1s
	Checkout time.Duration // default 3s
	Wallet   time.Duration // default 1s
	Food     time.Duration // default 1s
}

// Defaults of Config.
const (
	DefaultAuthTimeout      = time.Second
	DefaultCheckoutTimeout  = 3 * time.Second
	DefaultWalletTimeout    = time.Second
	DefaultFoodTimeout      = time.Second
	DefaultBreakerThreshold = 5
	DefaultBreakerOpenFor   = 5 * time.Second
	DefaultRequestTimeout   = 20 * time.Second
)

// The breaker's ratio rule: at least half of at least breakerMinCalls calls
// in breakerWindow failed.
const (
	breakerMinCalls = 10
	breakerRatio    = 0.5
	breakerWindow   = 5 * time.Second
)

// Upstream names, as BreakerOpenings and the logs name them.
const (
	upstreamAuth     = mockstore.ServiceAuth
	upstreamCheckout = mockstore.ServiceCheckout
	upstreamWallet   = mockstore.ServiceWallet
	upstreamFood     = mockstore.ServiceFood
)

// rememberedTokens bounds the set of recently valid tokens (forced-logout
// detection) and rememberedBalances the balance cache.
const (
	rememberedTokens   = 100_000
	rememberedBalances = 100_000
)

// Config is what New needs.
type Config struct {
	// AuthURL, CheckoutURL, WalletURL and FoodURL are the upstreams' base
	// URLs (the gateway->auth, gateway->checkout, gateway->wallet and
	// gateway->food proxies).
	AuthURL, CheckoutURL, WalletURL, FoodURL string
	// Features switches the defences; nil means all off.
	Features mockstore.Features
	// Timeouts per upstream; zero fields get the defaults.
	Timeouts Timeouts
	// BreakerThreshold is how many consecutive failures open an upstream's
	// breaker (default 5); at least half of at least 10 calls failing within
	// 5s opens it too.
	BreakerThreshold int
	// BreakerOpenFor is how long an open breaker refuses calls before it lets
	// one probe through (default 5s).
	BreakerOpenFor time.Duration
	// RequestTimeout bounds the whole handling of one shopper request
	// (default 20s), retries included.
	RequestTimeout time.Duration
	// Logger receives the gateway's logs; nil discards them. Tokens are
	// never logged.
	Logger *slog.Logger
	// Now is the clock of breakers, budgets, caches and audits; nil means
	// time.Now.
	Now func() time.Time
}

// Service is the gateway. Its methods are safe for concurrent use.
type Service struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	features mockstore.Features

	auth     *auth.Client
	checkout *checkout.Client
	wallet   *wallet.Client
	food     *food.Client
	up       map[string]*upstream // by name
	clients  []*http.Client

	maint    atomic.Pointer[Maintenance]
	tokens   *validTokens
	balances *balanceCache
	audit    *auditLog

	errs          httpkit.Errors
	api, auditAPI http.Handler
	closeOnce     sync.Once
}

// New returns the gateway for cfg. It fails when an upstream URL is missing
// or not an absolute http(s) URL, or a duration or threshold is negative.
// It starts nothing that runs in the background; ctx is not kept.
func New(ctx context.Context, cfg Config) (*Service, error) {
	for _, u := range []struct{ name, url string }{
		{"AuthURL", cfg.AuthURL}, {"CheckoutURL", cfg.CheckoutURL}, {"WalletURL", cfg.WalletURL}, {"FoodURL", cfg.FoodURL},
	} {
		if err := checkURL(u.url); err != nil {
			return nil, fmt.Errorf("gateway: %s: %w", u.name, err)
		}
	}
	for _, d := range []struct {
		p   *time.Duration
		def time.Duration
	}{
		{&cfg.Timeouts.Auth, DefaultAuthTimeout},
		{&cfg.Timeouts.Checkout, DefaultCheckoutTimeout},
		{&cfg.Timeouts.Wallet, DefaultWalletTimeout},
		{&cfg.Timeouts.Food, DefaultFoodTimeout},
		{&cfg.BreakerOpenFor, DefaultBreakerOpenFor},
		{&cfg.RequestTimeout, DefaultRequestTimeout},
	} {
		if *d.p < 0 {
			return nil, fmt.Errorf("gateway: negative duration %v", *d.p)
		}
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	if cfg.BreakerThreshold < 0 {
		return nil, fmt.Errorf("gateway: negative BreakerThreshold %d", cfg.BreakerThreshold)
	}
	if cfg.BreakerThreshold == 0 {
		cfg.BreakerThreshold = DefaultBreakerThreshold
	}
	s := &Service{
		cfg:      cfg,
		log:      cfg.Logger,
		now:      cfg.Now,
		features: cfg.Features.Clone(),
		up:       map[string]*upstream{},
		tokens:   newValidTokens(rememberedTokens),
		balances: newBalanceCache(rememberedBalances),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("service", mockstore.ServiceGateway)
	if s.now == nil {
		s.now = time.Now
	}
	s.maint.Store(&Maintenance{})
	bcfg := breakerConfig{
		Threshold: cfg.BreakerThreshold,
		MinCalls:  breakerMinCalls,
		Ratio:     breakerRatio,
		Window:    breakerWindow,
		OpenFor:   cfg.BreakerOpenFor,
	}
	for _, u := range []struct {
		name    string
		timeout time.Duration
	}{
		{upstreamAuth, cfg.Timeouts.Auth},
		{upstreamCheckout, cfg.Timeouts.Checkout},
		{upstreamWallet, cfg.Timeouts.Wallet},
		{upstreamFood, cfg.Timeouts.Food},
	} {
		hc := mockstore.NewClient(u.timeout)
		s.clients = append(s.clients, hc)
		up := &upstream{name: u.name, hc: hc, log: s.log}
		if s.features.On(mockstore.CircuitBreakers) {
			name := u.name
			up.breaker = newBreaker(bcfg, s.now, func() {
				s.log.Warn("circuit breaker opened", "upstream", name, "open_for", cfg.BreakerOpenFor)
			})
		}
		if s.features.On(mockstore.RetryBudget) {
			up.budget = newBudget(retryRatio, retryWindow, s.now)
		}
		s.up[u.name] = up
	}
	s.auth = auth.NewClient(cfg.AuthURL, s.up[upstreamAuth].hc)
	s.checkout = checkout.NewClient(cfg.CheckoutURL, s.up[upstreamCheckout].hc)
	s.wallet = wallet.NewClient(cfg.WalletURL, s.up[upstreamWallet].hc)
	s.food = food.NewClient(cfg.FoodURL, s.up[upstreamFood].hc)
	s.audit = newAuditLog()
	s.errs = httpkit.Errors{Log: s.log}
	s.api, s.auditAPI = s.routes()
	return s, nil
}

func checkURL(raw string) error {
	if raw == "" {
		return errors.New("missing")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parse %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	return nil
}

// Handler returns the public API v1 (and GET /healthz). Serve it with
// mockstore.NewServer, which sets the server-side timeouts.
func (s *Service) Handler() http.Handler { return s.api }

// AuditHandler returns the audit routes: GET /audit/gateway and
// GET|POST /audit/maintenance.
func (s *Service) AuditHandler() http.Handler { return s.auditAPI }

// Close releases the upstream connections. It is idempotent and never fails.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		for _, hc := range s.clients {
			hc.CloseIdleConnections()
		}
	})
	return nil
}

// routes registers every route in one place and returns the public API
// (every answer but /healthz's counted, maintenance answered, each request
// bounded by RequestTimeout) and the audit handler.
func (s *Service) routes() (api, audit http.Handler) {
	m := httpkit.NewRouter(s.errs)
	m.Health(mockstore.ServiceGateway)

	m.Handle("POST /api/v1/login", s.handleLogin)
	m.Handle("POST /api/v1/login/verify", s.handleVerify)
	m.Handle("POST /api/v1/login/resend", s.handleResend)
	m.Handle("POST /api/v1/logout", s.handleLogout)
	m.Handle("GET /api/v1/me", s.handleMe)

	m.Handle("GET /api/v1/wallet", s.handleWallet)
	m.Handle("POST /api/v1/wallet/topup", s.handleTopup)

	m.Handle("GET /api/v1/products", s.handleProducts)
	m.Handle("GET /api/v1/cart", s.handleCart)
	m.Handle("POST /api/v1/cart/items", s.handleAddItem)
	m.Handle("DELETE /api/v1/cart/items/{product_id}", s.handleRemoveItem)

	m.Handle("POST /api/v1/checkout", s.handleCheckout)
	m.Handle("GET /api/v1/orders/{id}", s.handleOrder)

	m.Handle("POST /api/v1/wallet/pay", s.handlePay)

	m.Handle("GET /api/v1/food/restaurants", s.handleRestaurants)
	m.Handle("GET /api/v1/food/restaurants/{id}/orders", s.handleMerchantQueue)
	m.Handle("POST /api/v1/food/orders", s.handlePlaceFood)
	m.Handle("GET /api/v1/food/orders/{id}", s.handleFoodOrder)
	m.Handle("POST /api/v1/food/orders/{id}/accept", s.handleAccept)
	m.Handle("POST /api/v1/food/orders/{id}/take", s.handleTake)
	m.Handle("GET /api/v1/food/offers", s.handleOffers)
	m.Handle("POST /api/v1/food/orders/{id}/messages", s.handlePostMessage)
	m.Handle("GET /api/v1/food/orders/{id}/messages", s.handleMessages)

	a := httpkit.NewRouter(s.errs)
	a.Handle("GET /audit/gateway", s.handleAudit)
	a.Handle("GET /audit/maintenance", s.handleGetMaintenance)
	a.Handle("POST /audit/maintenance", s.handleSetMaintenance)

	var h http.Handler = m
	h = s.maintenance(h)
	h = s.deadline(h)
	return s.record(h), a
}

// deadline bounds the handling of one request.
func (s *Service) deadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
