package storefront

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/mockstore"
	shopperapi "github.com/gameday/gameday/mockstore/shopper"
)

// Limits of a login, as shopper.js had them.
const (
	otpGiveUp        = 60 * time.Second      // without a usable code, the login fails
	otpFirstPoll     = 50 * time.Millisecond // first pause between two reads of the inbox
	otpLongestPoll   = time.Second           // the pause grows by half each time up to this
	otpDefaultResend = 30 * time.Second      // when the storefront gives no resend time
	otpLeastResend   = time.Second           // a resend time below this is taken as this
	// OTPLateMargin is how far past its lifetime a late code is entered
	// (Settings.OTPLate), counted from the answer that issued it: a code
	// is issued before that answer leaves, so the entry is at least this
	// late by auth's own clock.
	OTPLateMargin = 500 * time.Millisecond
)

// OTP channels.
const (
	channelSMS      = "sms"
	channelWhatsApp = "whatsapp"
)

// login logs the person in by OTP: it asks for a code (by WhatsApp for a
// share Settings.WhatsApp of logins, else by SMS), reads it from the
// phone's inbox (from the WhatsApp login link when one came) and verifies
// it; a code that expired starts one fresh login. It records the login
// journey and returns nil when logged in, errStop when not, errCancelled
// when ctx ended first (and then records nothing).
func (p *person) login(ctx context.Context) error {
	p.token = ""
	ok, err := p.tryLogin(ctx)
	if err != nil {
		return err
	}
	return p.journey(ctx, JourneyLogin, ok)
}

func (p *person) tryLogin(ctx context.Context) (bool, error) {
	// 6 February 2023: shoppers who logged in by the WhatsApp link were
	// logged out again within a minute; a share of logins go that way.
	channel := channelSMS
	if p.vu.Rand.Float64() < p.s.cfg.WhatsApp {
		channel = channelWhatsApp
	}
	// The OTP rules' shares draw only when set, so that the other
	// scenarios' shoppers draw as they always did.
	late := p.s.cfg.OTPLate > 0 && p.vu.Rand.Float64() < p.s.cfg.OTPLate
	reuse := p.s.cfg.OTPReuse > 0 && p.vu.Rand.Float64() < p.s.cfg.OTPReuse
	for attempt := range 2 {
		sent := time.Now()
		s, err := p.call(ctx, http.MethodPost, "/api/v1/login", map[string]string{"phone": p.phone, "channel": channel},
			callOpts{endpoint: "login", journey: JourneyLogin, anonymous: true, safe: true})
		if err != nil {
			return false, err
		}
		answered := time.Now()
		p.observe(Observation{Kind: ObserveLogin, Sent: sent, At: answered, Phone: p.phone, UserID: p.wantUser, Status: s.status, Code: s.code})
		var started shopperapi.LoginStarted
		if !s.ok || !s.decode(&started) || started.LoginID == "" {
			return false, nil
		}
		sent = time.Now()
		code, issued, err := p.waitCode(ctx, started, answered)
		if err != nil {
			return false, err
		}
		got := 0
		if code != "" {
			got = http.StatusOK
		}
		p.observe(Observation{Kind: ObserveCode, Sent: sent, At: time.Now(), Phone: p.phone, UserID: p.wantUser, Status: got})
		if code == "" {
			return false, nil
		}
		// A late entry: the first login of a late share, when the issue of
		// its code is known (no resend left unanswered) and so is its
		// lifetime. A code refused as expired then starts the second,
		// entered at once.
		lateEntry := late && attempt == 0 && !issued.IsZero() && started.ExpiresInS > 0
		if lateEntry {
			until := issued.Add(time.Duration(started.ExpiresInS)*time.Second + OTPLateMargin)
			if err := sleep(ctx, time.Until(until)); err != nil {
				return false, err
			}
		}
		v, err := p.call(ctx, http.MethodPost, "/api/v1/login/verify", map[string]string{"login_id": started.LoginID, "code": code},
			callOpts{endpoint: "login_verify", journey: JourneyLogin, anonymous: true, safe: true})
		if err != nil {
			return false, err
		}
		if lateEntry {
			p.enteredCode(MetricOTPLateEntered, MetricOTPLateAccepted, v)
		}
		var verified shopperapi.Verified
		if v.ok && v.decode(&verified) && verified.Token != "" {
			p.token, p.userID = verified.Token, verified.UserID
			if p.wantUser != "" && p.wantUser != p.userID {
				p.vu.Count(MetricCrossUserData, load.Tags{Endpoint: "login_verify", Journey: JourneyLogin}, 1)
			}
			if reuse {
				// The login stands whatever the second entry gets; a load
				// that ends meanwhile ends the visit at its next step.
				_ = p.reenterCode(ctx, started.LoginID, code)
			}
			return true, nil
		}
		if v.code != string(mockstore.CodeCodeExpired) { // else start a new login, once
			return false, nil
		}
	}
	return false, nil
}

// reenterCode enters code of loginID, accepted a moment ago, again from
// another device (no cookies: someone who read the SMS over the shopper's
// shoulder) and counts what it was answered. A code is single use: the
// answer expected is 410 code_expired, which is no error shown to the
// shopper.
func (p *person) reenterCode(ctx context.Context, loginID, code string) error {
	a, err := p.call(ctx, http.MethodPost, "/api/v1/login/verify", map[string]string{"login_id": loginID, "code": code},
		callOpts{endpoint: "login_verify", journey: JourneyLogin, anonymous: true, safe: true, noCookies: true, expected: http.StatusGone})
	if err != nil {
		return err
	}
	p.enteredCode(MetricOTPReuseEntered, MetricOTPReuseAccepted, a)
	return nil
}

// enteredCode counts a code entered against an OTP rule (entered, with the
// answer's status class and code as tags) and, when it was accepted, that
// too (accepted).
func (p *person) enteredCode(entered, accepted string, a answer) {
	p.vu.Count(entered, load.Tags{Endpoint: "login_verify", Journey: JourneyLogin, Status: load.StatusClass(a.status), Code: a.code}, 1)
	if a.ok {
		p.vu.Count(accepted, load.Tags{Endpoint: "login_verify", Journey: JourneyLogin}, 1)
	}
}

// waitCode polls the inbox for the code of the login started, whose start
// was answered at answered. When it is late (past the resend time the
// storefront gave), it asks for a new one: once more by SMS, then by
// WhatsApp. It gives up after the code's lifetime or otpGiveUp, whichever
// is shorter, and then returns "". It records otp_wait when the code came.
// issued is the time of the last answer that issued a code of the login
// (the start's or a resend's), no earlier than the issue of the code
// returned; zero when a resend was left without a clear answer (a code may
// have been issued later than any answer says).
func (p *person) waitCode(ctx context.Context, started shopperapi.LoginStarted, answered time.Time) (code string, issued time.Time, err error) {
	t0 := time.Now()
	issued = answered
	resendAt := t0.Add(max(otpLeastResend, orDefault(started.ResendAfterS, otpDefaultResend)))
	giveUp := t0.Add(min(otpGiveUp, orDefault(started.ExpiresInS, otpGiveUp)))
	channels := []string{channelSMS, channelWhatsApp}
	poll := otpFirstPoll
	for time.Now().Before(giveUp) {
		m, err := p.inbox(ctx, started.LoginID)
		if err != nil {
			return "", time.Time{}, err
		}
		if m != nil && m.Code != "" {
			p.vu.Trend(MetricOTPWait, load.Tags{Journey: JourneyLogin}, float64(time.Since(t0))/float64(time.Millisecond))
			return codeOf(*m), issued, nil
		}
		if !time.Now().Before(resendAt) && len(channels) > 0 {
			channel := channels[0]
			channels = channels[1:]
			r, err := p.call(ctx, http.MethodPost, "/api/v1/login/resend", map[string]string{"login_id": started.LoginID, "channel": channel},
				callOpts{endpoint: "login_resend", journey: JourneyLogin, anonymous: true, safe: true})
			if err != nil {
				return "", time.Time{}, err
			}
			var again shopperapi.LoginStarted
			if r.ok {
				if !issued.IsZero() {
					issued = time.Now()
				}
				if !r.decode(&again) {
					again = shopperapi.LoginStarted{}
				}
				resendAt = time.Now().Add(max(otpLeastResend, orDefault(again.ResendAfterS, otpDefaultResend)))
			} else {
				resendAt = time.Now().Add(r.retryAfter())
				if r.code == string(mockstore.CodeResendCooldown) { // asked too soon: again on the same channel
					channels = append([]string{channel}, channels...)
				} else {
					issued = time.Time{} // auth may have issued a code behind this answer
				}
			}
		}
		if err := sleep(ctx, poll); err != nil {
			return "", time.Time{}, err
		}
		poll = min(poll*3/2, otpLongestPoll) // a person looks at the phone less and less often
	}
	return "", time.Time{}, nil
}

// orDefault returns s seconds, or def when s is 0 (not given).
func orDefault(s int, def time.Duration) time.Duration {
	if s == 0 {
		return def
	}
	return time.Duration(s) * time.Second
}

// inbox returns the newest message of the phone's inbox for loginID (after
// a resend only the newest code is valid), or nil when there is none or
// the inbox could not be read.
func (p *person) inbox(ctx context.Context, loginID string) (*shopperapi.Message, error) {
	r, err := p.call(ctx, http.MethodGet, "/inbox/"+url.PathEscape(p.phone), nil,
		callOpts{endpoint: "inbox", journey: JourneyLogin, base: p.s.cfg.Inbox, anonymous: true, safe: true})
	if err != nil {
		return nil, err
	}
	var msgs []shopperapi.Message
	if !r.ok || !r.decode(&msgs) {
		return nil, nil
	}
	for i := range msgs {
		if msgs[i].LoginID == loginID {
			return &msgs[i], nil
		}
	}
	return nil, nil
}

// codeOf reads the code of a message. A WhatsApp message carries a login
// link; opening it is a verify with its login_id and code.
func codeOf(m shopperapi.Message) string {
	if m.Channel == channelWhatsApp && m.Link != "" {
		_, query, _ := strings.Cut(m.Link, "?")
		for kv := range strings.SplitSeq(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			v, _, _ = strings.Cut(v, "=")
			if k != "code" || v == "" {
				continue
			}
			if code, err := url.PathUnescape(v); err == nil {
				return code
			}
		}
	}
	return m.Code
}
