package env

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
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
	closers []func() error      // run in reverse order at Close
	procs   map[string]*Process // the services that run as processes of their own
}

// StartInproc starts every service, a Toxiproxy proxy per link and the
// Toxiproxy API in this process, except the services named in
// opts.Crashable and opts.Processes, which run as child processes behind
// the same proxies (see Process). Every listener is open before anything is
// served, and each child answers its health check, so the environment is
// ready when StartInproc returns; on failure everything started so far is
// stopped again.
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
	started := func() error { return nil } // waits for the children to start
	defer func() {
		if err != nil {
			_ = started() // a child still starting would be missed by Close

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

	// Services run as processes of their own: those a scenario crashes as
	// `gameday serve`, and those replaced by the caller's.
	children := map[string]ProcessSpec{}
	for _, name := range opts.Crashable {
		children[name] = serveSpec(name, opts, feats, len(e.dataset.Users), opts.Serve)
	}
	maps.Copy(children, opts.Processes)

	// Listeners first: every address is known before any service is built.
	// A child's addresses are held by a listener until it starts, so that
	// no proxy takes its port meanwhile.
	main := map[string]net.Listener{}
	audit := map[string]net.Listener{}
	for _, name := range mockstore.Services {
		if spec, ok := children[name]; ok {
			if main[name], err = e.listen(); err != nil {
				return nil, err
			}
			if spec.Audit {
				if audit[name], err = e.listen(); err != nil {
					return nil, err
				}
			}
			continue
		}
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
	started = e.startChildren(ctx, children, main, audit, linkURL, dir)

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
			return auth.New(ctx, auth.Config{
				DBPath: db("auth"), SessionsURL: to("auth", "sessions"), OTPURL: to("auth", "otp"),
				OTPTimeout: opts.OTPTimeout, FallbackAfter: opts.OTPFallbackAfter,
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
		if _, ok := children[st.name]; ok {
			continue
		}
		s, err := st.start()
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", st.name, err)
		}
		svcs[st.name] = s
		e.onClose(s.Close)
	}

	auditURL := map[string]string{}
	for _, name := range mockstore.Services {
		if _, ok := children[name]; ok {
			if audit[name] != nil {
				auditURL[name] = "http://" + audit[name].Addr().String()
			}
			continue
		}
		e.serve(main[name], svcs[name].Handler(), log(name))
		e.serve(audit[name], svcs[name].AuditHandler(), log(name))
		auditURL[name] = "http://" + audit[name].Addr().String()
	}
	if err := started(); err != nil {
		return nil, err
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

// startChildren starts the services that run as processes of their own,
// each on the addresses its listeners in main and audit hold until then,
// and returns at once; the function it returns waits until each is healthy
// (or has failed) and returns what failed.
func (e *Inproc) startChildren(ctx context.Context, children map[string]ProcessSpec, main, audit map[string]net.Listener, linkURL map[string]string, dir string) func() error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	e.procs = map[string]*Process{}
	for name, spec := range children {
		w := Wiring{Service: name, Addr: main[name].Addr().String(), Links: map[string]string{}, Dir: dir}
		if audit[name] != nil {
			w.AuditAddr = audit[name].Addr().String()
		}
		for _, l := range mockstore.Links() {
			if l.From == name {
				w.Links[l.To] = linkURL[l.Name]
			}
		}
		cmd, err := spec.Command(w)
		if err != nil {
			errs = append(errs, fmt.Errorf("start %s: resolve its command: %w", name, err))
			continue
		}
		wg.Go(func() {
			_ = main[name].Close() // the child listens there now
			if audit[name] != nil {
				_ = audit[name].Close()
			}
			p, err := StartProcess(ctx, ProcessConfig{
				Service: name, Command: cmd, Addr: w.Addr, Health: spec.Health,
				LogPath: filepath.Join(dir, name+".log"), RestartDelay: spec.RestartDelay, Logger: e.logger,
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			e.procs[name] = p
			e.onClose(p.Close)
		})
	}
	return func() error {
		wg.Wait()
		return errors.Join(errs...)
	}
}

// Crash carries out action on service when it runs as a process of its own
// (Options.Crashable, Options.Processes; see Crasher and Process.Crash); a
// service that runs inside the harness cannot crash, and Crash says so.
func (e *Inproc) Crash(ctx context.Context, service, action string) error {
	e.mu.Lock()
	p, ok := e.procs[service]
	closed := e.closed
	e.mu.Unlock()
	switch {
	case closed:
		return fmt.Errorf("%s %s: the environment is closed", action, service)
	case !ok:
		return fmt.Errorf("%s %s: the service runs inside the harness, not as a process of its own (in-process, only the services a scenario crashes are)", action, service)
	}
	if err := p.Crash(ctx, action); err != nil {
		return fmt.Errorf("%s %s: %w", action, service, err)
	}
	return nil
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
