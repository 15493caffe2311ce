package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/mockstore"
)

// Default ports of `gameday serve` and `gameday proxy`; the docker runtime
// relies on them inside its containers.
const (
	servePort      = "8080"
	serveAuditPort = "8081"
	proxyAPIPort   = "8474"
)

// shutdownWait bounds the graceful shutdown of serve's HTTP servers; open
// connections are closed hard after it.
const shutdownWait = 5 * time.Second

// logLevels are the values of --log-level.
var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

// listenHost is the host of the default listen addresses: every interface in
// a container (the docker engine creates /.dockerenv in each), where the
// ports are reached from other containers and through mapped ports, and
// loopback anywhere else.
func listenHost() string {
	if _, err := os.Stat("/.dockerenv"); err == nil {
		return "0.0.0.0"
	}
	return "127.0.0.1"
}

// serveConfig is what `gameday serve <service>` reads from its flags: where
// to listen, and the service's configuration (env.Builtin, the one wiring
// every runtime shares; its flags come from env's tables).
type serveConfig struct {
	env.Builtin
	Listen      string
	AuditListen string
	Profile     string
	Overrides   []string          // name=on|off, or a comma-separated list of them
	URLs        map[string]string // upstream service -> --<upstream>-url
	LogLevel    string
}

// serveUpstreamNames are the services some storefront service calls: each
// has a --<name>-url flag.
func serveUpstreamNames() []string {
	var out []string
	for _, l := range mockstore.Links() {
		if l.From != topology.Client && !slices.Contains(out, l.To) {
			out = append(out, l.To)
		}
	}
	return out
}

// stringInto is a flag.Value writing into a map entry.
type stringInto struct {
	m   map[string]string
	key string
}

func (s stringInto) String() string {
	if s.m == nil {
		return ""
	}
	return s.m[s.key]
}
func (s stringInto) Set(v string) error { s.m[s.key] = v; return nil }

func (c *serveConfig) register(fs *flag.FlagSet) {
	host := listenHost()
	fs.StringVar(&c.Listen, "listen", net.JoinHostPort(host, servePort), "address of the service's API")
	fs.StringVar(&c.AuditListen, "audit-listen", net.JoinHostPort(host, serveAuditPort), "address of the service's audit endpoints (and GET /healthz)")
	fs.StringVar(&c.DBPath, "db", "", "the service's SQLite file (default: in a temporary directory removed at exit; the gateway has none)")
	fs.Int64Var(&c.Seed, "seed", 1, "seed of the dataset (shoppers, products, couriers); every service must get the same")
	fs.IntVar(&c.Shoppers, "shoppers", 100, fmt.Sprintf("number of seeded shoppers, %d to %d", env.MinShoppers, env.MaxShoppers))
	fs.StringVar(&c.Profile, "profile", mockstore.ProfileResilient, "resilience profile: resilient or naive")
	fs.Var((*featureList)(&c.Overrides), "feature", "turn features on or off, name=on|off[,name=on|off...] (repeatable)")
	c.URLs = map[string]string{}
	for _, up := range serveUpstreamNames() {
		var callers []string
		for _, l := range mockstore.Links() {
			if l.To == up && l.From != topology.Client {
				callers = append(callers, l.From)
			}
		}
		fs.Var(stringInto{c.URLs, up}, env.UpstreamFlag(up), fmt.Sprintf("base URL of %s (%s)", up, strings.Join(callers, ", ")))
	}
	for _, st := range env.BuiltinSettings {
		fs.DurationVar(st.Field(&c.Settings), st.Flag, 0, st.Usage+" (0: its default)")
	}
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level on stderr: debug, info, warn or error")
}

// Validate checks the flags against the service (env.Builtin.Validate)
// and resolves the features.
func (c *serveConfig) Validate() error {
	var errs []error
	for flagName, addr := range map[string]string{"--listen": c.Listen, "--audit-listen": c.AuditListen} {
		if err := checkHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", flagName, err))
		}
	}
	if c.Listen == c.AuditListen && !strings.HasSuffix(c.Listen, ":0") {
		errs = append(errs, fmt.Errorf("--listen and --audit-listen are both %s", c.Listen))
	}
	c.Upstreams = map[string]string{}
	for up, v := range c.URLs {
		if v != "" {
			c.Upstreams[up] = v
		}
	}
	if _, ok := logLevels[c.LogLevel]; !ok {
		errs = append(errs, fmt.Errorf("--log-level %q: allowed values: debug, info, warn, error", c.LogLevel))
	}
	feats, err := resolveFeatures(c.Profile, c.Overrides)
	if err != nil {
		errs = append(errs, err)
	}
	c.Features = feats
	if err := c.Builtin.Validate(); err != nil {
		errs = append([]error{err}, errs...)
	}
	return errors.Join(errs...)
}

// resolveFeatures starts from profile and applies the overrides; an
// override may be a comma-separated list, the form Features.String writes.
func resolveFeatures(profile string, overrides []string) (mockstore.Features, error) {
	feats, err := mockstore.Profile(profile)
	if err != nil {
		return nil, fmt.Errorf("--profile: %w", err)
	}
	for _, o := range overrides {
		for _, one := range strings.Split(o, ",") {
			if strings.TrimSpace(one) == "" {
				continue // an empty set, as Features.String writes it
			}
			if err := feats.Set(one); err != nil {
				return nil, fmt.Errorf("--feature: %w", err)
			}
		}
	}
	return feats, nil
}

func checkHostPort(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	return nil
}

// runServe is `gameday serve <service>`: one storefront service, its API on
// --listen and its audit endpoints on --audit-listen (which answers GET
// /healthz too, so a health check needs no route to the API). It prints
// one line with both addresses once it serves, and stops cleanly when ctx
// is done (SIGTERM, Ctrl-C). Exit codes: 0 stopped cleanly, 2 bad flags, 3
// the service could not start or did not stop cleanly.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gameday serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: gameday serve <%s> [flags]\n\nflags:\n", strings.Join(mockstore.Services, "|"))
		fs.PrintDefaults()
	}
	var cfg serveConfig
	cfg.register(fs)
	// The service comes first; flags may follow it.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cfg.Service, args = args[0], args[1:]
	}
	if code, ok := parseFlags(fs, args, "", true, stderr); !ok {
		return code
	}
	if cfg.Service == "" {
		fmt.Fprintf(stderr, "gameday serve: name the service: %s\n", strings.Join(mockstore.Services, ", "))
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gameday serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "gameday serve %s: %v\n", cfg.Service, err)
		return exitUsage
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevels[cfg.LogLevel]})).
		With("service", cfg.Service)
	if err := serve(ctx, cfg, stdout, logger); err != nil {
		fmt.Fprintf(stderr, "gameday serve %s: %v\n", cfg.Service, err)
		return exitEnvironment
	}
	return exitOK
}

// serve runs the configured service until ctx is done.
func serve(ctx context.Context, cfg serveConfig, stdout io.Writer, logger *slog.Logger) (err error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close() // after Shutdown this only reports an ignored error
	auditLn, err := lc.Listen(ctx, "tcp", cfg.AuditListen)
	if err != nil {
		return fmt.Errorf("listen for audits: %w", err)
	}
	defer auditLn.Close()

	dbPath := cfg.DBPath
	if dbPath == "" && cfg.Service != mockstore.ServiceGateway {
		dir, err := os.MkdirTemp("", "gameday-serve-"+cfg.Service+"-")
		if err != nil {
			return fmt.Errorf("make store directory: %w", err)
		}
		defer os.RemoveAll(dir)
		dbPath = filepath.Join(dir, cfg.Service+".db")
	} else if dbPath != "" {
		if err := os.MkdirAll(filepath.Dir(dbPath), 0o755); err != nil {
			return fmt.Errorf("make store directory: %w", err)
		}
	}
	b := cfg.Builtin
	b.DBPath = dbPath
	svc, err := b.Start(ctx, logger)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer func() {
		if cerr := svc.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close: %w", cerr))
		}
	}()

	audit := http.NewServeMux()
	audit.Handle("GET /healthz", svc.Handler()) // the service's own health answer
	audit.Handle("/", svc.AuditHandler())
	servers := []*http.Server{mockstore.NewServer(svc.Handler(), logger), mockstore.NewServer(audit, logger)}
	failed := make(chan error, len(servers))
	for i, l := range []net.Listener{ln, auditLn} {
		go func() {
			if err := servers[i].Serve(l); !errors.Is(err, http.ErrServerClosed) {
				failed <- fmt.Errorf("serve %s: %w", l.Addr(), err)
			}
		}()
	}
	fmt.Fprintf(stdout, "gameday serve: %s on http://%s, audit on http://%s\n", cfg.Service, ln.Addr(), auditLn.Addr())
	logger.Info("serving", "addr", ln.Addr().String(), "audit_addr", auditLn.Addr().String(),
		"profile", cfg.Profile, "features", cfg.Features.String())

	select {
	case <-ctx.Done():
	case err = <-failed:
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	for _, srv := range servers {
		if serr := srv.Shutdown(sctx); serr != nil {
			_ = srv.Close()
		}
	}
	logger.Info("stopped")
	return err
}

// proxyConfig is what `gameday proxy` reads from its flags.
type proxyConfig struct {
	APIListen string
	Proxies   []fault.ProxySpec
	LogLevel  string
}

// proxyFlag collects repeated --proxy name=listen=upstream flags.
type proxyFlag struct{ specs *[]fault.ProxySpec }

func (p proxyFlag) String() string {
	if p.specs == nil {
		return ""
	}
	parts := make([]string, len(*p.specs))
	for i, s := range *p.specs {
		parts[i] = s.Name + "=" + s.Listen + "=" + s.Upstream
	}
	return strings.Join(parts, " ")
}

func (p proxyFlag) Set(v string) error {
	parts := strings.SplitN(v, "=", 3)
	if len(parts) != 3 {
		return fmt.Errorf("%q: want name=listen=upstream, e.g. gateway_auth=0.0.0.0:9002=auth:8080", v)
	}
	*p.specs = append(*p.specs, fault.ProxySpec{Name: parts[0], Listen: parts[1], Upstream: parts[2]})
	return nil
}

// proxiesJSON reads --proxies, a JSON array of {name, listen, upstream}.
type proxiesJSON struct{ specs *[]fault.ProxySpec }

func (p proxiesJSON) String() string { return "" }

func (p proxiesJSON) Set(v string) error {
	var specs []fault.ProxySpec
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&specs); err != nil {
		return fmt.Errorf(`want a JSON array of {"name", "listen", "upstream"}: %w`, err)
	}
	*p.specs = append(*p.specs, specs...)
	return nil
}

func (c *proxyConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.APIListen, "api-listen", net.JoinHostPort(listenHost(), proxyAPIPort), "address of the Toxiproxy HTTP API")
	fs.Var(proxyFlag{&c.Proxies}, "proxy", "a proxy to create at start, name=listen=upstream (repeatable)")
	fs.Var(proxiesJSON{&c.Proxies}, "proxies", `proxies to create at start, as JSON: [{"name":..,"listen":..,"upstream":..}]`)
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level on stderr: debug, info, warn or error")
}

// Validate checks the API address and every proxy: a name, unique; host:port
// addresses; no two proxies on one fixed port.
func (c *proxyConfig) Validate() error {
	var errs []error
	if err := checkHostPort(c.APIListen); err != nil {
		errs = append(errs, fmt.Errorf("--api-listen: %w", err))
	}
	names := map[string]bool{}
	listens := map[string]string{c.APIListen: "the API"}
	for _, p := range c.Proxies {
		switch {
		case p.Name == "":
			errs = append(errs, fmt.Errorf("proxy listening on %q: empty name", p.Listen))
			continue
		case names[p.Name]:
			errs = append(errs, fmt.Errorf("proxy %s: defined twice", p.Name))
		}
		names[p.Name] = true
		if err := checkHostPort(p.Listen); err != nil {
			errs = append(errs, fmt.Errorf("proxy %s: listen: %w", p.Name, err))
		} else if other, dup := listens[p.Listen]; dup && !strings.HasSuffix(p.Listen, ":0") {
			errs = append(errs, fmt.Errorf("proxy %s: listen %s is taken by %s", p.Name, p.Listen, other))
		}
		listens[p.Listen] = "proxy " + p.Name
		if err := checkHostPort(p.Upstream); err != nil {
			errs = append(errs, fmt.Errorf("proxy %s: upstream: %w", p.Name, err))
		}
	}
	if _, ok := logLevels[c.LogLevel]; !ok {
		errs = append(errs, fmt.Errorf("--log-level %q: allowed values: debug, info, warn, error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// runProxy is `gameday proxy`: the real Toxiproxy server with our custom
// toxics (internal/fault), its API on --api-listen and the given proxies
// created up front. It prints the API's URL and each proxy's address once
// they all listen, and stops when ctx is done, removing every toxic and
// closing every proxy. Exit codes: 0 stopped cleanly, 2 bad flags, 3 the
// API or a proxy could not start, or did not stop cleanly.
func runProxy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gameday proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg proxyConfig
	cfg.register(fs)
	if code, ok := parseFlags(fs, args, "proxy", false, stderr); !ok {
		return code
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "gameday proxy: %v\n", err)
		return exitUsage
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevels[cfg.LogLevel]})).
		With("component", "toxiproxy")
	if err := proxy(ctx, cfg, stdout, logger); err != nil {
		fmt.Fprintf(stderr, "gameday proxy: %v\n", err)
		return exitEnvironment
	}
	return exitOK
}

// proxy does what fault.RunProxy does, and also tells stdout where each
// listener really is (an address ending in :0 gets its port from the OS).
func proxy(ctx context.Context, cfg proxyConfig, stdout io.Writer, logger *slog.Logger) (err error) {
	srv := fault.New(logger)
	defer func() {
		if cerr := srv.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close: %w", cerr))
		}
	}()
	var lines []string
	for _, p := range cfg.Proxies {
		addr, err := srv.AddProxy(p.Name, p.Listen, p.Upstream)
		if err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("gameday proxy: proxy %s on %s -> %s\n", p.Name, addr, p.Upstream))
	}
	// The API last: once it answers, every proxy is there.
	apiURL, err := srv.Start(ctx, cfg.APIListen)
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprint(stdout, l)
	}
	fmt.Fprintf(stdout, "gameday proxy: toxiproxy API on %s\n", apiURL)
	logger.Info("toxiproxy API listening", "url", apiURL, "proxies", len(cfg.Proxies))
	<-ctx.Done()
	return nil
}
