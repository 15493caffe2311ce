package storefront

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/load"
)

// fakePartner returns partner i of the fake's data (0 the merchant of
// r01, 1 the driver), holding a session.
func fakePartner(tb testing.TB, f *fake, i int) (*partner, *recorder) {
	tb.Helper()
	return fakePartnerOf(tb, f, i, 100+i)
}

// fakePartnerOf is fakePartner played by VU vuID.
func fakePartnerOf(tb testing.TB, f *fake, i, vuID int) (*partner, *recorder) {
	tb.Helper()
	s := quick()
	s.Food = 1
	rec := newRecorder()
	p := fakeScript(tb, f, s).NewPartner(newVU(tb, vuID, rec), i).(*partner)
	p.token, p.userID = fakeToken, p.wantUser
	return p, rec
}

// ids returns the order IDs of the requests to route, in order.
func ids(f *fake, route string) []string {
	var out []string
	for _, rq := range f.requests(route) {
		out = append(out, path.Base(path.Dir(rq.path)))
	}
	return out
}

const (
	queueRoute  = "GET /api/v1/food/restaurants/{id}/orders"
	acceptRoute = "POST /api/v1/food/orders/{id}/accept"
	offersRoute = "GET /api/v1/food/offers"
	takeRoute   = "POST /api/v1/food/orders/{id}/take"
)

// TestMerchantRound: a merchant accepts the restaurant's placed orders,
// oldest first, in one attempt each; the round succeeds when the queue
// was read and every accept answered. A failure of the storefront ends
// the round, and a 503 or 429 makes the next round wait its Retry-After
// (capped at 10 s); a refusal does not end it.
func TestMerchantRound(t *testing.T) {
	t.Parallel()
	queue := `[{"order_id":"o3","status":"placed","created_at":"2026-01-01T00:00:03Z"},` +
		`{"order_id":"o1","status":"placed","created_at":"2026-01-01T00:00:01Z"},` +
		`{"order_id":"o2","status":"accepted","created_at":"2026-01-01T00:00:02Z"},` +
		`{"status":"placed","created_at":"2026-01-01T00:00:00Z"},` +
		`{"order_id":"o4","created_at":"2026-01-01T00:00:04Z"}]`
	busy := func(s string) http.HandlerFunc {
		return reply(503, `{"error":{"code":"temporarily_unavailable"}}`, "Retry-After", s)
	}
	tests := []struct {
		name     string
		queue    http.HandlerFunc
		accept   http.HandlerFunc
		ok       bool
		accepted []string // the accepts asked
		pause    time.Duration
	}{
		{"all accepted", reply(200, queue), reply(200, `{}`), true, []string{"o1", "o3", "o4"}, 0},
		{"accept busy", reply(200, queue), busy("2"), false, []string{"o1"}, 2 * time.Second},
		{"accept refused", reply(200, queue), reply(403, `{"error":{"code":"forbidden"}}`), false, []string{"o1", "o3", "o4"}, 0},
		{"accept unanswered", reply(200, queue), noAnswer, false, []string{"o1"}, 0},
		{"queue busy", busy("30"), reply(200, `{}`), false, nil, maxRetryAfter},
		{"queue rate limited", reply(429, `{"error":{"code":"rate_limited"}}`, "Retry-After", "3"), reply(200, `{}`), false, nil, 3 * time.Second},
		{"queue not a list", reply(200, `{}`), reply(200, `{}`), false, nil, 0},
	}
	for _, tt := range tests {
		f := newFake(t)
		f.on(queueRoute, tt.queue)
		f.on(acceptRoute, tt.accept)
		p, rec := fakePartner(t, f, 0)
		ok, err := p.merchantRound(ctxFor(t))
		if err != nil || ok != tt.ok {
			t.Errorf("%s: round %v, %v; want %v", tt.name, ok, err, tt.ok)
		}
		if got := ids(f, acceptRoute); !slices.Equal(got, tt.accepted) {
			t.Errorf("%s: accepted %v, want %v", tt.name, got, tt.accepted)
		}
		if len(f.requests(queueRoute)) != 1 {
			t.Errorf("%s: the queue was read %d times, want once", tt.name, len(f.requests(queueRoute)))
		}
		if q := f.requests(queueRoute); len(q) == 1 && q[0].path != "/api/v1/food/restaurants/r01/orders" {
			t.Errorf("%s: read the queue at %s, want r01's", tt.name, q[0].path)
		}
		if p.pause != tt.pause {
			t.Errorf("%s: the next round waits %v, want %v", tt.name, p.pause, tt.pause)
		}
		if rec.n(load.MetricReqs, load.Tags{Journey: JourneyMerchant}) != len(tt.accepted)+1 {
			t.Errorf("%s: requests %d, want one attempt each", tt.name, rec.n(load.MetricReqs, load.Tags{Journey: JourneyMerchant}))
		}
	}
}

// TestDriverRound: a driver takes up to four offers without a driver,
// starting at a random one of the four oldest; an order another driver
// took (409) is passed over, is no error and does not fail the round.
func TestDriverRound(t *testing.T) {
	t.Parallel()
	var offers []string
	for i := range 7 {
		driver := ""
		if i == 2 {
			driver = `,"driver_id":"d9"`
		}
		offers = append(offers, fmt.Sprintf(`{"order_id":"o%d","status":"accepted","created_at":"2026-01-01T00:00:0%dZ"%s}`, i, i, driver))
	}
	slices.Reverse(offers)
	list := "[" + strings.Join(offers, ",") + "]"
	conflict := reply(409, `{"error":{"code":"conflict"}}`)
	t.Run("batch", func(t *testing.T) {
		t.Parallel()
		starts := map[string]bool{}
		for vu := range 12 {
			f := newFake(t)
			f.on(offersRoute, reply(200, list))
			f.on(takeRoute, sequence(conflict, reply(200, `{}`)))
			p, rec := fakePartnerOf(t, f, 1, 200+vu)
			ok, err := p.driverRound(ctxFor(t))
			if !ok || err != nil {
				t.Fatalf("round %v, %v; want ok", ok, err)
			}
			taken := ids(f, takeRoute)
			if len(taken) != driverBatch+1 {
				t.Fatalf("asked to take %v, want the first lost to another driver and %d more", taken, driverBatch)
			}
			// Oldest first without o2 (it has a driver): o0 o1 o3 o4 o5 o6,
			// from one of the first four, wrapping around.
			free := []string{"o0", "o1", "o3", "o4", "o5", "o6"}
			from := slices.Index(free, taken[0])
			if from < 0 || from >= driverBatch {
				t.Fatalf("started at %s, want one of the four oldest", taken[0])
			}
			for i, id := range taken {
				if id != free[(from+i)%len(free)] {
					t.Fatalf("took %v, want in age order from %s", taken, taken[0])
				}
			}
			starts[taken[0]] = true
			wantCount(t, rec, MetricShopperError, load.Tags{}, 0)
		}
		if len(starts) < 2 {
			t.Errorf("every round started at the same offer %v: drivers would race for it", starts)
		}
	})
	for _, tt := range []struct {
		name  string
		take  http.HandlerFunc
		ok    bool
		n     int
		pause time.Duration
	}{
		{"take busy", reply(503, `{"error":{"code":"temporarily_unavailable"}}`, "Retry-After", "1"), false, 1, time.Second},
		{"take refused", reply(403, `{"error":{"code":"forbidden"}}`), false, 1, 0},
		{"all taken by others", conflict, true, 6, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.on(offersRoute, reply(200, list))
			f.on(takeRoute, tt.take)
			p, _ := fakePartner(t, f, 1)
			ok, err := p.driverRound(ctxFor(t))
			if ok != tt.ok || err != nil {
				t.Errorf("round %v, %v; want %v", ok, err, tt.ok)
			}
			if n := len(f.requests(takeRoute)); n != tt.n {
				t.Errorf("%d takes asked, want %d", n, tt.n)
			}
			if p.pause != tt.pause {
				t.Errorf("the next round waits %v, want %v", p.pause, tt.pause)
			}
		})
	}
}

// TestPartnerWork: a partner logs in once and polls until its context
// ends, one journey sample per round, at least 0.3 s apart or the
// Retry-After of the last answer; a refused session is logged in again.
func TestPartnerWork(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.on(queueRoute, sequence(reply(200, `[]`), reply(503, `{"error":{"code":"temporarily_unavailable"}}`, "Retry-After", "1"),
		reply(401, `{"error":{"code":"unauthenticated"}}`), reply(200, `[]`)))
	p, rec := fakePartner(t, f, 0)
	p.token = ""
	ctx, cancel := context.WithCancel(ctxFor(t))
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Work(ctx)
	}()
	rec.waitFor(t, "three rounds", func() bool { n, _ := rec.journey(JourneyMerchant); return n >= 3 })
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Work did not return after its context ended")
	}
	rounds := rec.find(MetricJourneySuccess, load.Tags{Journey: JourneyMerchant})
	if got := rec.journeys()[:5]; !slices.Equal(got, []string{"login=true", "merchant=true", "merchant=false", "login=true", "merchant=true"}) {
		t.Fatalf("journeys %v, want a login, a round, a failed one, a login again and a round", got)
	}
	if gap := rounds[1].at.Sub(rounds[0].at); gap < roundPause || gap > roundPause+roundPauseSpread+slack {
		t.Errorf("rounds %v apart, want 0.3–0.5 s", gap)
	}
	if gap := rounds[2].at.Sub(rounds[1].at); gap < time.Second {
		t.Errorf("the round after a Retry-After of 1 s came %v later", gap)
	}
	wantCount(t, rec, MetricForcedLogout, load.Tags{Endpoint: "merchant_queue", Journey: JourneyMerchant}, 1)
}

// TestPartnerBackoff: a partner whose login fails tries again after a
// pause that doubles from 1 s (up to 10 s), spread by 1..1.5.
func TestPartnerBackoff(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.on(loginRoute, reply(400, `{"error":{"code":"invalid_request"}}`))
	p, rec := fakePartner(t, f, 1)
	p.token = ""
	ctx, cancel := context.WithCancel(ctxFor(t))
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Work(ctx)
	}()
	rec.waitFor(t, "three logins", func() bool { n, _ := rec.journey(JourneyLogin); return n >= 3 })
	cancel()
	<-done
	starts := f.requests(loginRoute)
	for i, least := range []time.Duration{time.Second, 2 * time.Second} {
		if gap := starts[i+1].at.Sub(starts[i].at); gap < least || gap > least*3/2+slack {
			t.Errorf("login %d came %v after the one before, want %v × (1..1.5)", i+2, gap, least)
		}
	}
	if n := len(f.requests(offersRoute)); n != 0 {
		t.Errorf("%d rounds without a session", n)
	}
	var grown []time.Duration
	for d := time.Duration(0); len(grown) < 6; {
		d = nextBackoff(d)
		grown = append(grown, d)
	}
	if want := []time.Duration{1e9, 2e9, 4e9, 8e9, 10e9, 10e9}; !slices.Equal(grown, want) {
		t.Errorf("the pauses grow %v, want %v", grown, want)
	}
}
