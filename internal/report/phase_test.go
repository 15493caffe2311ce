package report

import (
	"fmt"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/scenario"
)

func parse(tb testing.TB, src string) *scenario.Scenario {
	tb.Helper()
	sc, err := scenario.Parse("test.yaml", []byte(src))
	if err != nil {
		tb.Fatalf("parse: %v", err)
	}
	return sc
}

func TestPhases(t *testing.T) {
	sc := parse(t, `
name: phases
load: {duration: 10s}
faults:
  - {link: checkout->wallet, toxic: latency, latency: 1s, start: 2s, duration: 2s}
  - {link: gateway->wallet, toxic: down, start: 3s, duration: 2s}
  - {link: gateway->auth, toxic: reset_peer, start: 7s, duration: 1s}
checks:
  - invariant: money_conserved
`)
	p := NewPhases(sc.Intervals())
	tests := []struct {
		at   time.Duration
		want string
	}{
		{0, "baseline/0"},
		{1999 * time.Millisecond, "baseline/0"},
		{2 * time.Second, "fault/1"},
		{3 * time.Second, "fault/2"},
		{4 * time.Second, "fault/1"},
		{5 * time.Second, "between/0"},
		{7500 * time.Millisecond, "fault/1"},
		{8 * time.Second, "recovery/0"},
		{10 * time.Second, "recovery/0"},
	}
	for _, tt := range tests {
		phase, n := p.At(tt.at)
		if got := fmt.Sprintf("%s/%d", phase, n); got != tt.want {
			t.Errorf("At(%v) = %s; want %s", tt.at, got, tt.want)
		}
	}
	none := NewPhases(parse(t, "name: calm\nload: {duration: 5s}\nchecks:\n  - invariant: money_conserved\n").Intervals())
	if phase, n := none.At(time.Second); phase != PhaseRun || n != 0 {
		t.Errorf("no faults: At = %s/%d; want run/0", phase, n)
	}
}
