package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/internal/load/storefront"
	"github.com/gameday/gameday/internal/series"
)

// childVar makes this test binary the load child: the tests start it as the
// harness starts its own binary (`gameday load --config FILE`), so every
// test runs the real child built from the code under test. hangVar makes
// it a child that ignores SIGTERM and never ends, to test the kill.
const (
	childVar = "GAMEDAY_RUNNER_TEST_CHILD"
	hangVar  = "GAMEDAY_RUNNER_TEST_HANG"
)

func TestMain(m *testing.M) {
	if os.Getenv(hangVar) == "1" {
		signal.Ignore(syscall.SIGTERM)
		select {}
	}
	if os.Getenv(childVar) == "1" {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// childSpec writes cfg into a fresh run directory and returns the Spec
// that runs it with this test binary as the child.
func childSpec(tb testing.TB, cfg Config) load.Spec {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	cfg.Out = filepath.Join(dir, load.SeriesFile)
	cfg.Events = true
	path := filepath.Join(dir, "load.json")
	if err := WriteConfig(path, cfg); err != nil {
		tb.Fatal(err)
	}
	return load.Spec{
		Command:     []string{exe},
		Args:        []string{"--config", path},
		Dir:         dir,
		Env:         map[string]string{childVar: "1"},
		MaxDuration: 90 * time.Second,
		StopGrace:   5 * time.Second,
	}
}

// answerServer serves status with an empty JSON body on loopback until the
// test ends and returns its URL.
func answerServer(tb testing.TB, status int) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"ok":true}`))
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// journeyFile writes a journey file of one GET / with a status check.
func journeyFile(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "journeys.yaml")
	src := "journeys:\n  - name: ping\n    steps:\n      - name: root\n        method: GET\n        url: /\n        checks:\n          - status == 200\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// assertGone fails when the child of res, or any process of its group, is
// still alive.
func assertGone(tb testing.TB, res load.Result) {
	tb.Helper()
	if res.PID <= 0 {
		tb.Fatalf("no pid in result %+v", res)
	}
	if err := syscall.Kill(res.PID, 0); !errors.Is(err, syscall.ESRCH) {
		tb.Errorf("child pid %d: kill 0 = %v, want ESRCH (process gone)", res.PID, err)
	}
	if err := syscall.Kill(-res.PID, 0); !errors.Is(err, syscall.ESRCH) {
		tb.Errorf("child's group %d: kill 0 = %v, want ESRCH (group gone)", res.PID, err)
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

// shopperConfig is a load of the storefront's shoppers against e.
func shopperConfig(tb testing.TB, e env.Env, rate float64, d time.Duration) Config {
	tb.Helper()
	data := filepath.Join(tb.TempDir(), storefront.DataFile)
	if err := storefront.WriteData(data, e.Dataset()); err != nil {
		tb.Fatal(err)
	}
	return Config{
		Target: e.Info().Gateway, Inbox: e.Info().OTPInbox, Journeys: Storefront, Data: data,
		Rate: rate, Duration: Duration(d), Env: map[string]string{"GAMEDAY_THINK": "0.05"}, MaxFailed: -1, Seed: 7,
	}
}

// TestRunShoppers runs the storefront's shoppers as a child process for a
// few seconds and checks the series: read live, with checkouts that were
// paid, split by endpoint and journey, nothing a healthy storefront should
// not show.
func TestRunShoppers(t *testing.T) {
	e := startStore(t)
	cfg := shopperConfig(t, e, 4, 5*time.Second)
	cfg.Observations = filepath.Join(t.TempDir(), storefront.ObservationsFile)
	spec := childSpec(t, cfg)
	c := newCollector()
	res, err := load.Run(context.Background(), spec, c.add)
	end := time.Now()
	t.Cleanup(func() { assertGone(t, res) })
	if err != nil {
		log, _ := os.ReadFile(res.LogPath)
		t.Fatalf("Run: %v\nload log:\n%s", err, log)
	}
	pts := c.points()
	if res.Points != int64(len(pts)) || len(pts) == 0 || res.BadLines != 0 {
		t.Fatalf("result %+v, %d points handed over", res, len(pts))
	}
	if res.Summary == nil || res.Summary.Started == 0 || res.Summary.Started != res.Summary.Planned {
		t.Errorf("summary %+v: want every planned iteration started", res.Summary)
	}
	// Live: points came while the load ran, not all at its exit.
	if lead := end.Sub(c.first); lead < 2*time.Second {
		t.Errorf("first point %v before the end of a %v run: the series was not read live", lead, res.Elapsed)
	}
	paid := total(sum(pts, "orders_paid", nil, false))
	checkouts := sum(pts, "journey_success", map[string]string{load.TagJourney: "checkout"}, false)
	if total(checkouts) == 0 || paid == 0 {
		t.Errorf("successful checkouts %v, orders paid %v: want some", total(checkouts), paid)
	}
	if n := total(sum(pts, "http_reqs", map[string]string{load.TagEndpoint: "checkout", load.TagJourney: "checkout", load.TagStatus: "2xx"}, false)); n == 0 {
		t.Errorf("no http_reqs{endpoint:checkout,journey:checkout,status:2xx}")
	}
	if n := total(sum(pts, "http_req_duration", map[string]string{load.TagEndpoint: "products"}, true)); n == 0 {
		t.Errorf("no http_req_duration{endpoint:products}")
	}
	if n := total(sum(pts, "otp_wait", map[string]string{load.TagJourney: "login"}, true)); n == 0 {
		t.Errorf("no otp_wait samples")
	}
	if n := total(sum(pts, "iterations", nil, false)); n == 0 {
		t.Errorf("no iterations counted")
	}
	var journeys, succeeded float64
	for _, p := range pts {
		switch p.Metric {
		case "journey_success":
			journeys += float64(p.Count)
			succeeded += p.Sum
		case "shopper_error":
			if code := p.Tags[load.TagCode]; code != "temporarily_unavailable" && code != "no_response" {
				t.Errorf("second %d: shopper shown %q %v times (%v) by a healthy storefront", p.T, code, p.Sum, p.Tags)
			}
		case "bare_5xx", "forced_logout", "cross_user_data", "zero_balance_shown", "dropped_iterations":
			t.Errorf("second %d: %s %v %v on a healthy storefront", p.T, p.Metric, p.Tags, p.Sum)
		}
	}
	if journeys == 0 || succeeded < 0.9*journeys {
		t.Errorf("%v of %v journeys succeeded on a healthy storefront; want at least 90%%", succeeded, journeys)
	}
	// What the shoppers were told, for the judge: every checkout with its
	// cart, every login start, every wait for a code.
	obs, err := storefront.ReadObservations(cfg.Observations)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, o := range obs {
		kinds[o.Kind]++
		if o.Kind == storefront.ObserveCheckout && o.Status == http.StatusCreated && (len(o.Cart) == 0 || o.Amount <= 0 || o.UserID == "" || o.Courier == "" || o.Area == "") {
			t.Errorf("checkout observed without what was asked: %+v", o)
		}
	}
	if kinds[storefront.ObserveCheckout] == 0 || kinds[storefront.ObserveLogin] == 0 || kinds[storefront.ObserveCode] == 0 {
		t.Errorf("observations by kind %v: want checkouts, logins and codes", kinds)
	}
}

// TestRunFaultSeconds takes the gateway->checkout link down from second 3 to
// 6 of the load and checks that failures are in the series in those seconds
// and not before.
func TestRunFaultSeconds(t *testing.T) {
	e := startStore(t)
	spec := childSpec(t, shopperConfig(t, e, 8, 9*time.Second))
	tp := fault.NewClient(e.Info().Toxiproxy)
	proxy := e.Info().Links["gateway->checkout"]

	p, err := load.Start(context.Background(), spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	start, err := p.Running(context.Background())
	if err != nil {
		t.Fatalf("Running: %v", err)
	}
	ctx := context.Background()
	<-time.After(time.Until(start.Add(3 * time.Second)))
	errDown := tp.SetEnabled(ctx, proxy, false)
	down := time.Now()
	<-time.After(time.Until(start.Add(6 * time.Second)))
	errUp := tp.SetEnabled(ctx, proxy, true)
	up := time.Now()
	res, err := p.Wait()
	assertGone(t, res)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if errDown != nil || errUp != nil {
		t.Fatalf("fault not applied: %v", errors.Join(errDown, errUp))
	}
	pts := readSeries(t, res.SeriesPath)
	fails := sum(pts, "http_reqs", map[string]string{load.TagStatus: "5xx"}, false)
	ok := sum(pts, "http_reqs", map[string]string{load.TagStatus: "2xx"}, false)
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
	if total(sum(pts, "shopper_error", map[string]string{load.TagCode: "temporarily_unavailable"}, false)) == 0 {
		t.Errorf("no shopper_error{code:temporarily_unavailable} while the link was down")
	}
	if b := total(sum(pts, "bare_5xx", nil, false)); b != 0 {
		t.Errorf("%v bare 5xx from the resilient storefront", b)
	}
}

// readSeries reads a series file the child wrote.
func readSeries(tb testing.TB, path string) []series.Point {
	tb.Helper()
	var pts []series.Point
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var p series.Point
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			tb.Fatalf("series line %q: %v", line, err)
		}
		pts = append(pts, p)
	}
	return pts
}

// TestRunEnds checks how runs end: the child's exit codes and the harness's
// stops, each with its documented error and no process left behind.
func TestRunEnds(t *testing.T) {
	ok := answerServer(t, http.StatusOK)
	failing := answerServer(t, http.StatusInternalServerError)
	steady := func(target string) Config {
		return Config{Target: target, Journeys: journeyFile(t), Rate: 20, Duration: Duration(30 * time.Second), MaxFailed: -1}
	}
	tests := []struct {
		name string
		cfg  Config
		spec func(*load.Spec)
		stop func(context.CancelFunc, *load.Process) // called once running, or nil
		code int                                     // the child's exit code, -1 killed
		want []error
		text string // in the error message
	}{
		{name: "bad journey file", cfg: Config{Target: ok, Journeys: "/nonexistent/j.yaml", MaxFailed: -1},
			code: load.ExitConfig, want: []error{load.ErrConfig, load.ErrNotRunning}, text: "j.yaml"},
		{name: "bad target", cfg: Config{Target: "ftp://x", Journeys: journeyFile(t), MaxFailed: -1},
			code: load.ExitConfig, want: []error{load.ErrConfig}, text: "want the base URL"},
		{name: "limit crossed", cfg: Config{Target: failing, Journeys: journeyFile(t), Rate: 20, Duration: Duration(time.Second), MaxFailed: 0.5},
			code: load.ExitThresholds, want: []error{load.ErrThresholds}, text: "of requests failed"},
		{name: "context cancelled", cfg: steady(ok),
			stop: func(cancel context.CancelFunc, _ *load.Process) { cancel() },
			code: load.ExitStopped, want: []error{load.ErrStopped, context.Canceled}},
		{name: "Stop", cfg: steady(ok),
			stop: func(_ context.CancelFunc, p *load.Process) { p.Stop() },
			code: load.ExitStopped, want: []error{load.ErrStopped}},
		{name: "time bound", cfg: steady(ok),
			spec: func(s *load.Spec) { s.MaxDuration = 2 * time.Second },
			code: load.ExitStopped, want: []error{load.ErrStopped, load.ErrTimeout}},
		{name: "deaf to SIGTERM", cfg: steady(ok),
			spec: func(s *load.Spec) { s.Env[hangVar] = "1"; s.StopGrace = time.Second; s.MaxDuration = 2 * time.Second },
			code: -1, want: []error{load.ErrStopped, load.ErrKilled, load.ErrTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := childSpec(t, tt.cfg)
			if tt.spec != nil {
				tt.spec(&spec)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p, err := load.Start(ctx, spec, nil)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if tt.stop != nil {
				if _, err := p.Running(context.Background()); err != nil {
					t.Fatalf("Running: %v", err)
				}
				tt.stop(cancel, p)
			}
			res, err := p.Wait()
			t.Logf("error: %v", err)
			assertGone(t, res)
			if err == nil {
				t.Fatalf("Run succeeded, want %v", tt.want)
			}
			if res.ExitCode != tt.code {
				t.Errorf("exit code %d, want %d", res.ExitCode, tt.code)
			}
			for _, w := range tt.want {
				if w == load.ErrNotRunning {
					if _, rerr := p.Running(context.Background()); !errors.Is(rerr, w) {
						t.Errorf("Running: %v, want %v", rerr, w)
					}
					continue
				}
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

// TestRunJourneyFile runs a journey file against a target of our own: its
// checks reach the series, and the summary counts what ran.
func TestRunJourneyFile(t *testing.T) {
	target := answerServer(t, http.StatusOK)
	spec := childSpec(t, Config{Target: target, Journeys: journeyFile(t), Rate: 50, Duration: Duration(2 * time.Second), MaxFailed: 0})
	res, err := load.Run(context.Background(), spec, nil)
	assertGone(t, res)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	pts := readSeries(t, res.SeriesPath)
	checks := sum(pts, load.MetricChecks, nil, true)
	held := sum(pts, load.MetricChecks, nil, false)
	if total(checks) < 90 || total(held) != total(checks) {
		t.Errorf("%v checks, %v held: want about 100, all held", total(checks), total(held))
	}
	if res.Summary == nil || res.Summary.Planned != 100 || res.Summary.Completed != 100 || res.Summary.Dropped != 0 {
		t.Errorf("summary %+v: want 100 planned and completed", res.Summary)
	}
}
