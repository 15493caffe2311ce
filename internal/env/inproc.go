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
	"sync"
	"time"

	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/mockstore"
)

// Inproc is the in-process runtime.
type Inproc struct {
	info    Info
	dataset mockstore.Dataset
	logger  *slog.Logger

	mu      sync.Mutex
	closed  bool
	closers []func() error // run in reverse order at Close
}

// StartInproc starts every service of the topology (Options.Topology, the
// storefront by default), a Toxiproxy proxy per link and the Toxiproxy API
// in this process; each builtin service is configured by Configure. Every listener is open before anything is
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

	topo := opts.topology()
	if err := topology.CheckRuntime(topo, topology.RuntimeInproc); err != nil {
		return nil, err
	}
	for _, svc := range topo.Services {
		if svc.Kind != topology.KindBuiltin {
			return nil, fmt.Errorf("start %s: %s services do not run in-process yet", svc.Name, svc.Kind)
		}
	}

	// Listeners first: every address is known before any service is built.
	main := map[string]net.Listener{}
	audit := map[string]net.Listener{}
	for _, svc := range topo.Services {
		if main[svc.Name], err = e.listen(); err != nil {
			return nil, err
		}
		if audit[svc.Name], err = e.listen(); err != nil {
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
	for _, l := range topo.Links {
		links[l.Name()] = l.Proxy()
		upstream := main[l.To].Addr().String()
		if opts.Direct {
			linkURL[l.Name()] = "http://" + upstream
			continue
		}
		addr, err := tp.AddProxy(l.Proxy(), "127.0.0.1:0", upstream)
		if err != nil {
			return nil, fmt.Errorf("add proxy %s: %w", l.Name(), err)
		}
		linkURL[l.Name()] = "http://" + addr
	}
	proxyURL := func(l topology.Link) string { return linkURL[l.Name()] }

	ds := e.dataset
	svcs := map[string]Service{}
	for _, svc := range topo.Services {
		cfg, err := Configure(topo, svc, opts, dir, proxyURL)
		if err != nil {
			return nil, err
		}
		cfg.Features, cfg.Dataset = feats, &ds
		s, err := cfg.Start(ctx, logger.With("service", svc.Name))
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", svc.Name, err)
		}
		svcs[svc.Name] = s
		e.onClose(s.Close)
	}

	auditURL := map[string]string{}
	serviceURL := map[string]string{}
	for _, svc := range topo.Services {
		log := logger.With("service", svc.Name)
		e.serve(main[svc.Name], svcs[svc.Name].Handler(), log)
		e.serve(audit[svc.Name], svcs[svc.Name].AuditHandler(), log)
		auditURL[svc.Name] = "http://" + audit[svc.Name].Addr().String()
		serviceURL[svc.Name] = "http://" + main[svc.Name].Addr().String()
	}
	entries := map[string]string{}
	for _, l := range topo.Entries() {
		entries[l.Name()] = linkURL[l.Name()]
	}
	e.info = Info{
		Runtime:     "inproc",
		Profile:     profile,
		Features:    feats.String(),
		Seed:        opts.Seed,
		Shoppers:    len(ds.Users),
		Dir:         dir,
		Gateway:     linkURL[topo.Entries()[0].Name()],
		Toxiproxy:   apiURL,
		OTPInbox:    serviceURL[mockstore.ServiceOTP],
		Audit:       auditURL,
		Links:       links,
		Topology:    topo.Name,
		Services:    serviceURL,
		Entries:     entries,
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
