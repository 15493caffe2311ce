package engine

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/engine/enginetest"
	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/internal/load/runner"
	"github.com/gameday/gameday/internal/load/storefront"
	"github.com/gameday/gameday/internal/report"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

// TestMain makes this test binary the load child when the engine starts it
// for a load, as the harness starts its own binary.
func TestMain(m *testing.M) { enginetest.Main(m) }

// testOptions runs the load child as this test binary.
func testOptions(tb testing.TB, profile string) Options {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	feats, err := mockstore.Profile(profile)
	if err != nil {
		tb.Fatal(err)
	}
	return Options{
		Features: feats, Profile: profile, Dir: tb.TempDir(), Load: []string{exe},
		RefundSLA: 2e9, PendingBound: 3e9,
	}
}

// ambiguous is a short wallet-ambiguous-commit: the wallet commits charges
// whose answers checkout never gets.
const ambiguous = `
name: short-ambiguous-commit
guards: [idempotent_payments, payment_reconciliation]
load: {shoppers: 40, rate: 6/s, duration: 9s}
faults:
  - {link: checkout->wallet, toxic: timeout, timeout: 200ms, stream: downstream, start: 3s, duration: 3s}
checks:
  - invariant: no_double_charge
  - invariant: money_conserved
  - invariant: failed_orders_refunded
  - experience: no_false_refusal
  - metric: journey_success{journey:checkout}
    window: baseline
    rate: ">= 0.5"
    min_samples: 3
`

func TestRunScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the load against the storefront for about 15 s")
	}
	sc := parse(t, ambiguous)
	var progress strings.Builder
	opts := testOptions(t, mockstore.ProfileResilient)
	watch(&opts, &progress)
	res, err := Run(context.Background(), sc, opts)
	if err != nil {
		t.Fatalf("Run: %v (result %+v)", err, res)
	}
	if res.Load.Points == 0 || len(res.Series) == 0 {
		t.Fatalf("no series: %+v", res.Load)
	}
	if len(res.Faults) != 2 {
		t.Fatalf("fault events %+v; want apply and remove", res.Faults)
	}
	for _, f := range res.Faults {
		if f.Err != "" {
			t.Errorf("fault event %s failed: %s", f.What, f.Err)
		}
		t.Logf("fault event %s %s: planned %v, carried out %v late", f.Action, f.What, f.Planned, f.Late())
	}
	if len(res.Intervals) != 1 {
		t.Errorf("actual intervals %+v; want one", res.Intervals)
	}
	if len(res.Verdicts) != len(sc.Checks) {
		t.Fatalf("%d verdicts for %d checks", len(res.Verdicts), len(sc.Checks))
	}
	for _, v := range res.Verdicts {
		t.Log(v.String())
		if v.Status != judge.Pass {
			t.Errorf("on resilient: %s", v)
		}
		// Judged from the load's observations, read back by the engine.
		if v.Subject == scenario.ExpNoFalseRefusal && (v.Evidence.Samples < 20 || !strings.Contains(v.Reason, "checkout answers")) {
			t.Errorf("no_false_refusal judged %d checkout answers: %s", v.Evidence.Samples, v)
		}
	}
	if res.Outcome != judge.Pass {
		t.Errorf("outcome %s", res.Outcome)
	}
	if !strings.Contains(progress.String(), "baseline") || !strings.Contains(progress.String(), "fault") {
		t.Errorf("progress lines do not show the phases:\n%s", progress.String())
	}
}

func TestRunCancelled(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the load")
	}
	sc := parse(t, ambiguous)
	opts := testOptions(t, mockstore.ProfileResilient)
	ctx, cancel := context.WithCancel(context.Background())
	var lines strings.Builder
	watch(&opts, &cancelAfter{w: &lines, n: 2, cancel: cancel})
	res, err := Run(ctx, sc, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v; want context.Canceled", err)
	}
	if res.Cleanup != "" {
		t.Errorf("cleanup: %s", res.Cleanup)
	}
	if res.Environment.Toxiproxy == "" {
		t.Fatal("no environment recorded")
	}
	// Everything is gone: the Toxiproxy API and the gateway refuse connections.
	for _, u := range []string{res.Environment.Toxiproxy, res.Environment.Gateway} {
		if c, err := dialURL(u); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Run returned", u)
		}
	}
}

// watch shows opts' load as report's progress lines on w, as `gameday run`
// does.
func watch(opts *Options, w io.Writer) {
	live := report.NewProgress(w, false, time.Time{}, nil)
	opts.OnLoadStart, opts.OnPoint, opts.OnLoadEnd = live.Start, live.Add, live.Flush
}

// cancelAfter cancels after n progress writes: an interrupt in the middle
// of the load.
type cancelAfter struct {
	w      *strings.Builder
	n      int
	cancel func()
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return c.w.Write(p)
}

func TestRunScenarioNaiveFails(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the load against the storefront for about 15 s")
	}
	res, err := Run(context.Background(), parse(t, ambiguous), testOptions(t, mockstore.ProfileNaive))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	failed := map[string]bool{}
	for _, v := range res.Verdicts {
		t.Log(v.String())
		if v.Status == judge.Fail {
			failed[v.Subject] = true
		}
	}
	if res.Outcome != judge.Fail {
		t.Errorf("outcome on naive %s; want fail", res.Outcome)
	}
	if !failed["failed_orders_refunded"] && !failed["no_double_charge"] {
		t.Errorf("naive: neither failed_orders_refunded nor no_double_charge failed: %v", failed)
	}
}

// TestLoadConfig: the load child is told the storefront's URLs, the seed
// data, the scenario's shape and its variables, and nothing the scenario
// could use to point the load elsewhere: load.env only reaches the
// journeys' own variables.
func TestLoadConfig(t *testing.T) {
	sc, err := scenario.Parse("t.yaml", []byte("load: {rate: 6/s, duration: 9s, vus: 12, env: {GAMEDAY_LOGOUT: 0.5}}\nchecks: [{invariant: money_conserved}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	info := env.Info{Gateway: "http://127.0.0.1:1", OTPInbox: "http://127.0.0.1:2"}
	args, err := writeLoadConfig(dir, sc, runner.Storefront, info, mockstore.Seed(1, 10), 42)
	if err != nil {
		t.Fatal(err)
	}
	if len(args) != 2 || args[0] != "--config" {
		t.Fatalf("args %q", args)
	}
	cfg, err := runner.ReadConfig(args[1])
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Target != info.Gateway || cfg.Inbox != info.OTPInbox || cfg.Rate != 6 || time.Duration(cfg.Duration) != 9*time.Second ||
		cfg.VUs != 12 || cfg.Seed != 42 || !cfg.Events || cfg.MaxFailed >= 0 || cfg.Env["GAMEDAY_LOGOUT"] != "0.5" || len(cfg.Env) != 1 {
		t.Errorf("config %+v", cfg)
	}
	if _, err := os.Stat(cfg.Data); err != nil {
		t.Errorf("seed data: %v", err)
	}
	if cfg.Out != filepath.Join(dir, load.SeriesFile) {
		t.Errorf("series file %q", cfg.Out)
	}
	if cfg.Observations != filepath.Join(dir, storefront.ObservationsFile) {
		t.Errorf("observations file %q", cfg.Observations)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("the harness wrote a config the child refuses: %v", err)
	}
}
