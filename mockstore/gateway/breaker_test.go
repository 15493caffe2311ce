package gateway

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2023, 2, 6, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestBreaker drives the breaker's state machine through scripts of steps:
//
//	ok, fail        one call admitted and finished with that outcome
//	refuse <d>      a call refused, with that wait until the probe
//	hold            a call admitted and kept in flight
//	held ok|fail|ignore   the held call finishes
//	wait <d>        the clock moves
//	state <s>       the breaker's state
//	openings <n>    how many times it opened
func TestBreaker(t *testing.T) {
	cfg := breakerConfig{Threshold: 5, MinCalls: 10, Ratio: 0.5, Window: 5 * time.Second, OpenFor: 5 * time.Second}
	tests := []struct {
		name  string
		steps string
	}{
		{"consecutive failures open it", `
			fail; fail; fail; fail; state closed
			fail; state open; openings 1
			refuse 5s; wait 2s; refuse 3s`},
		{"a success resets the run of failures", `
			fail; fail; fail; fail; ok
			fail; fail; fail; fail; state closed; openings 0`},
		{"half the calls failing opens it", `
			ok; fail; ok; fail; ok; fail; ok; fail; ok; state closed
			fail; state open; openings 1`},
		{"the ratio needs enough calls", `
			ok; fail; ok; fail; ok; fail; ok; fail; state closed`},
		{"old calls slide out of the window", `
			ok; fail; ok; fail; ok; fail; ok; fail; ok
			wait 6s
			fail; ok; fail; state closed`},
		{"a probe's success closes it", `
			fail; fail; fail; fail; fail; state open
			wait 5s; state half_open
			hold; refuse 1s; refuse 1s
			held ok; state closed
			ok; ok; state closed; openings 1`},
		{"a probe's failure opens it again", `
			fail; fail; fail; fail; fail
			wait 5s; hold; held fail
			state open; openings 2; refuse 5s
			wait 5s; ok; state closed`},
		{"an ignored probe lets the next caller probe", `
			fail; fail; fail; fail; fail
			wait 5s; hold; held ignore; state half_open
			hold; refuse 1s; held ok; state closed`},
		{"results from before an opening are ignored", `
			hold
			fail; fail; fail; fail; fail; state open
			held ok; state open
			wait 5s; hold; refuse 1s; held fail; state open; openings 2`},
		{"a stale call cannot count towards the next run", `
			hold
			fail; fail; fail; fail; fail
			wait 5s; ok; state closed
			held fail; fail; fail; fail; fail; state closed
			fail; state open`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			b := newBreaker(cfg, clock.Now, nil)
			var held *ticket
			for _, line := range strings.Split(tt.steps, "\n") {
				for _, step := range strings.Split(line, ";") {
					step = strings.TrimSpace(step)
					if step == "" {
						continue
					}
					verb, arg, _ := strings.Cut(step, " ")
					switch verb {
					case "ok", "fail":
						tk, wait, ok := b.allow()
						if !ok {
							t.Fatalf("%q: refused (wait %v), want admitted", step, wait)
						}
						o := outcomeSuccess
						if verb == "fail" {
							o = outcomeFailure
						}
						b.done(tk, o)
					case "refuse":
						want, err := time.ParseDuration(arg)
						if err != nil {
							t.Fatalf("bad step %q: %v", step, err)
						}
						_, wait, ok := b.allow()
						if ok || wait != want {
							t.Fatalf("%q: admitted=%v wait=%v, want refused with wait %v", step, ok, wait, want)
						}
					case "hold":
						tk, wait, ok := b.allow()
						if !ok {
							t.Fatalf("%q: refused (wait %v)", step, wait)
						}
						held = &tk
					case "held":
						if held == nil {
							t.Fatalf("%q: nothing held", step)
						}
						o := map[string]outcome{"ok": outcomeSuccess, "fail": outcomeFailure, "ignore": outcomeIgnore}[arg]
						b.done(*held, o)
						held = nil
					case "wait":
						d, err := time.ParseDuration(arg)
						if err != nil {
							t.Fatalf("bad step %q: %v", step, err)
						}
						clock.Advance(d)
					case "state":
						if got := b.State(); got != arg {
							t.Fatalf("%q: state %s", step, got)
						}
					case "openings":
						if got := b.Openings(); got != atoi(t, arg) {
							t.Fatalf("%q: openings %d", step, got)
						}
					default:
						t.Fatalf("bad step %q", step)
					}
				}
			}
		})
	}
}

func atoi(tb testing.TB, s string) int {
	tb.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			tb.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func TestBudget(t *testing.T) {
	tests := []struct {
		name        string
		calls       int
		wait        time.Duration // after the calls, before the retries
		wantRetries int
	}{
		{"no calls, no retry", 0, 0, 0},
		{"fewer than ten calls, no retry", 9, 0, 0},
		{"ten calls, one retry", 10, 0, 1},
		{"twenty-five calls, two retries", 25, 0, 2},
		{"calls out of the window count no more", 30, 11 * time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			b := newBudget(0.1, 10*time.Second, clock.Now)
			for range tt.calls {
				b.call()
			}
			clock.Advance(tt.wait)
			got := 0
			for range 100 {
				if !b.retry() {
					break
				}
				got++
			}
			if got != tt.wantRetries {
				t.Fatalf("retries allowed = %d, want %d", got, tt.wantRetries)
			}
		})
	}
}

func TestValidTokens(t *testing.T) {
	now := time.Date(2023, 2, 6, 12, 0, 0, 0, time.UTC)
	v := newValidTokens(3)
	v.remember("a", "u1", now.Add(time.Minute))
	v.remember("b", "u2", time.Time{})
	if v.rejected("zzz", now) {
		t.Fatal("unknown token counted as forced logout")
	}
	if v.rejected("a", now.Add(2*time.Minute)) {
		t.Fatal("expired token counted as forced logout")
	}
	if !v.rejected("b", now) {
		t.Fatal("valid token's rejection not counted")
	}
	if v.rejected("b", now) {
		t.Fatal("one forced logout counted twice")
	}
	v.remember("c", "u3", time.Time{})
	v.forget("c")
	if v.rejected("c", now) {
		t.Fatal("logged-out token counted as forced logout")
	}
	// The set is bounded: the oldest entries are forgotten.
	for _, tok := range []string{"d", "e", "f", "g"} {
		v.remember(tok, "u", time.Time{})
	}
	if _, ok := v.userOf("d"); ok {
		t.Fatal("oldest token still remembered past the bound")
	}
	if u, ok := v.userOf("g"); !ok || u != "u" {
		t.Fatalf("newest token: %q %v", u, ok)
	}
	if len(v.m) > 3 {
		t.Fatalf("set holds %d entries, bound 3", len(v.m))
	}
}
