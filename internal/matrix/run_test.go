package matrix

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

// TestCellScenario: every cell of the matrix is a valid scenario with its
// fault from the baseline's end until the load ends.
func TestCellScenario(t *testing.T) {
	toxics := map[Fault]string{
		FaultLatency: "latency", FaultDown: "down", FaultTimeout: "timeout", FaultReset: "reset_peer", FaultHTTP5xx: "http_error",
	}
	for _, l := range Links() {
		for _, f := range Faults() {
			sc, err := CellScenario(l, f, DefaultShape)
			if err != nil {
				t.Fatalf("%s: %v", CellName(l, f), err)
			}
			if len(sc.Faults) != 1 || sc.File != "" || sc.Load.Duration != 12*time.Second || sc.Load.Rate.PerSecond() != 12 {
				t.Fatalf("%s: %+v", CellName(l, f), sc)
			}
			flt := sc.Faults[0]
			if flt.Link != l || flt.Toxic != toxics[f] || flt.Start != 4*time.Second || flt.End(sc.Load.Duration) != sc.Load.Duration {
				t.Errorf("%s: fault %s", CellName(l, f), flt)
			}
			if got := sc.Load.Env["GAMEDAY_LOGOUT"]; got != "0.25" {
				t.Errorf("%s: GAMEDAY_LOGOUT %q, want the shape's 0.25", CellName(l, f), got)
			}
			if flt.Toxic != "down" && flt.Toxicity != 1 {
				t.Errorf("%s: toxicity %g", CellName(l, f), flt.Toxicity)
			}
			switch f {
			case FaultLatency:
				if flt.Attrs.Duration("latency") != FaultLatencyAdded || flt.Stream != scenario.Upstream {
					t.Errorf("latency cell: %s", flt)
				}
			case FaultHTTP5xx:
				if flt.Attrs.Int("status") != HTTP5xxStatus || flt.Stream != scenario.Downstream {
					t.Errorf("http_5xx cell: %s", flt)
				}
			case FaultTimeout:
				if flt.Attrs.Duration("timeout") != 0 || flt.Stream != scenario.Upstream {
					t.Errorf("timeout cell: %s", flt)
				}
			}
		}
	}
	if _, err := CellScenario("gateway->wallet", "crash", DefaultShape); err == nil || !strings.Contains(err.Error(), "http_5xx") {
		t.Errorf("an unknown fault: %v", err)
	}
}

func TestParseLinksFaults(t *testing.T) {
	if ls, err := ParseLinks(" gateway->wallet,auth->sessions,gateway->wallet"); err != nil || !slices.Equal(ls, []string{"gateway->wallet", "auth->sessions"}) {
		t.Errorf("ParseLinks = %v, %v", ls, err)
	}
	if ls, _ := ParseLinks(""); len(ls) != len(mockstore.Links()) {
		t.Errorf("every link: %v", ls)
	}
	if _, err := ParseLinks("gateway->walet"); err == nil || !strings.Contains(err.Error(), "client->gateway") {
		t.Errorf("unknown link: %v", err)
	}
	if fs, err := ParseFaults("reset, latency"); err != nil || !slices.Equal(fs, []Fault{FaultReset, FaultLatency}) {
		t.Errorf("ParseFaults = %v, %v", fs, err)
	}
	if fs, _ := ParseFaults(""); !slices.Equal(fs, Faults()) {
		t.Errorf("every fault: %v", fs)
	}
	if _, err := ParseFaults("crash"); err == nil || !strings.Contains(err.Error(), "latency, down") {
		t.Errorf("unknown fault: %v", err)
	}
}

// testShape is a cell for the race detector's slow load child: fewer visits and
// a longer baseline, so that every journey has latency samples before the
// fault.
var testShape = Shape{Baseline: 8 * time.Second, Fault: 10 * time.Second, Rate: 6, Shoppers: 100, Seed: 1, Logout: CellLogout}

// TestShapeGivesEveryJourneyEnough: by design, a cell's fault window
// starts enough visits for every journey to be graded — twice MinJourneys
// visits that log in, and as many that start logged in and go on to browse,
// cart, wallet and checkout.
func TestShapeGivesEveryJourneyEnough(t *testing.T) {
	for name, sh := range map[string]Shape{"default": DefaultShape, "quick": QuickShape, "test": testShape} {
		visits, logins := sh.WindowVisits()
		if logins < 2*MinJourneys || visits-logins < 2*MinJourneys {
			t.Errorf("%s shape: %.0f visits in the window, %.0f of them logging in; want at least %d of each", name, visits, logins, 2*MinJourneys)
		}
	}
}

// TestRunReduced measures a reduced matrix — gateway->wallet and
// auth->sessions × reset and latency — on both profiles. The naive
// storefront has no breaker and no balance cache: its wallet journey is
// broken when the gateway's link to the wallet fails, where the resilient
// one's stays ok or degraded. Without the session store neither can
// validate a session: neither browses.
func TestRunReduced(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 8 matrix cells under load, about a minute")
	}
	links := []string{"gateway->wallet", "auth->sessions"}
	faults := []Fault{FaultReset, FaultLatency}
	// The two profiles' matrices run side by side: a cell waits on its
	// timeline far more than it computes.
	profiles := []string{mockstore.ProfileResilient, mockstore.ProfileNaive}
	ms := map[string]*Matrix{}
	errs := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, profile := range profiles {
		opts := Options{Links: links, Faults: faults, Shape: testShape, Engine: engineOptions(t, profile), Parallel: 2}
		wg.Go(func() {
			m, err := Run(context.Background(), opts, func(c Cell, n, total int) {
				var line []string
				for _, j := range c.Journeys {
					line = append(line, j.Journey+" "+j.Grade.String()+" ("+j.Reason+")")
				}
				t.Logf("%s [%d/%d] %s %s: %s (%s)", profile, n, total, c.Name(), c.Err, strings.Join(line, "; "), c.Elapsed.Round(time.Second))
			})
			mu.Lock()
			defer mu.Unlock()
			ms[profile], errs[profile] = m, err
		})
	}
	wg.Wait()
	for _, profile := range profiles {
		m, err := ms[profile], errs[profile]
		if err != nil {
			t.Fatal(err)
		}
		if m.Profile != profile || len(m.Cells) != len(links)*len(faults) {
			t.Fatalf("%s: %d cells of profile %q", profile, len(m.Cells), m.Profile)
		}
		for i, c := range m.Cells {
			if want := CellName(links[i/len(faults)], faults[i%len(faults)]); c.Name() != want {
				t.Errorf("cell %d is %s; want %s (matrix order)", i, c.Name(), want)
			}
			for _, j := range c.Journeys {
				// The gate's profile. On naive a visit that fails fast (the
				// wallet at 0%) ends before its logout, and a cell may see
				// no login at all. Held here on the gateway->wallet cells
				// (where a clean clone's gate once found login "no data"):
				// under auth->sessions latency every visit waits on the
				// session store, and the race detector's slow load child on
				// a busy machine can start too few of them in this reduced
				// shape's 8-second baseline. The gate (make matrix, every
				// cell, the release binary) holds every cell: its expected
				// file refuses no data.
				if j.Grade == NoData && profile == mockstore.ProfileResilient && strings.HasPrefix(c.Name(), "gateway->wallet") {
					t.Errorf("%s %s: %s no data (%s); a cell's load must give every journey enough", profile, c.Name(), j.Journey, j.Reason)
				}
			}
			if c.Err != "" || len(c.Journeys) != len(Journeys()) {
				t.Errorf("%s %s: %d judgements, error %q", profile, c.Name(), len(c.Journeys), c.Err)
			}
		}
	}
	for _, f := range faults {
		res, _ := ms[mockstore.ProfileResilient].Cell("gateway->wallet", f)
		nai, _ := ms[mockstore.ProfileNaive].Cell("gateway->wallet", f)
		if g := res.Grade("wallet"); g != OK && g != Degraded {
			t.Errorf("resilient %s: wallet %s; want ok or degraded (breaker and balance cache)", res.Name(), g)
		}
		if g := nai.Grade("wallet"); g != Broken {
			t.Errorf("naive %s: wallet %s; want broken", nai.Name(), g)
		}
		for _, m := range ms {
			c, _ := m.Cell("auth->sessions", f)
			if g := c.Grade("browse"); g != Broken {
				t.Errorf("%s %s: browse %s; want broken (no session can be validated)", m.Profile, c.Name(), g)
			}
		}
	}
}
