package engine

import (
	"context"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/journal"
	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/load/runner"
	"github.com/gameday/gameday/internal/probe"
	"github.com/gameday/gameday/mockstore"
)

// walletChecks is a short run whose checks read every audit but the
// sessions' and the OTP provider's.
const walletChecks = `
name: wallet-audit
load: {shoppers: 40, rate: 6/s, duration: 8s}
faults:
  - {link: checkout->wallet, toxic: timeout, timeout: 200ms, start: 3s, duration: 2s}
checks:
  - invariant: money_conserved
  - invariant: no_negative_balance
  - invariant: ledger_matches
  - invariant: no_double_charge
  - invariant: failed_orders_refunded
  - invariant: paid_orders_charged
  - invariant: no_stuck_pending
  - invariant: no_lost_sessions
  - invariant: no_cross_user_data
  - experience: errors_have_retry_after
  - experience: forced_logouts
  - experience: no_false_not_registered
  - metric: journey_success{journey:checkout}
    window: baseline
    rate: ">= 0.5"
    min_samples: 3
`

// TestWalletAuditNotServed: a storefront whose wallet does not serve its
// audit — a test server standing in for the wallet's audit URL answers 404,
// or something that is not the contract's JSON, or nothing listens there —
// has exactly the checks that read the wallet's audit unknown, with the
// reason, and every other check judged as with the wallet's own audit.
func TestWalletAuditNotServed(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the load against the storefront for about 12 s")
	}
	t.Parallel()
	ctx := context.Background()
	sc := parse(t, walletChecks)
	opts := testOptions(t, mockstore.ProfileResilient)
	e, err := StartEnv(ctx, RuntimeInproc, env.Options{
		Features: opts.Features, Seed: sc.Seed, Shoppers: sc.Load.Shoppers, Dir: filepath.Join(opts.Dir, "stores"),
		RefundSLA: opts.RefundSLA, PendingBound: opts.PendingBound,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	info := e.Info()
	loadDir := filepath.Join(opts.Dir, "load")
	args, err := writeLoadConfig(loadDir, sc, runner.Storefront, info, e.Dataset(), sc.Seed)
	if err != nil {
		t.Fatal(err)
	}
	res := &journal.Run{Load: journal.Load{Dir: loadDir}}
	r := &run{sc: sc, opts: opts, log: slog.New(slog.DiscardHandler), res: res, probes: probe.TargetOf(info)}
	inj := newInjector(e)
	t.Cleanup(func() { _ = inj.Clear() })
	loadEnd, err := r.drive(ctx, inj, args)
	if err != nil {
		t.Fatalf("drive: %v", err)
	}
	if err := r.verdicts(ctx, info.Audit, loadEnd); err != nil {
		t.Fatal(err)
	}
	served := slices.Clone(res.Verdicts)
	for _, v := range served {
		t.Log("served: ", v)
		if v.Status == judge.Unknown && strings.Contains(v.Reason, "audit was not served") {
			t.Errorf("with every audit served: %s", v)
		}
	}

	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"accounts": 40}`)) // JSON, but not the contract's: most fields left out
	}))
	t.Cleanup(garbage.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	_ = ln.Close()
	for _, tc := range []struct{ name, url, why string }{
		{"404", notFound.URL, "status 404"},
		{"not the contract's JSON", garbage.URL, "decode answer"},
		{"nothing listening", closed, "refused"},
		{"no URL", "", "no audit URL for service wallet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			urls := maps.Clone(info.Audit)
			if tc.url == "" {
				delete(urls, mockstore.ServiceWallet)
			} else {
				urls[mockstore.ServiceWallet] = tc.url
			}
			if err := r.verdicts(ctx, urls, loadEnd); err != nil {
				t.Fatalf("verdicts: %v: a missing audit must not be an error of the run", err)
			}
			wallet := 0
			for i, v := range res.Verdicts {
				c, was := sc.Checks[i], served[i]
				needs := slices.ContainsFunc(judge.AuditNeeds(c), func(s string) bool { return strings.HasPrefix(s, mockstore.ServiceWallet+" ") })
				if needs {
					wallet++
					if v.Status != judge.Unknown || !strings.HasPrefix(v.Reason, "the wallet's audit was not served: GET /audit/") || !strings.Contains(v.Reason, tc.why) {
						t.Errorf("%s reads the wallet's audit: %s", c.Name, v)
					}
					continue
				}
				if v.Status != was.Status || v.Got != was.Got {
					t.Errorf("%s reads no wallet audit, yet it changed:\n got %s\nwas %s", c.Name, v, was)
				}
			}
			if wallet != 6 {
				t.Errorf("%d checks read the wallet's audit; want 6", wallet)
			}
			if res.Audit.Wallet != nil || res.Audit.Unread[env.SourceTotals] == "" || res.Audit.Gateway == nil {
				t.Errorf("audit: wallet %v, unread %v", res.Audit.Wallet, res.Audit.Unread)
			}
			if judge.Overall(res.Verdicts) == judge.Pass {
				t.Errorf("the run passed without the wallet's audit")
			}
		})
	}
}
