package auth_test

import (
	"context"
	"os"
	"testing"

	"github.com/gameday/gameday/internal/engine"
	"github.com/gameday/gameday/internal/engine/enginetest"
	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore/auth"
)

// TestMain makes this test binary the load child when the engine starts it
// (TestOTPRulesScenario).
func TestMain(m *testing.M) { enginetest.Main(m) }

// TestOTPRulesScenario is the proof that scenarios/otp-rules.yaml can
// fail. Its rules are no feature that the sensitivity matrix could turn
// off, so it runs the scenario (quick) on storefronts whose auth breaks one
// of them (export_test.go, through env's NewAuth seam): the checks of the
// rule broken must fail there — from what the shoppers were answered and
// from auth's record of its verifies — and every rule check must pass on
// auth as it is.
func TestOTPRulesScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the otp-rules scenario three times, about 30 s each, side by side")
	}
	sc, err := scenario.Builtin("otp-rules")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rules := []string{scenario.InvOTPLateRefused, scenario.InvOTPReuseRefused, scenario.InvOTPWithinLifetime, scenario.InvOTPUsedOnce}
	tests := []struct {
		name   string
		breaks func(*auth.Service) // nil: auth as it is
		fail   []string            // the rule checks that must fail; every other must pass
	}{
		{name: "rules kept"},
		{name: "lifetime counted from delivery", breaks: auth.BreakLifetimeFromDelivery,
			fail: []string{scenario.InvOTPLateRefused, scenario.InvOTPWithinLifetime}},
		{name: "a code accepted twice", breaks: auth.BreakSingleUse,
			fail: []string{scenario.InvOTPReuseRefused, scenario.InvOTPUsedOnce}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := engine.Options{Quick: true, Dir: t.TempDir(), Load: []string{exe}}
			if tt.breaks != nil {
				opts.NewAuth = func(ctx context.Context, cfg auth.Config) (*auth.Service, error) {
					s, err := auth.New(ctx, cfg)
					if err == nil {
						tt.breaks(s)
					}
					return s, err
				}
			}
			res, err := engine.Run(context.Background(), sc, opts)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			got := map[string]judge.Verdict{}
			for _, v := range res.Verdicts {
				got[v.Check] = v
				t.Log(v.String())
			}
			for _, name := range rules {
				v, ok := got[name]
				want := judge.Pass
				for _, f := range tt.fail {
					if f == name {
						want = judge.Fail
					}
				}
				if !ok || v.Status != want {
					t.Errorf("%s: %s, want %s", name, v.Status, want)
				}
			}
			if len(tt.fail) > 0 && res.Outcome != judge.Fail {
				t.Errorf("the run's outcome is %s on an auth that breaks a rule", res.Outcome)
			}
		})
	}
}
