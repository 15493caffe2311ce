package env

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/auth"
	"github.com/gameday/gameday/mockstore/checkout"
	"github.com/gameday/gameday/mockstore/food"
	"github.com/gameday/gameday/mockstore/gateway"
	"github.com/gameday/gameday/mockstore/otp"
	"github.com/gameday/gameday/mockstore/sessions"
	"github.com/gameday/gameday/mockstore/wallet"
)

// service is what every storefront service offers the environment.
type service interface {
	Handler() http.Handler
	AuditHandler() http.Handler
	Close() error
}

// Inproc is the in-process runtime.
type Inproc struct {
	info    Info
	dataset mockstore.Dataset
	logger  *slog.Logger

	mu      sync.Mutex
	closed  bool
	closers []func() error // run in reverse order at Close
}

// StartInproc starts every service, a Toxiproxy proxy per link and the
// Toxiproxy API in this process. Every listener is open before anything is
// served, so the environment is ready when StartInproc returns; on failure
// everything started so far is stopped again.
func StartInproc(ctx context.Context, opts Options) (_ *Inproc, err error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	feats := opts.Features
	if feats == nil {
		feats, _ = mockstore.Profile(mockstore.ProfileResilient)
	}
	profile := opts.Profile
	if profile == "" {
		profile = "custom"
	}
	e := &Inproc{logger: logger, dataset: mockstore.Seed(opts.Seed, opts.Shoppers)}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.Close())
		}
	}()

	dir := opts.Dir
	if dir == "" {
		dir, err = os.MkdirTemp("", "gameday-")
		if err != nil {
			return nil, fmt.Errorf("make run directory: %w", err)
		}
		e.onClose(func() error { return os.RemoveAll(dir) })
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("make run directory: %w", err)
	}

	// Listeners first: every address is known before any service is built.
	main := map[string]net.Listener{}
	audit := map[string]net.Listener{}
	for _, name := range mockstore.Services {
		if main[name], err = e.listen(); err != nil {
			return nil, err
		}
		if audit[name], err = e.listen(); err != nil {
			return nil, err
		}
	}

	// Toxiproxy: the real server, its API on loopback, one proxy per link.
	tp := fault.New(logger.With("component", "toxiproxy"))
	e.onClose(tp.Close)
	apiAddr := opts.ToxiproxyAddr
	if apiAddr == "" {
		apiAddr = "127.0.0.1:0"
	}
	apiURL, err := tp.Start(ctx, apiAddr)
	if err != nil {
		return nil, fmt.Errorf("start toxiproxy: %w", err)
	}
	linkURL := map[string]string{} // link name -> URL the caller uses
	links := map[string]string{}
	for _, l := range mockstore.Links() {
		links[l.Name] = l.Proxy
		upstream := main[l.To].Addr().String()
		if opts.Direct {
			linkURL[l.Name] = "http://" + upstream
			continue
		}
		addr, err := tp.AddProxy(l.Proxy, "127.0.0.1:0", upstream)
		if err != nil {
			return nil, fmt.Errorf("add proxy %s: %w", l.Name, err)
		}
		linkURL[l.Name] = "http://" + addr
	}
	to := func(from, to string) string { return linkURL[from+"->"+to] }

	db := func(name string) string { return filepath.Join(dir, name+".db") }
	log := func(name string) *slog.Logger { return logger.With("service", name) }
	ds := e.dataset
	starts := []struct {
		name  string
		start func() (service, error)
	}{
		{mockstore.ServiceSessions, func() (service, error) {
			return sessions.New(ctx, sessions.Config{DBPath: db("sessions"), Features: feats, Logger: log("sessions")})
		}},
		{mockstore.ServiceOTP, func() (service, error) {
			return otp.New(ctx, otp.Config{DBPath: db("otp"), Features: feats, Logger: log("otp")})
		}},
		{mockstore.ServiceWallet, func() (service, error) {
			return wallet.New(ctx, wallet.Config{DBPath: db("wallet"), Dataset: ds, Features: feats, Logger: log("wallet")})
		}},
		{mockstore.ServiceAuth, func() (service, error) {
			newAuth := auth.New
			if opts.NewAuth != nil {
				newAuth = opts.NewAuth
			}
			return newAuth(ctx, auth.Config{
				DBPath: db("auth"), SessionsURL: to("auth", "sessions"), OTPURL: to("auth", "otp"),
				OTPTimeout: opts.OTPTimeout, FallbackAfter: opts.OTPFallbackAfter, CodeTTL: opts.OTPLifetime,
				Dataset: ds, Features: feats, Logger: log("auth"),
			})
		}},
		{mockstore.ServiceCheckout, func() (service, error) {
			return checkout.New(ctx, checkout.Config{
				DBPath: db("checkout"), WalletURL: to("checkout", "wallet"), Dataset: ds, Features: feats,
				RefundSLA: opts.RefundSLA, PendingBound: opts.PendingBound, Logger: log("checkout"),
			})
		}},
		{mockstore.ServiceFood, func() (service, error) {
			return food.New(ctx, food.Config{DBPath: db("food"), Dataset: ds, Features: feats, Logger: log("food")})
		}},
		{mockstore.ServiceGateway, func() (service, error) {
			return gateway.New(ctx, gateway.Config{
				AuthURL: to("gateway", "auth"), CheckoutURL: to("gateway", "checkout"), WalletURL: to("gateway", "wallet"),
				FoodURL:  to("gateway", "food"),
				Timeouts: opts.GatewayTimeouts, Features: feats, Logger: log("gateway"),
			})
		}},
	}
	svcs := map[string]service{}
	for _, st := range starts {
		s, err := st.start()
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", st.name, err)
		}
		svcs[st.name] = s
		e.onClose(s.Close)
	}

	auditURL := map[string]string{}
	for _, name := range mockstore.Services {
		e.serve(main[name], svcs[name].Handler(), log(name))
		e.serve(audit[name], svcs[name].AuditHandler(), log(name))
		auditURL[name] = "http://" + audit[name].Addr().String()
	}
	e.info = Info{
		Runtime:     "inproc",
		Profile:     profile,
		Features:    feats.String(),
		Seed:        opts.Seed,
		Shoppers:    len(ds.Users),
		Dir:         dir,
		Gateway:     to("client", "gateway"),
		Toxiproxy:   apiURL,
		OTPInbox:    "http://" + main[mockstore.ServiceOTP].Addr().String(),
		Audit:       auditURL,
		Links:       links,
		SamplePhone: samplePhone(ds),
		Direct:      opts.Direct,
	}
	return e, nil
}

// Info describes where everything is.
func (e *Inproc) Info() Info { return e.info }

// Dataset is the seeded world.
func (e *Inproc) Dataset() mockstore.Dataset { return e.dataset }

// Close stops the servers first (so no request reaches a closed store), then
// the services, the proxies and the Toxiproxy API, and removes a temporary
// run directory. It is idempotent.
func (e *Inproc) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	closers := e.closers
	e.closers = nil
	e.mu.Unlock()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (e *Inproc) onClose(f func() error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closers = append(e.closers, f)
}

func (e *Inproc) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	// Closed by its server's Shutdown once served; this covers a start that
	// fails before serving (closing twice only reports an ignored error).
	e.onClose(func() error { _ = ln.Close(); return nil })
	return ln, nil
}

// serve serves h on ln until Close, which shuts the server down gracefully
// (bounded) and then hard.
func (e *Inproc) serve(ln net.Listener, h http.Handler, logger *slog.Logger) {
	srv := mockstore.NewServer(h, logger)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("serve", "addr", ln.Addr().String(), "err", err)
		}
	}()
	e.onClose(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
		<-done
		return nil
	})
}
