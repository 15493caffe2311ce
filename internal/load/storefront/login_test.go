package storefront

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/load"
)

const (
	loginRoute  = "POST /api/v1/login"
	verifyRoute = "POST /api/v1/login/verify"
	resendRoute = "POST /api/v1/login/resend"
	inboxRoute  = "GET /inbox/{phone}"
)

// TestLogin: the login by OTP against canned answers — a fresh login once
// when the code expired, the WhatsApp link's code, a verify answer about
// another user, and giving up when no code comes within its lifetime.
func TestLogin(t *testing.T) {
	t.Parallel()
	expired := reply(410, `{"error":{"code":"code_expired"}}`)
	verified := reply(200, `{"token":"`+fakeToken+`","user_id":"`+fakeUser+`"}`)
	tests := []struct {
		name     string
		whatsapp float64
		routes   map[string]http.HandlerFunc
		ok       bool
		starts   int
		code     string // the code verified last
		channel  string // asked for at login start
		cross    float64
	}{
		{name: "by SMS", ok: true, starts: 1, code: "123456", channel: "sms"},
		{name: "code expired once", routes: map[string]http.HandlerFunc{verifyRoute: sequence(expired, verified)},
			ok: true, starts: 2, code: "123456", channel: "sms"},
		{name: "code expired twice", routes: map[string]http.HandlerFunc{verifyRoute: expired}, starts: 2, code: "123456", channel: "sms"},
		{name: "wrong code", routes: map[string]http.HandlerFunc{verifyRoute: reply(401, `{"error":{"code":"invalid_code"}}`)},
			starts: 1, code: "123456", channel: "sms"},
		{name: "by the WhatsApp link", whatsapp: 1, routes: map[string]http.HandlerFunc{inboxRoute: reply(200,
			`[{"channel":"whatsapp","code":"111111","login_id":"L1","link":"/login/verify?login_id=L1&code=654321"}]`)},
			ok: true, starts: 1, code: "654321", channel: "whatsapp"},
		{name: "another user", routes: map[string]http.HandlerFunc{verifyRoute: reply(200, `{"token":"t","user_id":"u2"}`)},
			ok: true, starts: 1, code: "123456", channel: "sms", cross: 1},
		{name: "only another login's code", routes: map[string]http.HandlerFunc{
			loginRoute: reply(202, `{"login_id":"L1","expires_in_s":1,"resend_after_s":30}`),
			inboxRoute: reply(200, `[{"channel":"sms","code":"123456","login_id":"L0"}]`)},
			starts: 1, channel: "sms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			for route, h := range tt.routes {
				f.on(route, h)
			}
			s := quick()
			s.WhatsApp = tt.whatsapp
			rec := newRecorder()
			u := fakeShopper(t, f, s, rec)
			err := u.login(ctxFor(t))
			if (err == nil) != tt.ok {
				t.Fatalf("login: %v, want ok %v", err, tt.ok)
			}
			wantJourneys(t, rec, "login="+map[bool]string{true: "true", false: "false"}[tt.ok])
			starts := f.requests(loginRoute)
			if len(starts) != tt.starts {
				t.Fatalf("%d login starts, want %d", len(starts), tt.starts)
			}
			if ch := starts[0].decode(t)["channel"]; ch != tt.channel {
				t.Errorf("asked for the code by %v, want %s", ch, tt.channel)
			}
			if v := f.requests(verifyRoute); tt.code != "" && (len(v) == 0 || v[len(v)-1].decode(t)["code"] != tt.code) {
				t.Errorf("verified %d times, the last not with code %s", len(v), tt.code)
			}
			wantCount(t, rec, MetricCrossUserData, load.Tags{Endpoint: "login_verify", Journey: JourneyLogin}, tt.cross)
			if got, want := rec.n(MetricOTPWait, load.Tags{Journey: JourneyLogin}), len(f.requests(verifyRoute)); got != want {
				t.Errorf("otp_wait has %d samples, want one per code read (%d)", got, want)
			}
			if tt.ok != (u.token != "") {
				t.Errorf("token %q after a login ok=%v", u.token, tt.ok)
			}
		})
	}
}

// TestLoginGivesUp: with no code in the inbox the login fails once the
// code's lifetime (expires_in_s, at most 60 s) is over.
func TestLoginGivesUp(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.on(loginRoute, reply(202, `{"login_id":"L1","expires_in_s":1,"resend_after_s":30}`))
	f.on(inboxRoute, reply(200, `[]`))
	rec := newRecorder()
	u := fakeShopper(t, f, quick(), rec)
	start := time.Now()
	if err := u.login(ctxFor(t)); err != errStop {
		t.Fatalf("login: %v, want it failed", err)
	}
	if took := time.Since(start); took < time.Second || took > time.Second+otpLongestPoll+slack {
		t.Errorf("gave up after %v, want 1 s (the code's lifetime) and one poll at most", took)
	}
	wantJourneys(t, rec, "login=false")
	if len(f.requests(verifyRoute)) != 0 || rec.n(MetricOTPWait, load.Tags{}) != 0 {
		t.Error("a code was verified or waited for, though none came")
	}
	if n := rec.n(load.MetricReqs, load.Tags{Endpoint: "inbox", Journey: JourneyLogin}); n < 5 {
		t.Errorf("the inbox was read %d times in a second, want it polled from 50 ms growing by half", n)
	}
}

// TestLoginResends: a code that is late (past resend_after_s, at least
// 1 s) is asked for again, by SMS then by WhatsApp; a resend refused for
// its cooldown is asked again on the same channel after its Retry-After.
// otp_wait runs from the login start until the code is in the inbox.
func TestLoginResends(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.on(loginRoute, reply(202, `{"login_id":"L1","expires_in_s":300,"resend_after_s":1}`))
	cooldown := reply(429, `{"error":{"code":"resend_cooldown"}}`, "Retry-After", "0.05")
	f.on(resendRoute, sequence(cooldown, cooldown, cooldown, cooldown, reply(202, `{"login_id":"L1","resend_after_s":1}`)))
	message := reply(200, `[{"channel":"whatsapp","code":"222222","login_id":"L1","link":"/login/verify?login_id=L1&code=222222"}]`)
	f.on(inboxRoute, func(w http.ResponseWriter, r *http.Request) {
		for _, rq := range f.requests(resendRoute) {
			if rq.decode(t)["channel"] == "whatsapp" {
				message(w, r)
				return
			}
		}
		reply(200, `[]`)(w, r)
	})
	rec := newRecorder()
	u := fakeShopper(t, f, quick(), rec)
	start := time.Now()
	if err := u.login(ctxFor(t)); err != nil {
		t.Fatalf("login: %v; recorded:\n%s", err, rec)
	}
	var channels []string
	var at []time.Duration
	for _, rq := range f.requests(resendRoute) {
		channels = append(channels, rq.decode(t)["channel"].(string))
		at = append(at, rq.at.Sub(start))
	}
	if want := []string{"sms", "sms", "sms", "sms", "sms", "whatsapp"}; !slices.Equal(channels, want) {
		t.Fatalf("resends on %v, want %v (four refused for their cooldown, asked again)", channels, want)
	}
	if at[0] < time.Second {
		t.Errorf("first resend %v after the start, before resend_after_s", at[0])
	}
	if gap := at[5] - at[4]; gap < time.Second {
		t.Errorf("the WhatsApp resend came %v after the SMS one, before its resend_after_s", gap)
	}
	wantCount(t, rec, MetricShopperError, load.Tags{Endpoint: "login_resend", Journey: JourneyLogin, Code: "resend_cooldown", Status: "4xx"}, 4)
	waits := rec.find(MetricOTPWait, load.Tags{Journey: JourneyLogin})
	if len(waits) != 1 || time.Duration(waits[0].v*float64(time.Millisecond)) < at[5] {
		t.Errorf("otp_wait %v, want one sample of at least %v (the code came after the WhatsApp resend)", waits, at[5])
	}
	if v := f.requests(verifyRoute); len(v) != 1 || v[0].decode(t)["code"] != "222222" {
		t.Errorf("verify: %d requests, want one with the WhatsApp code", len(v))
	}
}

// TestLoginOTPRules: a late share's code is entered its lifetime and
// OTPLateMargin after the login start's answer, then (refused) a fresh
// login's at once; a reuse share's accepted code is entered again without
// the shopper's cookies. Each entry is counted with its answer, and as
// accepted when it was — as a storefront breaking the rule would answer.
func TestLoginOTPRules(t *testing.T) {
	t.Parallel()
	expired := reply(410, `{"error":{"code":"code_expired","message":"code expired"}}`)
	verified := reply(200, `{"token":"`+fakeToken+`","user_id":"`+fakeUser+`"}`, "Set-Cookie", "session="+fakeToken+"; Path=/")
	tests := []struct {
		name        string
		late, reuse float64
		verify      http.HandlerFunc
		starts      int
		lateIn      load.Tags // the tags of the late entry counted; zero for none
		lateOK      float64
		reuseIn     load.Tags
		reuseOK     float64
	}{
		{name: "neither", verify: verified, starts: 1},
		{name: "late, refused", late: 1, verify: sequence(expired, verified), starts: 2,
			lateIn: load.Tags{Status: "4xx", Code: "code_expired"}},
		{name: "late, accepted", late: 1, verify: verified, starts: 1,
			lateIn: load.Tags{Status: "2xx"}, lateOK: 1},
		{name: "reused, refused", reuse: 1, verify: sequence(verified, expired), starts: 1,
			reuseIn: load.Tags{Status: "4xx", Code: "code_expired"}},
		{name: "reused, accepted", reuse: 1, verify: verified, starts: 1,
			reuseIn: load.Tags{Status: "2xx"}, reuseOK: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.on(loginRoute, reply(202, `{"login_id":"L1","expires_in_s":1,"resend_after_s":30}`))
			f.on(verifyRoute, tt.verify)
			s := quick()
			s.OTPLate, s.OTPReuse = tt.late, tt.reuse
			rec := newRecorder()
			u := fakeShopper(t, f, s, rec)
			if err := u.login(ctxFor(t)); err != nil {
				t.Fatalf("login: %v", err)
			}
			starts, verifies := f.requests(loginRoute), f.requests(verifyRoute)
			if len(starts) != tt.starts {
				t.Fatalf("%d login starts, want %d", len(starts), tt.starts)
			}
			wantVerifies := tt.starts
			if tt.reuse > 0 {
				wantVerifies++
			}
			if len(verifies) != wantVerifies {
				t.Fatalf("%d verifies, want %d", len(verifies), wantVerifies)
			}
			if tt.late > 0 {
				// The fake answers a login start at once: its request's
				// time is the answer's, within the slack.
				if waited := verifies[0].at.Sub(starts[0].at); waited < time.Second+OTPLateMargin-slack {
					t.Errorf("the late code was entered %v after the login start, want its lifetime (1s) + %v", waited, OTPLateMargin)
				}
				if len(verifies) > 1 && verifies[1].at.Sub(starts[1].at) > time.Second {
					t.Errorf("the fresh login's code was entered late too")
				}
			}
			if tt.reuse > 0 {
				again := verifies[len(verifies)-1]
				if again.header.Get("Cookie") != "" || again.header.Get("Authorization") != "" {
					t.Errorf("the code entered again carried the shopper's credentials: %v", again.header)
				}
				if again.decode(t)["code"] != verifies[0].decode(t)["code"] {
					t.Errorf("the code entered again is not the code accepted")
				}
				if n := rec.sum(MetricShopperError, load.Tags{Code: "code_expired"}); n != 0 {
					t.Errorf("a refused reuse was counted as %v errors shown to the shopper", n)
				}
			}
			at := func(tags load.Tags) load.Tags {
				tags.Endpoint, tags.Journey = "login_verify", JourneyLogin
				return tags
			}
			for _, c := range []struct {
				entered, accepted string
				in                load.Tags
				ok                float64
			}{{MetricOTPLateEntered, MetricOTPLateAccepted, tt.lateIn, tt.lateOK}, {MetricOTPReuseEntered, MetricOTPReuseAccepted, tt.reuseIn, tt.reuseOK}} {
				want := 0.0
				if c.in != (load.Tags{}) {
					want = 1
					wantCount(t, rec, c.entered, at(c.in), 1)
				}
				wantCount(t, rec, c.entered, load.Tags{}, want)
				wantCount(t, rec, c.accepted, load.Tags{}, c.ok)
				if c.ok > 0 {
					wantCount(t, rec, c.accepted, at(load.Tags{}), c.ok)
				}
			}
		})
	}
}

// TestLoginLateUnsureOfIssue: a late share's login whose resend got no
// clear answer does not know when its code was issued (auth may have issued
// one behind the answer); its code is entered at once and counted as no
// late entry.
func TestLoginLateUnsureOfIssue(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.on(loginRoute, reply(202, `{"login_id":"L1","expires_in_s":5,"resend_after_s":1}`))
	f.on(resendRoute, reply(500, `{"error":{"code":"internal"}}`))
	var mu sync.Mutex
	var first time.Time
	code := reply(200, `[{"channel":"sms","code":"123456","login_id":"L1"}]`)
	f.on(inboxRoute, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if first.IsZero() {
			first = time.Now()
		}
		late := time.Since(first) > 1500*time.Millisecond // past the resend time
		mu.Unlock()
		if !late {
			reply(200, `[]`)(w, r)
			return
		}
		code(w, r)
	})
	s := quick()
	s.OTPLate = 1
	rec := newRecorder()
	u := fakeShopper(t, f, s, rec)
	if err := u.login(ctxFor(t)); err != nil {
		t.Fatalf("login: %v", err)
	}
	if len(f.requests(resendRoute)) == 0 {
		t.Fatal("no resend was asked for: the test does not reach the unsure path")
	}
	v := f.requests(verifyRoute)
	if len(v) != 1 {
		t.Fatalf("%d verifies, want one", len(v))
	}
	if after := v[0].at.Sub(f.requests(inboxRoute)[0].at); after > 5*time.Second {
		t.Errorf("the code was entered %v after the first look at the inbox: late, though its issue was unsure", after)
	}
	wantCount(t, rec, MetricOTPLateEntered, load.Tags{}, 0)
}
