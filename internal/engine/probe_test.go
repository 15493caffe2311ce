package engine

import (
	"context"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

// probes is a short run with a probe of the gateway's health every second,
// through the client->gateway proxy that a timeout toxic blocks from 3 s to
// 6 s, and probes of the wallet before (its audit) and after the load (its
// ledger, read from its store).
const probes = `
name: probes
load: {shoppers: 40, rate: 6/s, duration: 10s}
faults:
  - {link: client->gateway, toxic: timeout, timeout: 0s, start: 3s, duration: 3s}
checks:
  - probe: http
    name: gateway health
    url: "{gateway}/healthz"
    every: 1s
    timeout: 500ms
    expect: status == 200 && body.service == "gateway"
  - probe: http
    name: wallet audit before
    url: "{audit.wallet}/audit/totals"
    when: before
    expect: status == 200 && body.accounts > 0 && body.ledger_sum == 0
  - probe: sql
    name: ledger balanced
    db: wallet.db
    query: SELECT count(*) AS n, coalesce(sum(amount), 0) AS total FROM entries
    when: after
    expect: row.n > 0 && row.total == 0
  - probe: sql
    name: charges made
    db: wallet.db
    query: SELECT count(*) AS n FROM charges
    when: after
    expect: row.n > 0
`

func TestRunProbes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the load against the storefront for about 15 s")
	}
	t.Parallel()
	sc := parse(t, probes)
	res, err := Run(context.Background(), sc, testOptions(t, mockstore.ProfileResilient))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	byName := map[string]judge.Verdict{}
	for _, v := range res.Verdicts {
		t.Log(v.String())
		byName[v.Check] = v
	}
	for _, name := range []string{"wallet audit before", "ledger balanced", "charges made"} {
		if v := byName[name]; v.Status != judge.Pass || v.Evidence.Samples != 1 {
			t.Errorf("%s: %s", name, v)
		}
	}
	health := byName["gateway health"]
	if health.Status != judge.Fail || health.Evidence.Count < 2 || health.Evidence.First == "" || health.Evidence.Worst == "" {
		t.Errorf("gateway health under a blocked client->gateway link: %s", health)
	}
	if health.Evidence.Samples < int64(scenario.Probe{When: scenario.ProbeEvery, Every: time.Second}.Least(10*time.Second)) {
		t.Errorf("the health probe ran %d times in 10 s", health.Evidence.Samples)
	}
	// Each run failed while the link was blocked, and held otherwise: the
	// fault, not the probe, made it fail.
	if len(res.Intervals) != 1 {
		t.Fatalf("fault intervals %+v", res.Intervals)
	}
	iv := res.Intervals[0]
	var runs, before, after int
	for _, p := range res.Probes {
		switch p.Check {
		case "gateway health":
			runs++
			at := p.At.Sub(res.LoadStart)
			// A run that starts just before the toxic may still be cut by it.
			during := at >= iv.From-600*time.Millisecond && at <= iv.To
			if !p.OK && !during {
				t.Errorf("health failed at +%v, outside the fault %v..%v: %+v", at, iv.From, iv.To, p)
			}
			if p.OK && at >= iv.From+100*time.Millisecond && at+500*time.Millisecond <= iv.To {
				t.Errorf("health held at +%v, inside the fault %v..%v: %+v", at, iv.From, iv.To, p)
			}
		case "wallet audit before":
			before++
			if !p.At.Before(res.LoadStart) {
				t.Errorf("the before probe ran at %v, after the load started at %v", p.At, res.LoadStart)
			}
		case "ledger balanced", "charges made":
			after++
			if p.At.Before(res.LoadStart.Add(10 * time.Second)) {
				t.Errorf("an after probe ran at +%v, before the load ended", p.At.Sub(res.LoadStart))
			}
		}
	}
	if runs != int(health.Evidence.Samples) || before != 1 || after != 2 {
		t.Errorf("journal holds %d health runs (verdict %d), %d before, %d after", runs, health.Evidence.Samples, before, after)
	}
	// The judge decides the same from the journal alone.
	again := judge.Verdicts(&judge.Run{
		Timeline: judge.Timeline{Start: res.LoadStart, Duration: sc.Load.Duration, Faults: res.Intervals},
		Probes:   res.Probes,
	}, sc.Checks)
	for i, v := range again {
		if v.Kind == scenario.CheckProbe && (v.Status != res.Verdicts[i].Status || v.Evidence != res.Verdicts[i].Evidence) {
			t.Errorf("from the journal: %s; in the run: %s", v, res.Verdicts[i])
		}
	}
}
