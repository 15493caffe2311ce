package load

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/internal/series"
)

// childEnvVar makes this test binary k6: the tests start it as the k6 child
// (Spec.Command), as the harness starts its own binary, so every test runs
// the real k6 with our output, built from the code under test.
const childEnvVar = "GAMEDAY_LOAD_TEST_K6"

func TestMain(m *testing.M) {
	if os.Getenv(childEnvVar) == "1" {
		Main(os.Args[1:]) // never returns
	}
	os.Exit(m.Run())
}

// testSpec returns a Spec that runs script (under testdata/ unless absolute)
// with this test binary as k6, in a fresh run directory, with a short output
// lag so that points arrive quickly.
func testSpec(tb testing.TB, script string, extra map[string]string) Spec {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatalf("own executable: %v", err)
	}
	if !filepath.IsAbs(script) {
		script = filepath.Join("testdata", script)
	}
	envs := map[string]string{childEnvVar: "1", LagEnv: "300ms"}
	for k, v := range extra {
		envs[k] = v
	}
	return Spec{
		Script:      script,
		Dir:         tb.TempDir(),
		Env:         envs,
		Command:     []string{exe},
		MaxDuration: 90 * time.Second,
		StopGrace:   5 * time.Second,
	}
}

// pingServer serves 204 on loopback until the test ends and returns its URL.
func pingServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// assertGone fails when the k6 process of res, or any process of its group,
// is still alive.
func assertGone(tb testing.TB, res Result) {
	tb.Helper()
	if res.PID <= 0 {
		tb.Fatalf("no pid in result %+v", res)
	}
	if err := syscall.Kill(res.PID, 0); !errors.Is(err, syscall.ESRCH) {
		tb.Errorf("k6 pid %d: kill 0 = %v, want ESRCH (process gone)", res.PID, err)
	}
	if left := groupMembers(res.PID); len(left) > 0 {
		tb.Errorf("processes %v of k6's group %d still alive", left, res.PID)
	}
}

// collector gathers points as Run hands them over.
type collector struct {
	mu    sync.Mutex
	pts   []series.Point
	first time.Time     // when the first point arrived
	got   chan struct{} // closed at the first point
}

func newCollector() *collector { return &collector{got: make(chan struct{})} }

func (c *collector) add(p series.Point) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first.IsZero() {
		c.first = time.Now()
		close(c.got)
	}
	c.pts = append(c.pts, p)
}

func (c *collector) points() []series.Point {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]series.Point(nil), c.pts...)
}

// sum adds up, per second, Sum (counters, rates) or Count (trends) of the
// points of metric whose tags include every tag of match.
func sum(pts []series.Point, metric string, match map[string]string, count bool) map[int64]float64 {
	out := map[int64]float64{}
next:
	for _, p := range pts {
		if p.Metric != metric {
			continue
		}
		for k, v := range match {
			if p.Tags[k] != v {
				continue next
			}
		}
		if count {
			out[p.T] += float64(p.Count)
		} else {
			out[p.T] += p.Sum
		}
	}
	return out
}

func total(m map[int64]float64) float64 {
	var t float64
	for _, v := range m {
		t += v
	}
	return t
}

// startStore starts the in-process storefront for the test.
func startStore(tb testing.TB) *env.Inproc {
	tb.Helper()
	e, err := env.StartInproc(context.Background(), env.Options{Seed: 3, Shoppers: 60})
	if e != nil {
		tb.Cleanup(func() {
			if err := e.Close(); err != nil {
				tb.Errorf("close storefront: %v", err)
			}
		})
	}
	if err != nil {
		tb.Fatalf("start storefront: %v", err)
	}
	return e
}

// shopperSpec runs scenarios/k6/shopper.js against e.
func shopperSpec(tb testing.TB, e env.Env, shape Shape) Spec {
	tb.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "scenarios", "k6", "shopper.js"))
	if err != nil {
		tb.Fatal(err)
	}
	spec := testSpec(tb, script, nil)
	vars, err := ShopperEnv(spec.Dir, e.Info(), e.Dataset(), shape)
	if err != nil {
		tb.Fatalf("ShopperEnv: %v", err)
	}
	for k, v := range vars {
		spec.Env[k] = v
	}
	spec.Env["GAMEDAY_THINK"] = "0.05"
	return spec
}

// TestRunShoppers runs the shopper script against the in-process storefront
// for a few seconds and checks the series: read live, with checkouts that
// were paid, split by endpoint and journey.
func TestRunShoppers(t *testing.T) {
	e := startStore(t)
	spec := shopperSpec(t, e, Shape{Rate: 4, Duration: 5 * time.Second})
	c := newCollector()
	res, err := Run(context.Background(), spec, c.add)
	end := time.Now()
	t.Cleanup(func() { assertGone(t, res) })
	if err != nil {
		log, _ := os.ReadFile(res.LogPath)
		t.Fatalf("Run: %v\nk6 log:\n%s", err, log)
	}
	pts := c.points()
	if res.Points != int64(len(pts)) || len(pts) == 0 || res.BadLines != 0 {
		t.Fatalf("result %+v, %d points handed over", res, len(pts))
	}
	// Live: points came while k6 ran, not all at its exit.
	if lead := end.Sub(c.first); lead < 2*time.Second {
		t.Errorf("first point %v before the end of a %v run: the series was not read live", lead, res.Elapsed)
	}
	paid := total(sum(pts, "orders_paid", nil, false))
	checkouts := sum(pts, "journey_success", map[string]string{TagJourney: "checkout"}, false)
	if total(checkouts) == 0 || paid == 0 {
		t.Errorf("successful checkouts %v, orders paid %v: want some", total(checkouts), paid)
	}
	if n := total(sum(pts, "http_reqs", map[string]string{TagEndpoint: "checkout", TagJourney: "checkout", TagStatus: "2xx"}, false)); n == 0 {
		t.Errorf("no http_reqs{endpoint:checkout,journey:checkout,status:2xx}")
	}
	if n := total(sum(pts, "http_req_duration", map[string]string{TagEndpoint: "products"}, true)); n == 0 {
		t.Errorf("no http_req_duration{endpoint:products}")
	}
	if n := total(sum(pts, "otp_wait", map[string]string{TagJourney: "login"}, true)); n == 0 {
		t.Errorf("no otp_wait samples")
	}
	// A healthy storefront on a machine that may be busy: a retryable error
	// now and then is the machine's; anything else is a bug of the script.
	var journeys, succeeded float64
	for _, p := range pts {
		switch p.Metric {
		case "journey_success":
			journeys += float64(p.Count)
			succeeded += p.Sum
		case "shopper_error":
			if code := p.Tags[TagCode]; code != "temporarily_unavailable" && code != "no_response" {
				t.Errorf("second %d: shopper shown %q %v times (%v) by a healthy storefront", p.T, code, p.Sum, p.Tags)
			} else {
				t.Logf("second %d: shopper shown %q %v times", p.T, code, p.Sum)
			}
		case "bare_5xx", "forced_logout", "cross_user_data", "zero_balance_shown":
			t.Errorf("second %d: %s %v %v on a healthy storefront", p.T, p.Metric, p.Tags, p.Sum)
		}
	}
	if journeys == 0 || succeeded < 0.9*journeys {
		t.Errorf("%v of %v journeys succeeded on a healthy storefront; want at least 90%%", succeeded, journeys)
	}
}

// TestRunFaultSeconds takes the gateway->checkout link down from second 3 to
// 6 of the load and checks that failures are in the series in those seconds
// and not before.
func TestRunFaultSeconds(t *testing.T) {
	e := startStore(t)
	spec := shopperSpec(t, e, Shape{Rate: 8, Duration: 9 * time.Second})
	tp := fault.NewClient(e.Info().Toxiproxy)
	proxy := e.Info().Links["gateway->checkout"]

	c := newCollector()
	var mu sync.Mutex
	var down, up time.Time // when the link went down and came back
	var faultErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-c.got:
		case <-time.After(60 * time.Second):
			return
		}
		start := time.Unix(c.points()[0].T, 0) // the first second of load
		ctx := context.Background()
		if !waitUntil(start.Add(3 * time.Second)) {
			return
		}
		err := tp.SetEnabled(ctx, proxy, false)
		mu.Lock()
		down, faultErr = time.Now(), err
		mu.Unlock()
		waitUntil(start.Add(6 * time.Second))
		err = tp.SetEnabled(ctx, proxy, true)
		mu.Lock()
		up, faultErr = time.Now(), errors.Join(faultErr, err)
		mu.Unlock()
	}()
	res, err := Run(context.Background(), spec, c.add)
	<-done
	assertGone(t, res)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if faultErr != nil || down.IsZero() || up.IsZero() {
		t.Fatalf("fault not applied (down %v, up %v): %v", down, up, faultErr)
	}
	pts := c.points()
	fails := sum(pts, "http_reqs", map[string]string{TagStatus: "5xx"}, false)
	ok := sum(pts, "http_reqs", map[string]string{TagStatus: "2xx"}, false)
	var secs []string
	for s := pts[0].T; s <= pts[len(pts)-1].T; s++ {
		secs = append(secs, fmt.Sprintf("%d:%v/%v", s-pts[0].T, fails[s], ok[s]))
	}
	t.Logf("down %s, up %s; second:5xx/2xx %s", down.Format("15:04:05.000"), up.Format("15:04:05.000"), strings.Join(secs, " "))

	for s := range fails {
		if fails[s] > 0 && time.Unix(s+1, 0).Before(down) {
			t.Errorf("second %d (before the fault at %s): %v answers 5xx", s, down.Format("15:04:05.000"), fails[s])
		}
	}
	for s := down.Unix() + 1; s+1 <= up.Unix(); s++ { // whole seconds inside the fault
		if fails[s] == 0 {
			t.Errorf("second %d (link down %s–%s): no 5xx", s, down.Format("15:04:05.000"), up.Format("15:04:05.000"))
		}
	}
	codes := sum(pts, "shopper_error", map[string]string{TagCode: "temporarily_unavailable"}, false)
	if total(codes) == 0 {
		t.Errorf("no shopper_error{code:temporarily_unavailable} while the link was down")
	}
	if b := total(sum(pts, "bare_5xx", nil, false)); b != 0 {
		t.Errorf("%v bare 5xx from the resilient storefront", b)
	}
}

// handlerFunc is a slog.Handler that hands every record to a function.
type handlerFunc func(slog.Record)

func (h handlerFunc) Enabled(context.Context, slog.Level) bool { return true }
func (h handlerFunc) Handle(_ context.Context, r slog.Record) error {
	h(r)
	return nil
}
func (h handlerFunc) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h handlerFunc) WithGroup(string) slog.Handler      { return h }

// waitUntil blocks until t; false if that is more than a minute away.
func waitUntil(t time.Time) bool {
	d := time.Until(t)
	if d > time.Minute {
		return false
	}
	if d > 0 {
		<-time.After(d)
	}
	return true
}

// TestRunEnds checks how runs end: k6's exit codes and the harness's stops,
// each with its documented error and no process left behind.
func TestRunEnds(t *testing.T) {
	target := pingServer(t)
	tests := []struct {
		name   string
		script string
		env    map[string]string
		spec   func(*Spec)
		stop   func(context.CancelFunc, *Process) // called at the first point, or nil
		code   int                                // k6's exit code, -1 killed
		want   []error
		text   string // in the error message
	}{
		{name: "script error", script: "syntax_error.js", code: ExitScript, want: []error{ErrScript}, text: "syntax_error.js: Line 3:11 Unexpected token"},
		{name: "threshold crossed", script: "threshold.js", env: map[string]string{"TARGET": target},
			code: ExitThresholds, want: []error{ErrThresholds}, text: "http_reqs"},
		{name: "context cancelled", script: "steady.js", env: map[string]string{"TARGET": target},
			stop: func(cancel context.CancelFunc, _ *Process) { cancel() },
			code: ExitStoppedREST, want: []error{ErrStopped, context.Canceled}},
		{name: "Stop", script: "steady.js", env: map[string]string{"TARGET": target},
			stop: func(_ context.CancelFunc, p *Process) { p.Stop() },
			code: ExitStoppedREST, want: []error{ErrStopped}},
		{name: "time bound", script: "steady.js", env: map[string]string{"TARGET": target},
			spec: func(s *Spec) { s.MaxDuration = 3 * time.Second },
			code: ExitStoppedREST, want: []error{ErrStopped, ErrTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := testSpec(t, tt.script, tt.env)
			if tt.spec != nil {
				tt.spec(&spec)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := newCollector()
			p, err := Start(ctx, spec, c.add)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if tt.stop != nil {
				select {
				case <-c.got:
					tt.stop(cancel, p)
				case <-time.After(60 * time.Second):
					p.Stop()
					t.Errorf("no point within 60s")
				}
			}
			res, err := p.Wait()
			t.Logf("error: %v", err)
			assertGone(t, res)
			if err == nil {
				t.Fatalf("Run succeeded, want %v", tt.want)
			}
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != tt.code || res.ExitCode != tt.code {
				t.Errorf("error %v (result code %d), want exit code %d", err, res.ExitCode, tt.code)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("error %q does not match %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not say %q", err, tt.text)
			}
			if stopped := tt.stop != nil || tt.spec != nil; res.Stopped != stopped {
				t.Errorf("Result.Stopped = %v, want %v", res.Stopped, stopped)
			}
		})
	}
}

// TestRunStopDuringInit stops k6 before its REST API listens: the harness
// falls back to a signal, and the run still ends as stopped with nothing
// left behind.
func TestRunStopDuringInit(t *testing.T) {
	spec := testSpec(t, "slow_init.js", map[string]string{"INIT_MS": "60000"})
	spec.StopGrace = 2 * time.Second
	initStarted := make(chan struct{})
	var once sync.Once
	spec.Logger = slog.New(handlerFunc(func(r slog.Record) {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "msg" && strings.Contains(a.Value.String(), "init started") {
				once.Do(func() { close(initStarted) })
			}
			return true
		})
	}))
	p, err := Start(context.Background(), spec, nil)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	select {
	case <-initStarted:
	case <-time.After(30 * time.Second):
		t.Error("k6 did not log the start of init within 30s")
	}
	p.Stop()
	res, err := p.Wait()
	t.Logf("error: %v", err)
	assertGone(t, res)
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("error %v, want ErrStopped", err)
	}
	if !errors.Is(err, ErrAborted) && !errors.Is(err, ErrKilled) {
		t.Errorf("error %v, want ErrAborted (SIGTERM) or ErrKilled", err)
	}
	if res.Elapsed > 3*spec.StopGrace {
		t.Errorf("stop took %v, want at most %v", res.Elapsed, 3*spec.StopGrace)
	}
}
