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
	s.api = s.publicHandler()
	s.auditAPI = s.auditHandler()
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

// routes registers every public route in one place.
func (s *Service) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", s.handleHealth)

	mux.HandleFunc("POST /api/v1/login", s.handleLogin)
	mux.HandleFunc("POST /api/v1/login/verify", s.handleVerify)
	mux.HandleFunc("POST /api/v1/login/resend", s.handleResend)
	mux.HandleFunc("POST /api/v1/logout", s.handleLogout)
	mux.HandleFunc("GET /api/v1/me", s.handleMe)

	mux.HandleFunc("GET /api/v1/wallet", s.handleWallet)
	mux.HandleFunc("POST /api/v1/wallet/topup", s.handleTopup)

	mux.HandleFunc("GET /api/v1/products", s.handleProducts)
	mux.HandleFunc("GET /api/v1/cart", s.handleCart)
	mux.HandleFunc("POST /api/v1/cart/items", s.handleAddItem)
	mux.HandleFunc("DELETE /api/v1/cart/items/{product_id}", s.handleRemoveItem)

	mux.HandleFunc("POST /api/v1/checkout", s.handleCheckout)
	mux.HandleFunc("GET /api/v1/orders/{id}", s.handleOrder)

	mux.HandleFunc("POST /api/v1/wallet/pay", s.handlePay)

	mux.HandleFunc("GET /api/v1/food/restaurants", s.handleRestaurants)
	mux.HandleFunc("GET /api/v1/food/restaurants/{id}/orders", s.handleMerchantQueue)
	mux.HandleFunc("POST /api/v1/food/orders", s.handlePlaceFood)
	mux.HandleFunc("GET /api/v1/food/orders/{id}", s.handleFoodOrder)
	mux.HandleFunc("POST /api/v1/food/orders/{id}/accept", s.handleAccept)
	mux.HandleFunc("POST /api/v1/food/orders/{id}/take", s.handleTake)
	mux.HandleFunc("GET /api/v1/food/offers", s.handleOffers)
	mux.HandleFunc("POST /api/v1/food/orders/{id}/messages", s.handlePostMessage)
	mux.HandleFunc("GET /api/v1/food/orders/{id}/messages", s.handleMessages)
}

// auditRoutes registers the audit routes.
func (s *Service) auditRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /audit/gateway", s.handleAudit)
	mux.HandleFunc("GET /audit/maintenance", s.handleGetMaintenance)
	mux.HandleFunc("POST /audit/maintenance", s.handleSetMaintenance)
}

func (s *Service) publicHandler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	var h http.Handler = envelopeMux(mux, s.writeError)
	h = s.maintenance(h)
	h = s.deadline(h)
	h = s.recoverPanics(h)
	return s.record(h)
}

func (s *Service) auditHandler() http.Handler {
	mux := http.NewServeMux()
	s.auditRoutes(mux)
	return s.recoverPanics(envelopeMux(mux, s.writeError))
}

// envelopeMux serves mux, but answers an unknown route 404 not_found and a
// known route with the wrong method 405 method_not_allowed in the envelope
// (the mux itself would answer plain text).
func envelopeMux(mux *http.ServeMux, writeError func(http.ResponseWriter, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		probe := &headerProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", probe.header.Get("Allow"))
			writeError(w, mockstore.Errorf(mockstore.CodeMethodNotAllowed, "method %s not allowed on %s (allowed: %s)",
				r.Method, r.URL.Path, probe.header.Get("Allow")))
			return
		}
		writeError(w, mockstore.Errorf(mockstore.CodeNotFound, "no route %s %s", r.Method, r.URL.Path))
	})
}

// headerProbe is a ResponseWriter that keeps only the status and headers of
// what the mux would have answered.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}

// deadline bounds the handling of one request.
func (s *Service) deadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// recoverPanics turns a panic into a 500 internal envelope (when nothing was
// written yet) instead of a dropped connection, and logs it.
func (s *Service) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			if rec, ok := w.(*recorder); !ok || !rec.wrote {
				s.writeError(w, mockstore.Errorf(mockstore.CodeInternal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// writeError answers err in the envelope, and tells the audit its code.
func (s *Service) writeError(w http.ResponseWriter, err error) {
	if rec, ok := w.(*recorder); ok {
		rec.code = mockstore.ErrorCode(err)
	}
	mockstore.WriteError(w, err)
}

func (s *Service) handleHealth(w http.ResponseWriter, r *http.Request) {
	mockstore.WriteJSON(w, http.StatusOK, map[string]string{"service": mockstore.ServiceGateway})
}
