package fault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrClosed is returned by a Server's methods after Close.
var ErrClosed = errors.New("fault server closed")

// closeWait bounds each step of Close that waits on others: in-flight API
// requests, and toxics that must let go of their connections.
const closeWait = 5 * time.Second

// Server is a real Toxiproxy server embedded in this process, with our
// toxics, serving its real HTTP API on a listener of the caller's choosing.
// Toxiproxy's Go client, toxiproxy-cli and Client all work against it.
//
// A Server is safe for concurrent use. Its zero value is not usable: call New.
type Server struct {
	logger *slog.Logger
	api    *toxiproxy.ApiServer

	mu     sync.Mutex // guards the fields below, and serialises AddProxy with Close
	http   *http.Server
	ln     net.Listener
	served chan struct{} // closed when the API's Serve has returned
	apiURL string
	closed bool

	closeOnce sync.Once
	closeErr  error
}

// New returns a Server with no proxies and no API yet. Toxiproxy's own log
// messages go to logger (see zerologFor for levels); nil discards them.
func New(logger *slog.Logger) *Server {
	if logger == nil {
		logger = discard
	}
	metrics := toxiproxy.NewMetricsContainer(prometheus.NewRegistry())
	return &Server{
		logger: logger,
		api:    toxiproxy.NewServer(metrics, zerologFor(logger.With("component", "toxiproxy"))),
	}
}

// Start listens on apiAddr ("" means 127.0.0.1:0, an OS-chosen loopback
// port) and serves the API there, as ServeAPI does. It returns the API's base
// URL, e.g. "http://127.0.0.1:40123". ctx bounds only the listen.
func (s *Server) Start(ctx context.Context, apiAddr string) (string, error) {
	if apiAddr == "" {
		apiAddr = "127.0.0.1:0"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", apiAddr)
	if err != nil {
		return "", fmt.Errorf("listen for toxiproxy API: %w", err)
	}
	if err := s.ServeAPI(ln); err != nil {
		ln.Close()
		return "", err
	}
	return s.APIURL(), nil
}

// ServeAPI serves Toxiproxy's HTTP API on ln in the background, and returns
// at once. The Server owns ln from then on and closes it in Close. It
// returns an error if the API is already served or the Server is closed.
func (s *Server) ServeAPI(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("serve toxiproxy API: %w", ErrClosed)
	}
	if s.http != nil {
		return fmt.Errorf("serve toxiproxy API: already serving at %s", s.apiURL)
	}
	srv := &http.Server{
		Handler:           s.api.Routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second, // Toxiproxy's handlers time out at 25 s
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
	}
	served := make(chan struct{})
	s.http, s.ln, s.served = srv, ln, served
	s.apiURL = "http://" + dialable(ln.Addr())
	go func() {
		defer close(served)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.logger.Warn("toxiproxy API stopped", "err", err)
		}
	}()
	return nil
}

// APIURL returns the API's base URL, or "" before ServeAPI or Start.
func (s *Server) APIURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apiURL
}

// AddProxy creates and starts the proxy name, listening on listen ("" or
// "127.0.0.1:0" means an OS-chosen loopback port) and forwarding to
// upstream. It returns the address the proxy really listens on.
//
// upstream may be "" when the service behind the proxy is started after it
// (so that the service can be told the proxy's address): connections are
// then accepted and closed at once until SetUpstream names the upstream.
func (s *Server) AddProxy(name, listen, upstream string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", fmt.Errorf("add proxy %s: %w", name, ErrClosed)
	}
	if name == "" {
		return "", errors.New("add proxy: empty name")
	}
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	p := toxiproxy.NewProxy(s.api, name, listen, upstream)
	if err := s.api.Collection.Add(p, true); err != nil {
		return "", fmt.Errorf("add proxy %s: %w", name, err)
	}
	p.Lock()
	defer p.Unlock()
	return p.Listen, nil
}

// SetUpstream points the proxy name at upstream. Like an update through the
// API, it restarts the proxy: open connections through it are closed, and it
// listens again on the same address. A disabled proxy stays disabled.
func (s *Server) SetUpstream(name, upstream string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("set upstream of %s: %w", name, ErrClosed)
	}
	p, err := s.api.Collection.Get(name)
	if err != nil {
		return fmt.Errorf("set upstream of %s: %w", name, err)
	}
	p.Lock()
	in := &toxiproxy.Proxy{Listen: p.Listen, Upstream: upstream, Enabled: p.Enabled}
	p.Unlock()
	if err := p.Update(in); err != nil {
		return fmt.Errorf("set upstream of %s: %w", name, err)
	}
	return nil
}

// Close stops the API, removes every toxic, stops every proxy (including
// those created through the API) and closes every connection through them,
// so every port the Server held is released when it returns. It is
// idempotent and safe on a Server that was never started or only partly.
// Waiting for in-flight API requests and for toxics to let go is bounded;
// the proxies are stopped either way, and an error says what did not finish.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var errs []error
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		if err := s.http.Shutdown(ctx); err != nil {
			s.logger.Debug("toxiproxy API: forced shutdown", "err", err)
			s.http.Close()
		}
		cancel()
		s.ln.Close() // in case Serve had not started yet; closing twice is harmless
		<-s.served
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, p := range s.api.Collection.Proxies() {
			p.Toxics.ResetToxics(context.Background())
		}
	}()
	select {
	case <-done:
	case <-time.After(closeWait):
		errs = append(errs, errors.New("remove toxics: timed out (proxies stopped anyway)"))
	}
	if err := s.api.Collection.Clear(); err != nil {
		errs = append(errs, fmt.Errorf("stop proxies: %w", err))
	}
	return errors.Join(errs...)
}

// ProxySpec is a proxy to create when the server starts.
type ProxySpec struct {
	Name     string `json:"name"`
	Listen   string `json:"listen"` // "" means 127.0.0.1:0; in a container, e.g. "0.0.0.0:9001"
	Upstream string `json:"upstream"`
}

// RunProxy is `gameday proxy`: it runs a Toxiproxy server with our toxics,
// its API on apiAddr ("" means 127.0.0.1:0; a container wants e.g.
// "0.0.0.0:8474"), and the given proxies created up front. It returns when
// ctx is done, after closing everything, with nil or the error of Close; or
// at once if the API or a proxy cannot be started.
func RunProxy(ctx context.Context, apiAddr string, proxies []ProxySpec, logger *slog.Logger) (err error) {
	if logger == nil {
		logger = discard
	}
	s := New(logger)
	defer func() { err = errors.Join(err, s.Close()) }()
	url, err := s.Start(ctx, apiAddr)
	if err != nil {
		return err
	}
	for _, p := range proxies {
		addr, err := s.AddProxy(p.Name, p.Listen, p.Upstream)
		if err != nil {
			return err
		}
		logger.Info("proxy listening", "proxy", p.Name, "listen", addr, "upstream", p.Upstream)
	}
	logger.Info("toxiproxy API listening", "url", url)
	<-ctx.Done()
	return nil
}

// dialable returns addr as host:port a client can dial: an unspecified IP
// (a listener on every interface) becomes loopback.
func dialable(addr net.Addr) string {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	ip := ta.IP
	switch {
	case ip == nil || ip.Equal(net.IPv4zero):
		ip = net.IPv4(127, 0, 0, 1)
	case ip.Equal(net.IPv6unspecified):
		ip = net.IPv6loopback
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(ta.Port))
}
