package auth

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/otp"
	"github.com/gameday/gameday/mockstore/sessions"
)

// Feature tests: each defence, on and off, against upstreams that fail the
// way a network fault makes them fail (the forwarder in front of them cuts
// or holds connections) or that answer 5xx.

// storeFault is one way the session store can fail.
type storeFault struct {
	name    string
	mod     func(*Config)
	break_  func(e *env)
	restore func(e *env)
}

var storeFaults = []storeFault{
	{"connections cut", nil, func(e *env) { e.sessFwd.Cut(-1) }, func(e *env) { e.sessFwd.Pass() }},
	{"store hangs", func(c *Config) { c.SessionsTimeout = 200 * time.Millisecond },
		func(e *env) { e.sessFwd.Hold(-1) }, func(e *env) { e.sessFwd.Pass() }},
	{"store answers 503", nil, func(e *env) { e.sessFail.Store(true) }, func(e *env) { e.sessFail.Store(false) }},
}

func TestSessionFallback(t *testing.T) {
	for _, f := range storeFaults {
		for _, on := range []bool{true, false} {
			name := f.name + "/on"
			feats := features()
			if !on {
				name = f.name + "/off"
				feats = features(mockstore.SessionFallback)
			}
			t.Run(name, func(t *testing.T) {
				var mods []func(*Config)
				if f.mod != nil {
					mods = append(mods, f.mod)
				}
				e := newEnv(t, feats, mods...)
				ctx := context.Background()
				v := e.login(t, e.active)
				f.break_(e)
				_, err := e.c.Validate(ctx, v.Token)
				if on {
					got := wantErr(t, err, mockstore.CodeUnavailable)
					if got.RetryAfter < 1 {
						t.Errorf("503 without Retry-After: %+v", got)
					}
				} else {
					wantErr(t, err, mockstore.CodeUnauthenticated)
				}
				f.restore(e)
				// The session itself was never touched: it is valid again.
				if _, err := e.c.Validate(ctx, v.Token); err != nil {
					t.Errorf("Validate after the store came back: %v", err)
				}
				a := e.readAudit(t)
				want := 0
				if !on {
					want = 1
				}
				if a.SessionsRejected[RejectStoreError] != want {
					t.Errorf("sessions_rejected = %v, want store_error %d", a.SessionsRejected, want)
				}
				sa, err := sessions.ReadAudit(ctx, nil, e.sessAud)
				if err != nil || sa.Live != 1 || sa.Deleted != 0 {
					t.Errorf("store audit = %+v, %v; the session must be kept", sa, err)
				}
			})
		}
	}
	t.Run("closed port", func(t *testing.T) {
		for _, on := range []bool{true, false} {
			feats := features()
			want := mockstore.CodeUnavailable
			if !on {
				feats, want = features(mockstore.SessionFallback), mockstore.CodeUnauthenticated
			}
			e := newEnv(t, feats, func(c *Config) { c.SessionsURL = closedURL(t) })
			_, err := e.c.Validate(context.Background(), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
			wantErr(t, err, want)
		}
	})
}

// closedURL returns the URL of a port nothing listens on.
func closedURL(tb testing.TB) string {
	tb.Helper()
	f := newForwarder(tb, "127.0.0.1:1")
	u := f.URL()
	f.close()
	return u
}

func TestAsyncOTP(t *testing.T) {
	t.Run("on/provider hangs: answered at once", func(t *testing.T) {
		e := newEnv(t, features(mockstore.OTPFallbackChannel))
		e.otpFwd.Hold(-1)
		ls := e.start(t, e.active.Phone, "") // answers although the provider cannot
		waitUntil(t, "send held", func() bool { return e.otpFwd.Held() == 1 })
		if ms, _ := e.inbox.Inbox(context.Background(), e.active.Phone); len(ms) != 0 {
			t.Fatalf("inbox = %+v before the provider answered", ms)
		}
		e.otpFwd.Pass()
		code := e.code(t, e.active.Phone, ls.LoginID)
		if _, err := e.c.Verify(context.Background(), ls.LoginID, code); err != nil {
			t.Errorf("Verify: %v", err)
		}
	})
	t.Run("off/provider hangs: login blocks until it answers", func(t *testing.T) {
		e := newEnv(t, features(mockstore.AsyncOTP, mockstore.OTPFallbackChannel))
		e.otpFwd.Hold(-1)
		type result struct {
			ls  LoginStarted
			err error
		}
		done := make(chan result, 1)
		go func() {
			ls, err := e.c.StartLogin(context.Background(), e.active.Phone, "")
			done <- result{ls, err}
		}()
		waitUntil(t, "send held", func() bool { return e.otpFwd.Held() == 1 })
		select {
		case r := <-done:
			t.Fatalf("login answered %+v while the provider was held", r)
		default:
		}
		e.otpFwd.Pass()
		r := <-done
		if r.err != nil {
			t.Fatalf("StartLogin: %v", r.err)
		}
		// Synchronous: the code is in the inbox by the time login answers.
		ms, err := e.inbox.Inbox(context.Background(), e.active.Phone)
		if err != nil || len(ms) != 1 || ms[0].LoginID != r.ls.LoginID {
			t.Errorf("inbox = %+v, %v", ms, err)
		}
	})
	t.Run("off/provider times out: bare 500", func(t *testing.T) {
		e := newEnv(t, features(mockstore.AsyncOTP, mockstore.OTPFallbackChannel),
			func(c *Config) { c.OTPTimeout = 200 * time.Millisecond })
		e.otpFwd.Hold(-1)
		resp := post(t, e.api.URL+"/login", `{"phone":"`+e.active.Phone+`"}`)
		wantBare500(t, resp)
	})
	t.Run("off/provider down: bare 500", func(t *testing.T) {
		e := newEnv(t, features(mockstore.AsyncOTP, mockstore.OTPFallbackChannel))
		e.otpFwd.Cut(-1)
		resp := post(t, e.api.URL+"/login", `{"phone":"`+e.active.Phone+`"}`)
		wantBare500(t, resp)
		if a := e.readAudit(t); a.CodesDelivered != 0 || a.CodesIssued != 1 {
			t.Errorf("audit = %+v", a)
		}
	})
	t.Run("on/provider down: 202, no code", func(t *testing.T) {
		e := newEnv(t, features(mockstore.OTPFallbackChannel))
		e.otpFwd.Cut(-1)
		e.start(t, e.active.Phone, "")
		e.idle(t)
		if a := e.readAudit(t); a.CodesDelivered != 0 || a.CodesIssued != 1 {
			t.Errorf("audit = %+v", a)
		}
	})
	t.Run("on/queue full: 503 with Retry-After", func(t *testing.T) {
		e := newEnv(t, features(mockstore.OTPFallbackChannel), func(c *Config) { c.SendWorkers, c.SendQueue = 1, 1 })
		e.otpFwd.Hold(-1)
		e.start(t, e.active.Phone, "") // taken by the worker, held
		waitUntil(t, "send held", func() bool { return e.otpFwd.Held() == 1 })
		e.start(t, e.active.Phone, "") // queued
		_, err := e.c.StartLogin(context.Background(), e.active.Phone, "")
		wantErr(t, err, mockstore.CodeUnavailable)
		e.otpFwd.Pass()
	})
}

func wantBare500(tb testing.TB, resp *http.Response) {
	tb.Helper()
	got := mockstore.ReadError(resp)
	if resp.StatusCode != 500 || got.Code != mockstore.CodeInternal || resp.Header.Get("Retry-After") != "" {
		tb.Errorf("answer = %d %s, Retry-After %q; want a bare 500 internal", resp.StatusCode, got.Code, resp.Header.Get("Retry-After"))
	}
}

func TestOTPFallbackChannel(t *testing.T) {
	fast := func(c *Config) { c.FallbackAfter = 20 * time.Millisecond }
	t.Run("on/sms fails: whatsapp with link", func(t *testing.T) {
		e := newEnv(t, features(), fast)
		e.otpFwd.Cut(1)
		ls := e.start(t, e.active.Phone, "")
		m := e.message(t, e.active.Phone, ls.LoginID, otp.ChannelWhatsApp)
		if m.Link != Link(ls.LoginID, m.Code) {
			t.Errorf("fallback message %+v: want the login link", m)
		}
		if _, err := e.c.Verify(context.Background(), ls.LoginID, m.Code); err != nil {
			t.Errorf("Verify with the fallback code: %v", err)
		}
		e.idle(t)
		if a := e.readAudit(t); a.SendsByChannel["whatsapp"] != 1 || a.SendsByChannel["sms"] != 0 || a.CodesDelivered != 1 {
			t.Errorf("audit = %+v", a)
		}
	})
	t.Run("on/sms fails, whatsapp cut once: sent again", func(t *testing.T) {
		e := newEnv(t, features(), fast)
		e.otpFwd.Cut(2)
		ls := e.start(t, e.active.Phone, "")
		m := e.message(t, e.active.Phone, ls.LoginID, otp.ChannelWhatsApp)
		if _, err := e.c.Verify(context.Background(), ls.LoginID, m.Code); err != nil {
			t.Errorf("Verify with the resent code: %v", err)
		}
		e.idle(t)
		if a := e.readAudit(t); a.SendsByChannel["whatsapp"] != 1 || a.CodesDelivered != 1 || a.CodesIssued != 1 {
			t.Errorf("audit = %+v: want the code delivered by the second whatsapp send", a)
		}
	})
	t.Run("on/sms slow: whatsapp too, same code", func(t *testing.T) {
		e := newEnv(t, features(), fast)
		e.otpFwd.Hold(1)
		ls := e.start(t, e.active.Phone, "")
		wa := e.message(t, e.active.Phone, ls.LoginID, otp.ChannelWhatsApp)
		if e.otpFwd.Held() != 1 {
			t.Fatalf("the SMS is not held any more")
		}
		e.otpFwd.Pass()
		sms := e.message(t, e.active.Phone, ls.LoginID, otp.ChannelSMS)
		if sms.Code != wa.Code {
			t.Errorf("sms code %s, whatsapp code %s: want one code", sms.Code, wa.Code)
		}
		e.idle(t)
		waitUntil(t, "both sends counted", func() bool { return e.readAudit(t).SendsByChannel["sms"] == 1 })
		if a := e.readAudit(t); a.CodesDelivered != 1 || a.SendsByChannel["whatsapp"] != 1 || a.CodesIssued != 1 {
			t.Errorf("audit %+v: one code issued and delivered, by two sends", a)
		}
	})
	t.Run("on/synchronous login survives a failed sms", func(t *testing.T) {
		e := newEnv(t, features(mockstore.AsyncOTP), fast)
		e.otpFwd.Cut(1)
		ls := e.start(t, e.active.Phone, "")
		ms, err := e.inbox.Inbox(context.Background(), e.active.Phone)
		if err != nil || len(ms) != 1 || ms[0].Channel != otp.ChannelWhatsApp || ms[0].LoginID != ls.LoginID {
			t.Errorf("inbox = %+v, %v; want the whatsapp fallback already there", ms, err)
		}
	})
	t.Run("off/sms fails: no code", func(t *testing.T) {
		e := newEnv(t, features(mockstore.OTPFallbackChannel), fast)
		e.otpFwd.Cut(1)
		e.start(t, e.active.Phone, "")
		e.idle(t)
		if ms, _ := e.inbox.Inbox(context.Background(), e.active.Phone); len(ms) != 0 {
			t.Errorf("inbox = %+v; SMS only, and it failed", ms)
		}
		if a := e.readAudit(t); a.CodesDelivered != 0 {
			t.Errorf("audit = %+v", a)
		}
	})
	t.Run("off/sms slow past its timeout: no code", func(t *testing.T) {
		e := newEnv(t, features(mockstore.OTPFallbackChannel), fast,
			func(c *Config) { c.OTPTimeout = 200 * time.Millisecond })
		e.otpFwd.Hold(1)
		e.start(t, e.active.Phone, "")
		e.idle(t) // the SMS timed out, well after FallbackAfter
		if ms, _ := e.inbox.Inbox(context.Background(), e.active.Phone); len(ms) != 0 {
			t.Errorf("inbox = %+v; want nothing", ms)
		}
		e.otpFwd.Pass()
	})
}

func TestFaultAwareLockout(t *testing.T) {
	ctx := context.Background()
	t.Run("on", func(t *testing.T) {
		e := newEnv(t, features())
		ls := e.start(t, e.active.Phone, "")
		code := e.code(t, e.active.Phone, ls.LoginID)
		for range 3 {
			_, err := e.c.Verify(ctx, ls.LoginID, wrong(code))
			wantErr(t, err, mockstore.CodeInvalidCode)
		}
		e.sessFwd.Cut(-1)
		for range 3 { // our failure, however often, costs nothing
			_, err := e.c.Verify(ctx, ls.LoginID, code)
			if got := wantErr(t, err, mockstore.CodeUnavailable); got.RetryAfter < 1 {
				t.Errorf("503 without Retry-After")
			}
		}
		_, err := e.c.Verify(ctx, ls.LoginID, wrong(code)) // wrong codes always count: 4
		wantErr(t, err, mockstore.CodeInvalidCode)
		e.sessFwd.Pass()
		v, err := e.c.Verify(ctx, ls.LoginID, code)
		if err != nil {
			t.Fatalf("Verify after the store came back: %v", err)
		}
		if _, err := e.c.Validate(ctx, v.Token); err != nil {
			t.Errorf("Validate: %v", err)
		}
		if a := e.readAudit(t); a.FaultCounted != 0 || a.WrongCodes != 4 || a.Lockouts != 0 || a.Verified != 1 {
			t.Errorf("audit = %+v", a)
		}
	})
	t.Run("off/counted and locks", func(t *testing.T) {
		e := newEnv(t, features(mockstore.FaultAwareLockout))
		ls := e.start(t, e.active.Phone, "")
		code := e.code(t, e.active.Phone, ls.LoginID)
		for range 4 {
			_, err := e.c.Verify(ctx, ls.LoginID, wrong(code))
			wantErr(t, err, mockstore.CodeInvalidCode)
		}
		e.sessFwd.Cut(-1)
		resp := post(t, e.api.URL+"/login/verify", `{"login_id":"`+ls.LoginID+`","code":"`+code+`"}`)
		wantBare500(t, resp)
		e.sessFwd.Pass()
		_, err := e.c.Verify(ctx, ls.LoginID, code)
		wantErr(t, err, mockstore.CodeLoginLocked)
		if a := e.readAudit(t); a.FaultCounted != 1 || a.WrongCodes != 4 || a.Lockouts != 1 || a.Verified != 0 {
			t.Errorf("audit = %+v", a)
		}
	})
	t.Run("off/code consumed", func(t *testing.T) {
		e := newEnv(t, features(mockstore.FaultAwareLockout))
		ls := e.start(t, e.active.Phone, "")
		code := e.code(t, e.active.Phone, ls.LoginID)
		e.sessFail.Store(true)
		resp := post(t, e.api.URL+"/login/verify", `{"login_id":"`+ls.LoginID+`","code":"`+code+`"}`)
		wantBare500(t, resp)
		e.sessFail.Store(false)
		_, err := e.c.Verify(ctx, ls.LoginID, code)
		wantErr(t, err, mockstore.CodeCodeExpired)
		if a := e.readAudit(t); a.FaultCounted != 1 || a.Lockouts != 0 {
			t.Errorf("audit = %+v", a)
		}
	})
}
