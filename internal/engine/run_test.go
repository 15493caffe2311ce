package engine

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/env/envtest"
	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

// childVar makes this test binary run as k6: the engine starts it for the
// load, as the harness starts its own binary.
const childVar = "GAMEDAY_ENGINE_TEST_K6"

func TestMain(m *testing.M) { envtest.Main(m, childVar) }

// testOptions runs k6 as this test binary, with a short output lag.
func testOptions(tb testing.TB, profile string) Options {
	tb.Helper()
	tb.Setenv(childVar, "1")
	tb.Setenv(load.LagEnv, "300ms")
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	feats, err := mockstore.Profile(profile)
	if err != nil {
		tb.Fatal(err)
	}
	return Options{
		Features: feats, Profile: profile, Dir: tb.TempDir(), K6: []string{exe},
		Scripts: os.DirFS("../../scenarios"), RefundSLA: 2e9, PendingBound: 3e9,
	}
}

// ambiguous is a short wallet-ambiguous-commit: the wallet commits charges
// whose answers checkout never gets.
const ambiguous = `
name: short-ambiguous-commit
guards: [idempotent_payments, payment_reconciliation]
load: {script: k6/shopper.js, shoppers: 40, rate: 6/s, duration: 9s}
faults:
  - {link: checkout->wallet, toxic: timeout, timeout: 200ms, stream: downstream, start: 3s, duration: 3s}
checks:
  - invariant: no_double_charge
  - invariant: money_conserved
  - invariant: failed_orders_refunded
  - metric: journey_success{journey:checkout}
    window: baseline
    rate: ">= 0.5"
    min_samples: 3
`

func TestRunScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("runs k6 against the storefront for about 15 s")
	}
	sc := parse(t, ambiguous)
	var progress strings.Builder
	opts := testOptions(t, mockstore.ProfileResilient)
	opts.Progress = &progress
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
		t.Skip("starts k6")
	}
	sc := parse(t, ambiguous)
	opts := testOptions(t, mockstore.ProfileResilient)
	ctx, cancel := context.WithCancel(context.Background())
	var lines strings.Builder
	opts.Progress = &cancelAfter{w: &lines, n: 2, cancel: cancel}
	res, err := Run(ctx, sc, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v; want context.Canceled", err)
	}
	if res.Cleanup != "" {
		t.Errorf("cleanup: %s", res.Cleanup)
	}
	if res.Env.Toxiproxy == "" {
		t.Fatal("no environment recorded")
	}
	// Everything is gone: the Toxiproxy API and the gateway refuse connections.
	for _, u := range []string{res.Env.Toxiproxy, res.Env.Gateway} {
		if c, err := dialURL(u); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Run returned", u)
		}
	}
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
		t.Skip("runs k6 against the storefront for about 15 s")
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

// TestReservedEnv: every variable the harness gives a shopper script is one
// a scenario's load.env may not set, so a scenario can never point the load
// at another storefront or change its shape behind the file's back.
func TestReservedEnv(t *testing.T) {
	m, err := load.ShopperEnv(t.TempDir(), env.Info{Gateway: "http://127.0.0.1:1", OTPInbox: "http://127.0.0.1:2"},
		mockstore.Seed(1, 10), load.Shape{Rate: 1, Duration: time.Second, VUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	for k := range m {
		if !slices.Contains(scenario.ReservedEnv, k) {
			t.Errorf("the harness sets %s, which scenario.ReservedEnv lacks: load.env could override it", k)
		}
	}
}
