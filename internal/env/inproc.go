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
	"slices"
	"strings"
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
	closers []func() error      // run in reverse order at Close
	procs   map[string]*Process // the services that run as processes of their own
}

// StartInproc starts every service of the topology (Options.Topology, the
// storefront by default), a Toxiproxy proxy per link and the Toxiproxy API
// in this process, each builtin service configured by Configure; except
// the topology's process services and the services named in
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
	topo := opts.topology()
	if err := topology.CheckRuntime(topo, topology.RuntimeInproc); err != nil {
		return nil, err
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

	// Services run as processes of their own: the topology's process
	// services, those a scenario crashes as `gameday serve`, and those
	// replaced by the caller's.
	copts := opts
	copts.Features, copts.Shoppers = feats, len(e.dataset.Users)
	children := map[string]ProcessSpec{}
	for _, svc := range topo.Services {
		switch {
		case svc.Kind == topology.KindProcess:
			children[svc.Name] = topologySpec(topo, svc)
		case slices.Contains(opts.Crashable, svc.Name):
			children[svc.Name] = serveSpec(topo, svc, copts, opts.Serve)
		}
	}
	for _, name := range opts.Crashable {
		if _, ok := topo.Service(name); !ok {
			return nil, fmt.Errorf("crashable service %q: allowed values: %s", name, strings.Join(topo.ServiceNames(), ", "))
		}
	}
	maps.Copy(children, opts.Processes)

	// Listeners first: every address is known before any service is built.
	// A child's addresses are held by a listener until it starts, so that
	// no proxy takes its port meanwhile.
	main := map[string]net.Listener{}
	audit := map[string]net.Listener{}
	for _, svc := range topo.Services {
		name := svc.Name
		if main[name], err = e.listen(); err != nil {
			return nil, err
		}
		if spec, ok := children[name]; ok && !spec.Audit {
			continue
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
	started = e.startChildren(ctx, topo, children, main, audit, linkURL, dir)

	ds := e.dataset
	svcs := map[string]Service{}
	for _, svc := range topo.Services {
		if _, ok := children[svc.Name]; ok {
			continue
		}
		cfg, err := Configure(topo, svc, copts, dir, func(l topology.Link) string { return linkURL[l.Name()] })
		if err != nil {
			return nil, err
		}
		cfg.Dataset = &ds
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
		name := svc.Name
		serviceURL[name] = "http://" + main[name].Addr().String()
		if audit[name] != nil {
			auditURL[name] = "http://" + audit[name].Addr().String()
		}
		if _, ok := children[name]; ok {
			continue
		}
		log := logger.With("service", name)
		e.serve(main[name], svcs[name].Handler(), log)
		e.serve(audit[name], svcs[name].AuditHandler(), log)
	}
	if err := started(); err != nil {
		return nil, err
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

// startChildren starts the services that run as processes of their own,
// each on the addresses its listeners in main and audit hold until then,
// and returns at once; the function it returns waits until each is healthy
// (or has failed) and returns what failed.
func (e *Inproc) startChildren(ctx context.Context, topo *topology.Topology, children map[string]ProcessSpec, main, audit map[string]net.Listener, linkURL map[string]string, dir string) func() error {
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
		for _, l := range topo.Links {
			if l.From == name {
				w.Links[l.To] = linkURL[l.Name()]
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
