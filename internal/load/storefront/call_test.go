package storefront

import (
	"net/http"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/load"
)

// products is the call browse makes first, for the tests of call.
func products(u *shopper, t *testing.T, o callOpts) answer {
	t.Helper()
	o.endpoint, o.journey = "products", JourneyBrowse
	a, err := u.call(ctxFor(t), http.MethodGet, "/api/v1/products", nil, o)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	return a
}

const productsRoute = "GET /api/v1/products"

// slack is how much later than asked a retry may come on a busy test
// machine (race detector, two cores).
const slack = 400 * time.Millisecond

// TestCallHonoursRetryAfter: a 503 or 429 is retried after its
// Retry-After (the header, else the envelope's retry_after_s), spread by a
// factor of 1 to 1.5 and never sooner; each busy answer is an error shown
// (shopper_error with its code and status class), and a 5xx without
// Retry-After is bare.
func TestCallHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		busy   http.HandlerFunc
		code   string
		status string
		bare   float64
	}{
		{"Retry-After header", reply(503, `{"error":{"code":"temporarily_unavailable","message":"later"}}`, "Retry-After", "0.2"),
			"temporarily_unavailable", "5xx", 0},
		{"retry_after_s without the header", reply(503, `{"error":{"code":"maintenance","retry_after_s":0.2}}`),
			"maintenance", "5xx", 2},
		{"429", reply(429, `{"error":{"code":"rate_limited"}}`, "Retry-After", "0.2"), "rate_limited", "4xx", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.on(productsRoute, sequence(tt.busy, tt.busy, reply(200, `[]`)))
			u, rec := loggedIn(t, f, quick())
			if a := products(u, t, callOpts{safe: true}); !a.ok {
				t.Fatalf("answer %d %s, want the third attempt's 200", a.status, a.code)
			}
			reqs := f.requests(productsRoute)
			if len(reqs) != 3 {
				t.Fatalf("%d attempts, want 3", len(reqs))
			}
			for i := 1; i < len(reqs); i++ {
				if gap := reqs[i].at.Sub(reqs[i-1].at); gap < 200*time.Millisecond || gap > 300*time.Millisecond+slack {
					t.Errorf("attempt %d came %v after the one before, want 200ms × (1..1.5)", i+1, gap)
				}
			}
			wantCount(t, rec, MetricShopperError, load.Tags{Endpoint: "products", Journey: JourneyBrowse, Code: tt.code, Status: tt.status}, 2)
			wantCount(t, rec, MetricBare5xx, load.Tags{Endpoint: "products", Journey: JourneyBrowse}, tt.bare)
			if n := rec.n(load.MetricReqs, load.Tags{Endpoint: "products", Journey: JourneyBrowse}); n != 3 {
				t.Errorf("%d requests recorded, want 3", n)
			}
		})
	}
}

// TestRetryWait: the wait before a retry is the Retry-After header when
// it is a number of seconds ≥ 0, else retry_after_s when > 0, else 1 s;
// capped at 10 s; half a second after no answer; all spread by 1..1.5.
func TestRetryWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		header string // "-" for none
		body   string
		least  time.Duration
	}{
		{"header", 503, "3", ``, 3 * time.Second},
		{"header over the cap", 503, "30", ``, 10 * time.Second},
		{"fractional header", 429, "0.25", ``, 250 * time.Millisecond},
		{"header 0", 503, "0", `{"error":{"code":"x","retry_after_s":5}}`, 0},
		{"empty header is 0", 503, "", `{"error":{"code":"x","retry_after_s":5}}`, 0},
		{"header that is a date", 503, "Wed, 21 Oct 2015 07:28:00 GMT", `{"error":{"code":"x","retry_after_s":2}}`, 2 * time.Second},
		{"negative header", 503, "-1", `{"error":{"code":"x","retry_after_s":2}}`, 2 * time.Second},
		{"body only", 503, "-", `{"error":{"code":"x","retry_after_s":4}}`, 4 * time.Second},
		{"body as a string", 503, "-", `{"error":{"code":"x","retry_after_s":"4"}}`, 4 * time.Second},
		{"body over the cap", 503, "-", `{"error":{"code":"x","retry_after_s":60}}`, 10 * time.Second},
		{"body 0", 503, "-", `{"error":{"code":"x","retry_after_s":0}}`, time.Second},
		{"neither", 503, "-", `not json`, time.Second},
		{"no answer", 0, "-", ``, 500 * time.Millisecond},
	}
	u, _ := loggedIn(t, newFake(t), quick())
	for _, tt := range tests {
		h := http.Header{}
		if tt.header != "-" {
			h["Retry-After"] = []string{tt.header}
		}
		a := answer{status: tt.status, header: h, body: []byte(tt.body), envelope: readEnvelope([]byte(tt.body))}
		for range 50 {
			if w := u.retryWait(a); w < tt.least || w > tt.least*3/2 {
				t.Errorf("%s: waits %v, want %v × (1..1.5)", tt.name, w, tt.least)
				break
			}
		}
	}
}

// TestCallAttempts: an answer that says to retry is tried at most four
// times (once for a partner's call); no answer is retried only for a call
// that may be repeated, after half a second; other errors are not retried.
// Every attempt's error is shown, code no_response when nothing came.
func TestCallAttempts(t *testing.T) {
	t.Parallel()
	busy := reply(503, `{"error":{"code":"temporarily_unavailable"}}`, "Retry-After", "0.01")
	tests := []struct {
		name     string
		answer   http.HandlerFunc
		opts     callOpts
		attempts int
		code     string
		status   string
		least    time.Duration // the least the call takes
	}{
		{"busy", busy, callOpts{safe: true}, maxAttempts, "temporarily_unavailable", "5xx", 30 * time.Millisecond},
		{"busy, unsafe", busy, callOpts{}, maxAttempts, "temporarily_unavailable", "5xx", 30 * time.Millisecond},
		{"busy, once", busy, callOpts{safe: true, once: true}, 1, "temporarily_unavailable", "5xx", 0},
		{"no answer", noAnswer, callOpts{safe: true}, maxAttempts, "no_response", "0", 3 * noAnswerWait},
		{"no answer, unsafe", noAnswer, callOpts{}, 1, "no_response", "0", 0},
		{"no answer, once", noAnswer, callOpts{safe: true, once: true}, 1, "no_response", "0", 0},
		{"500", reply(500, `{"error":{"code":"internal"}}`), callOpts{safe: true}, 1, "internal", "5xx", 0},
		{"400 without envelope", reply(400, `oops`), callOpts{safe: true}, 1, "http_400", "4xx", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.on(productsRoute, tt.answer)
			u, rec := loggedIn(t, f, quick())
			start := time.Now()
			a := products(u, t, tt.opts)
			if took := time.Since(start); took < tt.least {
				t.Errorf("the call took %v, less than the %v its retries must wait", took, tt.least)
			}
			if a.ok || a.code != tt.code {
				t.Errorf("answer ok=%v code %q, want an error %q", a.ok, a.code, tt.code)
			}
			if n := rec.n(load.MetricReqs, load.Tags{Endpoint: "products"}); n != tt.attempts {
				t.Errorf("%d attempts, want %d", n, tt.attempts)
			}
			wantCount(t, rec, MetricShopperError, load.Tags{Endpoint: "products", Journey: JourneyBrowse, Code: tt.code, Status: tt.status}, float64(tt.attempts))
		})
	}
}

// TestBare5xx: a 5xx without an error code, or without Retry-After, is
// counted bare; one with both is not, nor is a 4xx.
func TestBare5xx(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer http.HandlerFunc
		bare   float64
	}{
		{"code and Retry-After", reply(503, `{"error":{"code":"temporarily_unavailable"}}`, "Retry-After", "1"), 0},
		{"code without Retry-After", reply(500, `{"error":{"code":"internal"}}`), 1},
		{"Retry-After without code", reply(503, `{"error":{"message":"busy"}}`, "Retry-After", "1"), 1},
		{"no body", reply(502, ``), 1},
		{"4xx", reply(404, `{"error":{"code":"not_found"}}`), 0},
	}
	for _, tt := range tests {
		f := newFake(t)
		f.on(productsRoute, tt.answer)
		u, rec := loggedIn(t, f, quick())
		products(u, t, callOpts{once: true})
		if got := rec.sum(MetricBare5xx, load.Tags{Endpoint: "products", Journey: JourneyBrowse}); got != tt.bare {
			t.Errorf("%s: bare_5xx %v, want %v", tt.name, got, tt.bare)
		}
	}
}

// TestForcedLogout: a 401 for a session the shopper holds is a forced
// logout: counted, the token forgotten, the shopper logs in again once and
// the call is made again. A 401 for a call without a session (a wrong
// code at login) is none.
func TestForcedLogout(t *testing.T) {
	t.Parallel()
	unauthenticated := reply(401, `{"error":{"code":"unauthenticated","message":"sign in"}}`)
	t.Run("session refused", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		f.on("GET /api/v1/me", sequence(unauthenticated, reply(200, `{"user_id":"`+fakeUser+`"}`)))
		u, rec := loggedIn(t, f, quick())
		u.token = "old-token"
		if err := u.browse(ctxFor(t)); err != nil {
			t.Fatalf("browse: %v", err)
		}
		wantCount(t, rec, MetricForcedLogout, load.Tags{Endpoint: "me", Journey: JourneyBrowse}, 1)
		wantCount(t, rec, MetricShopperError, load.Tags{Endpoint: "me", Code: "unauthenticated", Status: "4xx"}, 1)
		wantJourneys(t, rec, "login=true", "browse=true")
		me := f.requests("GET /api/v1/me")
		if len(me) != 2 || me[0].header.Get("Authorization") != "Bearer old-token" || me[1].header.Get("Authorization") != "Bearer "+fakeToken {
			t.Fatalf("/me was asked %d times, want with the old token then the new one", len(me))
		}
	})
	t.Run("login again fails", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		f.on("GET /api/v1/me", unauthenticated)
		f.on("POST /api/v1/login", reply(400, `{"error":{"code":"invalid_request"}}`))
		u, rec := loggedIn(t, f, quick())
		if err := u.browse(ctxFor(t)); err != errStop {
			t.Fatalf("browse: %v, want the visit stopped", err)
		}
		wantCount(t, rec, MetricForcedLogout, load.Tags{}, 1)
		// The browse journey is not recorded: the login's failure is.
		wantJourneys(t, rec, "login=false")
		if u.token != "" {
			t.Fatal("the shopper still holds the refused token")
		}
	})
	t.Run("anonymous call", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		f.on("POST /api/v1/login/verify", reply(401, `{"error":{"code":"invalid_code"}}`))
		u, rec := loggedIn(t, f, quick())
		a, err := u.call(ctxFor(t), http.MethodPost, "/api/v1/login/verify", map[string]string{"login_id": "L1", "code": "000000"},
			callOpts{endpoint: "login_verify", journey: JourneyLogin, anonymous: true, safe: true})
		if err != nil || a.status != 401 {
			t.Fatalf("verify: %d, %v; want 401", a.status, err)
		}
		wantCount(t, rec, MetricForcedLogout, load.Tags{}, 0)
		wantCount(t, rec, MetricShopperError, load.Tags{Endpoint: "login_verify", Code: "invalid_code"}, 1)
		if u.token != fakeToken {
			t.Error("a 401 for a call without the session made the shopper forget it")
		}
		if v := f.requests("POST /api/v1/login/verify"); len(v) != 1 || v[0].header.Get("Authorization") != "" {
			t.Fatalf("verify: %d requests, want one without the session", len(v))
		}
	})
}
