package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/otp"
)

// limits sets the OTP send limits of a test env.
func limits(window time.Duration, perPhone, perClient int) func(*Config) {
	return func(c *Config) { c.SendWindow, c.SendsPerPhone, c.SendsPerClient = window, perPhone, perClient }
}

// rawAnswer is an answer of auth as the wire carried it.
type rawAnswer struct {
	status     int
	retryAfter string
	body       string
}

// postLogin starts a login for phone asked by client, straight over HTTP.
func (e *env) postLogin(tb testing.TB, phone, client string) rawAnswer {
	tb.Helper()
	b, _ := json.Marshal(loginRequest{Phone: phone, Client: client})
	resp, err := http.Post(e.api.URL+"/login", "application/json", bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("POST /login: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return rawAnswer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(body)}
}

// inboxCount is how many messages the provider holds for phone.
func (e *env) inboxCount(tb testing.TB, phone string) int {
	tb.Helper()
	e.idle(tb)
	ms, err := e.inbox.Inbox(context.Background(), phone)
	if err != nil {
		tb.Fatalf("Inbox: %v", err)
	}
	return len(ms)
}

// TestSendLimitPerPhone: past the limit a phone gets 429 rate_limited with
// Retry-After and the error envelope, and no more codes reach it; the
// answer is byte for byte the same for a registered and an unregistered
// phone, so that the limit tells an attacker nothing about registration.
func TestSendLimitPerPhone(t *testing.T) {
	e := newEnv(t, features(), limits(time.Minute, 3, 100))
	var over []rawAnswer
	for i, phone := range []string{e.active.Phone, e.stranger} {
		for n := range 3 {
			if a := e.postLogin(t, phone, "198.51.100."+strconv.Itoa(10*i+n)); a.status != http.StatusAccepted {
				t.Fatalf("start %d for %s = %d %s, want 202 under the limit", n+1, phone, a.status, a.body)
			}
		}
		a := e.postLogin(t, phone, "198.51.100.99")
		if a.status != http.StatusTooManyRequests || a.retryAfter != "60" {
			t.Fatalf("4th start for %s = %d Retry-After %q %s, want 429 with Retry-After 60", phone, a.status, a.retryAfter, a.body)
		}
		var env struct {
			Error mockstore.Error `json:"error"`
		}
		if err := json.Unmarshal([]byte(a.body), &env); err != nil || env.Error.Code != mockstore.CodeRateLimited || env.Error.RetryAfter != 60 {
			t.Fatalf("4th start for %s: body %s (%v), want the envelope with rate_limited and retry_after_s 60", phone, a.body, err)
		}
		over = append(over, a)
	}
	if over[0] != over[1] {
		t.Errorf("over the limit, registered %+v and unregistered %+v answered differently", over[0], over[1])
	}
	if n := e.inboxCount(t, e.active.Phone); n != 3 {
		t.Errorf("the provider delivered %d codes to the flooded phone, want 3", n)
	}
}

// TestSendLimitPerClient: one client asking for codes for many phones is
// limited, and another client is not.
func TestSendLimitPerClient(t *testing.T) {
	e := newEnv(t, features(), limits(time.Minute, 100, 3))
	phones := []string{e.ds.Users[1].Phone, e.ds.Users[2].Phone, e.stranger}
	for _, p := range phones {
		if a := e.postLogin(t, p, "203.0.113.7"); a.status != http.StatusAccepted {
			t.Fatalf("start for %s = %d %s, want 202 under the limit", p, a.status, a.body)
		}
	}
	if a := e.postLogin(t, e.ds.Users[3].Phone, "203.0.113.7"); a.status != http.StatusTooManyRequests || a.retryAfter == "" {
		t.Fatalf("4th start by one client = %d Retry-After %q, want 429 with Retry-After", a.status, a.retryAfter)
	}
	if a := e.postLogin(t, e.ds.Users[3].Phone, "198.51.100.1"); a.status != http.StatusAccepted {
		t.Errorf("another client = %d %s, want 202", a.status, a.body)
	}
	// Without a named client, auth counts its caller's address.
	for range 3 {
		e.start(t, e.ds.Users[4].Phone, "")
	}
	_, err := e.c.StartLogin(context.Background(), e.ds.Users[5].Phone, "")
	if got := wantErr(t, err, mockstore.CodeRateLimited); got.RetryAfter < 1 {
		t.Errorf("429 without Retry-After: %+v", got)
	}
}

// TestSendLimitWindowPasses: a shopper whose phone was flooded is refused
// (with the time left) until the window has passed, then logs in.
func TestSendLimitWindowPasses(t *testing.T) {
	e := newEnv(t, features(), limits(30*time.Second, 2, 100))
	for range 2 {
		e.postLogin(t, e.active.Phone, "203.0.113.7")
	}
	e.clock.Advance(10 * time.Second)
	_, err := e.c.StartLogin(context.Background(), e.active.Phone, "", From("198.51.100.1"))
	if got := wantErr(t, err, mockstore.CodeRateLimited); got.RetryAfter != 20 {
		t.Errorf("Retry-After %d 10 s into a 30 s window, want 20", got.RetryAfter)
	}
	e.clock.Advance(20 * time.Second)
	if v := e.login(t, e.active); v.Token == "" {
		t.Fatal("no session once the window passed")
	}
}

// TestSendLimitResendAndVerify: a resend is a send like a start; a verified
// login stops its phone's sends counting, so a shopper who logs in again and
// again is never limited.
func TestSendLimitResendAndVerify(t *testing.T) {
	e := newEnv(t, features(), limits(time.Hour, 2, 100))
	ls := e.start(t, e.active.Phone, "")
	e.clock.Advance(DefaultResendCooldown)
	if _, err := e.c.Resend(context.Background(), ls.LoginID, ""); err != nil {
		t.Fatalf("first resend: %v", err)
	}
	e.clock.Advance(DefaultResendCooldown)
	_, err := e.c.Resend(context.Background(), ls.LoginID, "")
	wantErr(t, err, mockstore.CodeRateLimited)

	u := e.ds.Users[1]
	for i := range 5 {
		if v := e.login(t, u); v.Token == "" {
			t.Fatalf("login %d of a shopper who verifies each code: no session", i+1)
		}
	}
}

// TestSendLimitOff: without otp_send_limits every start sends a code, the
// incident's behaviour: 30 starts, 30 codes, all 202.
func TestSendLimitOff(t *testing.T) {
	e := newEnv(t, features(mockstore.OTPSendLimits), limits(time.Minute, 3, 3))
	for i := range 30 {
		if a := e.postLogin(t, e.active.Phone, "203.0.113.7"); a.status != http.StatusAccepted {
			t.Fatalf("start %d = %d %s, want 202 with no limit", i+1, a.status, a.body)
		}
	}
	if n := e.inboxCount(t, e.active.Phone); n != 30 {
		t.Errorf("the provider delivered %d codes, want 30", n)
	}
	if s := e.otpSent(t); s[otp.ChannelSMS] != 30 {
		t.Errorf("provider audit %v, want 30 sms", s)
	}
}

// TestSendLimiterForgets: the limiter keeps no phone or client whose sends
// have all left the window, even one nobody asks for again.
func TestSendLimiterForgets(t *testing.T) {
	l := newSendLimiter(time.Minute, 2, 10)
	t0 := time.Date(2023, 2, 6, 12, 0, 0, 0, time.UTC)
	for i := range 100 {
		if _, _, ok := l.reserve(t0, "+62899000"+strconv.Itoa(10000+i), "203.0.113.7"); !ok && i < 10 {
			t.Fatalf("send %d refused under the limits", i+1)
		}
	}
	if _, _, ok := l.reserve(t0.Add(2*time.Minute), "+6281100000001", "198.51.100.1"); !ok {
		t.Fatal("a send after the window refused")
	}
	if len(l.phones) != 1 || len(l.clients) != 1 {
		t.Errorf("after the window the limiter holds %d phones and %d clients, want only the last send's", len(l.phones), len(l.clients))
	}
}
