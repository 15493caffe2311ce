package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/internal/journal"
	"github.com/gameday/gameday/internal/scenario"
)

func startEnv(tb testing.TB) *env.Inproc {
	tb.Helper()
	e, err := env.StartInproc(context.Background(), env.Options{Shoppers: 5})
	if e != nil {
		tb.Cleanup(func() {
			if err := e.Close(); err != nil {
				tb.Errorf("close environment: %v", err)
			}
		})
	}
	if err != nil {
		tb.Fatalf("start environment: %v", err)
	}
	return e
}

func parse(tb testing.TB, src string) *scenario.Scenario {
	tb.Helper()
	sc, err := scenario.Parse("test.yaml", []byte(src))
	if err != nil {
		tb.Fatalf("parse: %v", err)
	}
	return sc
}

// state is what the Toxiproxy API and the gateway say is in place.
type state struct {
	toxics  map[string]fault.Toxic // "proxy/name" -> toxic
	enabled map[string]bool
	maint   bool
}

func readState(tb testing.TB, info env.Info) state {
	tb.Helper()
	ps, err := fault.NewClient(info.Toxiproxy).Proxies(context.Background())
	if err != nil {
		tb.Fatalf("list proxies: %v", err)
	}
	st := state{toxics: map[string]fault.Toxic{}, enabled: map[string]bool{}}
	for _, p := range ps {
		st.enabled[p.Name] = p.Enabled
		for _, t := range p.Toxics {
			st.toxics[p.Name+"/"+t.Name] = t
		}
	}
	resp, err := http.Get(info.Gateway + "/api/v1/products")
	if err != nil {
		tb.Fatalf("get products: %v", err)
	}
	resp.Body.Close()
	st.maint = resp.StatusCode == http.StatusServiceUnavailable
	return st
}

const timeline = `
name: inject
load: {duration: 2s, rate: 1/s}
faults:
  - link: checkout->wallet
    toxic: latency
    latency: 100ms
    start: 100ms
    duration: 600ms
    steps:
      - {at: 300ms, latency: 250ms, toxicity: 0.5}
  - link: gateway->wallet
    toxic: down
    start: 200ms
    duration: 300ms
  - maintenance: {retry_after: 7, message: "Back soon"}
    start: 300ms
    duration: 300ms
checks:
  - invariant: money_conserved
`

func TestRunTimeline(t *testing.T) {
	e := startEnv(t)
	info := e.Info()
	in := NewInjector(info)
	t.Cleanup(func() {
		if err := in.Clear(); err != nil {
			t.Errorf("clear: %v", err)
		}
	})
	sc := parse(t, timeline)
	events := sc.Events()

	// After each event, the API must show exactly what the event did.
	var got []string
	rec := func(r journal.Fault) {
		if r.Err != "" {
			t.Errorf("event %s: %s", r.What, r.Err)
		}
		if r.Late() < 0 {
			t.Errorf("event %s carried out %v before its plan", r.What, -r.Late())
		}
		st := readState(t, info)
		lat, hasLat := st.toxics["checkout_wallet/gameday_f0"]
		desc := fmt.Sprintf("+%v %s f%d: latency=%v", r.Planned, r.Action, r.Fault, hasLat)
		if hasLat {
			desc += fmt.Sprintf("(%v,%.1f)", lat.Attributes["latency"], lat.Toxicity)
		}
		desc += fmt.Sprintf(" wallet_enabled=%v maint=%v", st.enabled["gateway_wallet"], st.maint)
		got = append(got, desc)
	}
	if err := in.RunTimeline(context.Background(), time.Now(), events, rec); err != nil {
		t.Fatalf("RunTimeline: %v", err)
	}
	want := []string{
		"+100ms apply f0: latency=true(100,1.0) wallet_enabled=true maint=false",
		"+200ms apply f1: latency=true(100,1.0) wallet_enabled=false maint=false",
		"+300ms apply f2: latency=true(100,1.0) wallet_enabled=false maint=true",
		"+400ms change f0: latency=true(250,0.5) wallet_enabled=false maint=true",
		"+500ms remove f1: latency=true(250,0.5) wallet_enabled=true maint=true",
		"+600ms remove f2: latency=true(250,0.5) wallet_enabled=true maint=false",
		"+700ms remove f0: latency=false wallet_enabled=true maint=false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := in.Active(); n != 0 {
		t.Errorf("Active() = %d after the timeline; want 0", n)
	}
}

func TestClearAfterCancel(t *testing.T) {
	e := startEnv(t)
	info := e.Info()
	in := NewInjector(info)
	sc := parse(t, timeline)
	ctx, cancel := context.WithCancel(context.Background())
	applied := 0
	rec := func(r journal.Fault) {
		if applied++; applied == 3 { // everything is in place: interrupt
			cancel()
		}
	}
	err := in.RunTimeline(ctx, time.Now(), sc.Events(), rec)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RunTimeline = %v; want context.Canceled", err)
	}
	if st := readState(t, info); len(st.toxics) != 1 || st.enabled["gateway_wallet"] || !st.maint {
		t.Fatalf("before Clear: %+v; want the three faults in place", st)
	}
	if err := in.Clear(); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	st := readState(t, info)
	if len(st.toxics) != 0 || st.maint {
		t.Errorf("after Clear: toxics %v, maintenance %v", st.toxics, st.maint)
	}
	for p, on := range st.enabled {
		if !on {
			t.Errorf("after Clear: proxy %s still disabled", p)
		}
	}
}

// dialURL connects to the host of an http URL.
func dialURL(u string) (net.Conn, error) {
	return net.DialTimeout("tcp", strings.TrimPrefix(u, "http://"), time.Second)
}
