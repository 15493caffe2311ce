package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/mockstore"
)

// serveStop bounds how long serve and proxy may take to return once their
// context is cancelled.
const serveStop = 15 * time.Second

// serveUp is a command running in this process (serve or proxy) until stop.
type serveUp struct {
	stdout, stderr *syncBuffer
	done           chan struct{}
	cancel         context.CancelFunc
	code           int
}

// startCommand runs `gameday <args...>` in this process; it is stopped at
// the end of the test if stop was not called.
func startCommand(tb testing.TB, args ...string) *serveUp {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	u := &serveUp{stdout: newSyncBuffer(), stderr: newSyncBuffer(), done: make(chan struct{}), cancel: cancel, code: -1}
	go func() {
		defer close(u.done)
		u.code = run(ctx, args, u.stdout, u.stderr)
	}()
	tb.Cleanup(func() { cancel(); <-u.done })
	return u
}

// stop cancels the command's context and returns its exit code.
func (u *serveUp) stop(tb testing.TB) int {
	tb.Helper()
	u.cancel()
	select {
	case <-u.done:
	case <-time.After(serveStop):
		tb.Fatalf("still running %v after its context was cancelled; stderr:\n%s", serveStop, u.stderr.String())
	}
	return u.code
}

var serveLine = regexp.MustCompile(`gameday serve: (\w+) on (http://\S+), audit on (http://\S+)\n`)

// serveAddrs waits for serve's ready line and returns its API and audit URLs.
func serveAddrs(tb testing.TB, u *serveUp) (api, audit string) {
	tb.Helper()
	out := u.stdout.waitFor(tb, "\n", serveStop, u.done)
	m := serveLine.FindStringSubmatch(out)
	if m == nil {
		tb.Fatalf("no ready line in serve's output:\n%s\nstderr:\n%s", out, u.stderr.String())
	}
	return m[2], m[3]
}

// serveGet returns the status and body of GET url.
func serveGet(tb testing.TB, url string) (int, string) {
	tb.Helper()
	hc := mockstore.NewClient(5 * time.Second)
	resp, err := hc.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no service", []string{"serve"}, "name the service: sessions, otp, wallet, auth, checkout, food, gateway"},
		{"unknown service", []string{"serve", "cart"}, `service "cart": allowed values: sessions, otp, wallet, auth, checkout, food, gateway`},
		{"missing upstream", []string{"serve", "auth", "--otp-url", "http://otp:8080"}, "auth needs --sessions-url"},
		{"upstream it has not", []string{"serve", "wallet", "--auth-url", "http://auth:8080"}, "--auth-url: wallet has no such upstream (it takes: none)"},
		{"relative upstream", []string{"serve", "checkout", "--wallet-url", "wallet:8080"}, `--wallet-url: "wallet:8080" is not an absolute http(s) URL`},
		{"gateway store", []string{"serve", "gateway", "--auth-url", "http://a", "--checkout-url", "http://c", "--wallet-url", "http://w", "--db", "/tmp/g.db"}, "the gateway keeps no store"},
		{"profile", []string{"serve", "otp", "--profile", "paranoid"}, "allowed: resilient, naive"},
		{"feature", []string{"serve", "otp", "--feature", "teleport=on"}, `unknown feature "teleport"`},
		{"feature value", []string{"serve", "otp", "--feature", "async_otp=maybe"}, "allowed: on, off"},
		{"listen", []string{"serve", "otp", "--listen", "8080"}, `--listen: "8080" is not host:port`},
		{"same ports", []string{"serve", "otp", "--listen", "127.0.0.1:8080", "--audit-listen", "127.0.0.1:8080"}, "are both 127.0.0.1:8080"},
		{"duration elsewhere", []string{"serve", "wallet", "--refund-sla", "5s"}, "--refund-sla is for checkout only"},
		{"otp lifetime elsewhere", []string{"serve", "otp", "--otp-lifetime", "8s"}, "--otp-lifetime is for auth only"},
		{"otp lifetime too long", []string{"serve", "auth", "--sessions-url", "http://s", "--otp-url", "http://o", "--otp-lifetime", "6m"}, "--otp-lifetime 6m0s: want at most 5m0s"},
		{"negative duration", []string{"serve", "checkout", "--wallet-url", "http://w", "--pending-bound", "-1s"}, "must not be negative"},
		{"food timeout elsewhere", []string{"serve", "wallet", "--food-timeout", "5s"}, "--food-timeout is for gateway only"},
		{"negative food timeout", []string{"serve", "gateway", "--auth-url", "http://a", "--checkout-url", "http://c", "--wallet-url", "http://w",
			"--food-url", "http://f", "--food-timeout", "-1s"}, "--food-timeout -1s: must not be negative"},
		{"shoppers", []string{"serve", "otp", "--shoppers", "0"}, "--shoppers 0: want 1 to 100000"},
		{"log level", []string{"serve", "otp", "--log-level", "loud"}, "allowed values: debug, info, warn, error"},
		{"unknown flag", []string{"serve", "otp", "--colour"}, "flag provided but not defined: -colour"},
		{"extra argument", []string{"serve", "otp", "wallet"}, `unexpected argument "wallet"`},
		{"proxy spec", []string{"proxy", "--proxy", "auth=127.0.0.1:0"}, "want name=listen=upstream"},
		{"proxy twice", []string{"proxy", "--proxy", "a=127.0.0.1:0=x:1", "--proxy", "a=127.0.0.1:0=x:2"}, "proxy a: defined twice"},
		{"proxy port taken", []string{"proxy", "--api-listen", "127.0.0.1:8474", "--proxy", "a=127.0.0.1:8474=x:1"}, "listen 127.0.0.1:8474 is taken by the API"},
		{"proxy upstream", []string{"proxy", "--proxy", "a=127.0.0.1:0=nowhere"}, `proxy a: upstream: "nowhere" is not host:port`},
		{"proxy no name", []string{"proxy", "--proxy", "=127.0.0.1:0=x:1"}, "empty name"},
		{"proxies JSON", []string{"proxy", "--proxies", `[{"name":"a","port":1}]`}, `unknown field "port"`},
		{"proxy log level", []string{"proxy", "--log-level", "chatty"}, "allowed values: debug, info, warn, error"},
		{"proxy argument", []string{"proxy", "now"}, `unexpected argument "now"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, context.Background(), tc.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout should be empty, got:\n%s", stdout)
			}
		})
	}
}

func TestServeHelp(t *testing.T) {
	for cmd, want := range map[string]string{"serve": "-audit-listen", "proxy": "-proxies"} {
		t.Run(cmd, func(t *testing.T) {
			code, _, stderr := runCmd(t, context.Background(), cmd, "-h")
			if code != exitOK {
				t.Errorf("exit code %d, want %d", code, exitOK)
			}
			if !strings.Contains(stderr, want) {
				t.Errorf("help does not show %s:\n%s", want, stderr)
			}
		})
	}
}

// TestServeArgsRoundTrip: what the docker runtime and child processes pass
// to `gameday serve` (env.Builtin.Args) is read back by serve's flags into
// the same configuration, for every storefront service with every setting
// set: no setting is lost between the runtimes.
func TestServeArgsRoundTrip(t *testing.T) {
	topo := topology.Default()
	feats, _ := mockstore.Profile(mockstore.ProfileResilient)
	_ = feats.Set("async_otp=off")
	opts := env.Options{Features: feats, Seed: 7, Shoppers: 42}
	i := 0
	all := env.Settings{}
	for _, st := range env.BuiltinSettings {
		i++
		*st.Field(&all) = time.Duration(i) * time.Second
	}
	opts.RefundSLA, opts.PendingBound = all.RefundSLA, all.PendingBound
	opts.OTPTimeout, opts.OTPFallbackAfter, opts.GatewayTimeouts = all.OTPTimeout, all.OTPFallbackAfter, all.Gateway
	for _, svc := range topo.Services {
		t.Run(svc.Name, func(t *testing.T) {
			want, err := env.Configure(topo, svc, opts, "/data", func(l topology.Link) string { return "http://toxiproxy:9/" + l.Proxy() })
			if err != nil {
				t.Fatal(err)
			}
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			var cfg serveConfig
			cfg.register(fs)
			if err := fs.Parse(want.Args()); err != nil {
				t.Fatal(err)
			}
			cfg.Service = svc.Builtin
			if err := cfg.Validate(); err != nil {
				t.Fatalf("serve refuses Args %v: %v", want.Args(), err)
			}
			got := cfg.Builtin
			if got.Service != want.Service || got.DBPath != want.DBPath || got.Seed != want.Seed || got.Shoppers != want.Shoppers ||
				got.Features.String() != want.Features.String() || !maps.Equal(got.Upstreams, want.Upstreams) || got.Settings != want.Settings {
				t.Errorf("serve read\n%+v\nfrom %v, want\n%+v", got, want.Args(), want)
			}
			var zero env.Settings
			if svc.Name != mockstore.ServiceSessions && svc.Name != mockstore.ServiceOTP && svc.Name != mockstore.ServiceWallet &&
				svc.Name != mockstore.ServiceFood && got.Settings == zero {
				t.Errorf("%s got none of its settings", svc.Name)
			}
		})
	}
}

// TestServeEachService starts every service alone on OS-chosen loopback
// ports, checks its health on both listeners and an audit route, and stops
// it through its context.
func TestServeEachService(t *testing.T) {
	audits := map[string]string{
		mockstore.ServiceSessions: "/audit/sessions", mockstore.ServiceOTP: "/audit/otp",
		mockstore.ServiceWallet: "/audit/totals", mockstore.ServiceAuth: "/audit/auth",
		mockstore.ServiceCheckout: "/audit/orders", mockstore.ServiceGateway: "/audit/gateway",
		mockstore.ServiceFood: "/audit/food",
	}
	// Upstreams nobody listens on: a service must start without them.
	const nowhere = "http://127.0.0.1:9"
	for _, svc := range mockstore.Services {
		t.Run(svc, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"serve", svc, "--listen", "127.0.0.1:0", "--audit-listen", "127.0.0.1:0",
				"--shoppers", "5", "--feature", "async_otp=off,honest_errors=off", "--log-level", "warn"}
			for _, up := range env.BuiltinUpstreams(svc) {
				args = append(args, "--"+env.UpstreamFlag(up), nowhere)
			}
			if svc != mockstore.ServiceGateway {
				args = append(args, "--db", filepath.Join(dir, "store", svc+".db"))
			}
			u := startCommand(t, args...)
			api, audit := serveAddrs(t, u)
			for _, url := range []string{api + "/healthz", audit + "/healthz"} {
				if code, body := serveGet(t, url); code != http.StatusOK {
					t.Errorf("GET %s: %d %s", url, code, body)
				}
			}
			if code, body := serveGet(t, audit+audits[svc]); code != http.StatusOK {
				t.Errorf("GET %s%s: %d %s", audit, audits[svc], code, body)
			}
			if code := u.stop(t); code != exitOK {
				t.Errorf("exit code %d after cancel, want %d; stderr:\n%s", code, exitOK, u.stderr.String())
			}
			if svc != mockstore.ServiceGateway {
				if _, err := os.Stat(filepath.Join(dir, "store", svc+".db")); err != nil {
					t.Errorf("the store is not where --db said: %v", err)
				}
			}
		})
	}
}

// TestServeListenTaken: a port already in use is an environment error (3).
func TestServeListenTaken(t *testing.T) {
	u := startCommand(t, "serve", "sessions", "--listen", "127.0.0.1:0", "--audit-listen", "127.0.0.1:0")
	api, _ := serveAddrs(t, u)
	taken := strings.TrimPrefix(api, "http://")
	code, _, stderr := runCmd(t, context.Background(), "serve", "otp", "--listen", taken, "--audit-listen", "127.0.0.1:0")
	if code != exitEnvironment || !strings.Contains(stderr, "listen") {
		t.Errorf("serve on a taken port: exit %d, stderr:\n%s\nwant %d and what failed", code, stderr, exitEnvironment)
	}
}

var proxyAPILine = regexp.MustCompile(`gameday proxy: toxiproxy API on (http://\S+)\n`)

// TestProxy runs `gameday proxy` in front of a served OTP provider, breaks
// the link with one of our own toxics through the API, and stops it.
func TestProxy(t *testing.T) {
	otp := startCommand(t, "serve", "otp", "--listen", "127.0.0.1:0", "--audit-listen", "127.0.0.1:0")
	api, _ := serveAddrs(t, otp)
	upstream := strings.TrimPrefix(api, "http://")

	p := startCommand(t, "proxy", "--api-listen", "127.0.0.1:0",
		"--proxy", "auth_otp=127.0.0.1:0="+upstream,
		"--proxies", `[{"name":"spare","listen":"127.0.0.1:0","upstream":"127.0.0.1:9"}]`)
	out := p.stdout.waitFor(t, "toxiproxy API on", serveStop, p.done) // the last line, written at once
	m := proxyAPILine.FindStringSubmatch(out)
	pm := regexp.MustCompile(`proxy auth_otp on (\S+) -> `).FindStringSubmatch(out)
	if m == nil || pm == nil {
		t.Fatalf("proxy's output does not say where the API and the proxy are:\n%s", out)
	}
	apiURL, through := m[1], "http://"+pm[1]

	if code, body := serveGet(t, through+"/healthz"); code != http.StatusOK {
		t.Fatalf("GET /healthz through the proxy: %d %s", code, body)
	}
	fc := fault.NewClient(apiURL)
	ctx := context.Background()
	proxies, err := fc.Proxies(ctx)
	if err != nil || len(proxies) != 2 {
		t.Fatalf("proxies through the API: %+v, %v; want auth_otp and spare", proxies, err)
	}
	if err := fc.AddToxic(ctx, "auth_otp", fault.Toxic{Name: "down", Type: fault.HTTPErrorType, Attributes: map[string]any{"status": 502}}); err != nil {
		t.Fatal(err)
	}
	if code, _ := serveGet(t, through+"/healthz"); code != http.StatusBadGateway {
		t.Errorf("GET /healthz through the proxy with an http_error toxic: %d, want 502", code)
	}
	if code := p.stop(t); code != exitOK {
		t.Errorf("proxy exit code %d after cancel, want %d; stderr:\n%s", code, exitOK, p.stderr.String())
	}
	if code := otp.stop(t); code != exitOK {
		t.Errorf("serve exit code %d after cancel, want %d", code, exitOK)
	}
}

// TestServeSIGTERM runs `gameday serve` as a process and stops it the way
// `docker stop` does.
func TestServeSIGTERM(t *testing.T) {
	cmd := gamedayCmd(t, nil, "serve", "wallet", "--listen", "127.0.0.1:0", "--audit-listen", "127.0.0.1:0", "--shoppers", "3")
	stdout, stderr := newSyncBuffer(), newSyncBuffer()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit code is read from ProcessState
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	out := stdout.waitFor(t, "\n", serveStop, exited)
	m := serveLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no ready line:\n%s\nstderr:\n%s", out, stderr.String())
	}
	if code, _ := serveGet(t, m[2]+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz: %d", code)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(serveStop):
		t.Fatalf("serve still running %v after SIGTERM; stderr:\n%s", serveStop, stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitOK {
		t.Errorf("exit code %d after SIGTERM, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	t.Logf("stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	hc := mockstore.NewClient(time.Second)
	if _, err := hc.Get(m[2] + "/healthz"); err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("after exit, GET /healthz: %v; want connection refused", err)
	}
}
