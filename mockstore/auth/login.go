package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"math/big"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/otp"
)

// TokenBytes is the number of random bytes in a session token (256 bits); a
// token is their unpadded base64url form, 43 characters.
const TokenBytes = 32

// linkPath is the path of the WhatsApp login link.
const linkPath = "/login/verify"

// Link returns the WhatsApp login link for loginID and code:
// "/login/verify?login_id=<id>&code=<code>". Opening it is a verify.
func Link(loginID, code string) string {
	return linkPath + "?login_id=" + url.QueryEscape(loginID) + "&code=" + url.QueryEscape(code)
}

// ParseLink returns the login_id and code of a link made by Link (a full URL
// with scheme and host is accepted too). It fails for any other link.
func ParseLink(link string) (loginID, code string, err error) {
	u, err := url.Parse(link)
	if err != nil {
		return "", "", fmt.Errorf("parse link: %w", err)
	}
	q := u.Query()
	loginID, code = q.Get("login_id"), q.Get("code")
	if !strings.HasSuffix(u.Path, linkPath) || loginID == "" || code == "" {
		return "", "", fmt.Errorf("parse link: %q is not a login link", link)
	}
	return loginID, code, nil
}

// newCode returns a 6-digit code drawn uniformly from 000000..999999 with
// crypto/rand.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("draw code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// randomID returns n random bytes as unpadded base64url.
func randomID(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// codeHash is the keyed hash under which a login's code is stored: the code
// itself is never stored, and the key dies with the process.
func (s *Service) codeHash(loginID, code string) []byte {
	m := hmac.New(sha256.New, s.codeKey)
	m.Write([]byte(loginID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// lockLogin serializes verifies and resends of one login.
func (s *Service) lockLogin(loginID string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(loginID))
	return &s.loginMu[h.Sum32()%uint32(len(s.loginMu))]
}

func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

func (s *Service) started(loginID string) LoginStarted {
	return LoginStarted{LoginID: loginID, ExpiresInS: ceilSeconds(s.cfg.CodeTTL), ResendAfterS: ceilSeconds(s.cfg.ResendCooldown)}
}

// startLogin creates a login for phone and gets its code sent on channel,
// asked by client. An unregistered phone gets a login too, with a code
// nobody receives, so that the answer is the same; its verifies never
// succeed. The send limit is applied before the phone is looked up, so its
// answer is the same too.
func (s *Service) startLogin(ctx context.Context, phone, channel, client string) (out LoginStarted, err error) {
	release, err := s.limitSend(phone, client)
	if err != nil {
		return LoginStarted{}, err
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	u, registered, err := s.st.userBy(ctx, "phone", phone)
	if err != nil {
		return LoginStarted{}, err
	}
	code, err := newCode()
	if err != nil {
		return LoginStarted{}, err
	}
	id, err := randomID(16)
	if err != nil {
		return LoginStarted{}, err
	}
	now := s.now()
	l := login{ID: "l_" + id, Phone: phone, Channel: channel, CodeHash: s.codeHash("l_"+id, code),
		IssuedAt: now, ExpiresAt: now.Add(s.cfg.CodeTTL)}
	if registered {
		l.UserID = u.ID
	}
	if err := s.st.createLogin(ctx, l); err != nil {
		return LoginStarted{}, err
	}
	if err := s.dispatch(ctx, sendJob{loginID: l.ID, phone: phone, channel: channel, code: code, send: registered}); err != nil {
		return LoginStarted{}, err
	}
	return s.started(l.ID), nil
}

// limitSend counts a code asked for phone by client against the send
// limits, with otp_send_limits on, and returns the release to call when the
// code is not sent after all. Over a limit it returns rate_limited with the
// time until there is room, worded the same whichever limit was hit.
func (s *Service) limitSend(phone, client string) (release func(), err error) {
	if s.limits == nil {
		return func() {}, nil
	}
	release, wait, ok := s.limits.reserve(s.now(), phone, client)
	if !ok {
		s.log.Info("otp send limited", "client", client)
		return nil, mockstore.Retry(mockstore.CodeRateLimited, ceilSeconds(wait), "too many login codes asked for; retry in %ds", max(1, ceilSeconds(wait)))
	}
	return release, nil
}

// resend issues a new code for the login (the old ones stop working) once
// the cooldown since the last code has passed and the send limits allow.
func (s *Service) resend(ctx context.Context, loginID, channel, client string) (LoginStarted, error) {
	mu := s.lockLogin(loginID)
	mu.Lock()
	job, err := func() (sendJob, error) {
		l, ok, err := s.st.login(ctx, loginID)
		switch {
		case err != nil:
			return sendJob{}, err
		case !ok:
			return sendJob{}, mockstore.Errorf(mockstore.CodeNotFound, "no such login")
		case l.Locked:
			return sendJob{}, mockstore.Errorf(mockstore.CodeLoginLocked, "too many wrong attempts; start a new login later")
		case l.Done:
			return sendJob{}, mockstore.Errorf(mockstore.CodeConflict, "login already completed")
		}
		now := s.now()
		if wait := l.IssuedAt.Add(s.cfg.ResendCooldown).Sub(now); wait > 0 {
			return sendJob{}, mockstore.Retry(mockstore.CodeResendCooldown, ceilSeconds(wait), "a new code can be sent in %ds", ceilSeconds(wait))
		}
		if channel == "" {
			channel = l.Channel
		}
		release, err := s.limitSend(l.Phone, client)
		if err != nil {
			return sendJob{}, err
		}
		code, err := newCode()
		if err != nil {
			release()
			return sendJob{}, err
		}
		if err := s.st.reissue(ctx, l, s.codeHash(l.ID, code), now, now.Add(s.cfg.CodeTTL), channel); err != nil {
			release()
			return sendJob{}, err
		}
		return sendJob{loginID: l.ID, phone: l.Phone, channel: channel, code: code, send: l.registered()}, nil
	}()
	mu.Unlock()
	if err != nil {
		return LoginStarted{}, err
	}
	if err := s.dispatch(ctx, job); err != nil {
		return LoginStarted{}, err
	}
	return s.started(loginID), nil
}

// verify checks code for the login and, when right, opens a session in the
// store. See Client.Verify for the answers. Every verify of a known login
// is recorded for the audit (AuthAudit.Verifies) with the issue time of
// the login's code and how it ended.
func (s *Service) verify(ctx context.Context, loginID, code string) (Verified, error) {
	mu := s.lockLogin(loginID)
	mu.Lock()
	defer mu.Unlock()
	if s.verifying != nil {
		s.verifying(ctx, loginID, s.codeHash(loginID, code))
	}
	l, ok, err := s.st.login(ctx, loginID)
	if err != nil {
		return Verified{}, err
	}
	if !ok {
		return Verified{}, errWrongCode
	}
	now := s.now()
	out, err := s.check(ctx, l, code, now)
	if err != nil {
		outcome := string(mockstore.ErrorCode(err))
		if rerr := s.st.refusedVerify(context.WithoutCancel(ctx), loginID, l.IssuedAt, now, outcome); rerr != nil {
			s.log.Error("record verify", "login_id", loginID, "err", rerr)
		}
	}
	return out, err
}

// check decides a verify of code for login l at now, under the login's
// lock: the answer, and on success the consumed code and the session.
func (s *Service) check(ctx context.Context, l login, code string, now time.Time) (Verified, error) {
	loginID := l.ID
	switch {
	case l.Locked:
		return Verified{}, errLocked
	case l.Done:
		return Verified{}, mockstore.Errorf(mockstore.CodeCodeExpired, "code already used; start a new login")
	case !now.Before(l.ExpiresAt):
		return Verified{}, mockstore.Errorf(mockstore.CodeCodeExpired, "code expired; ask for a new one")
	}
	// The writes below must not be lost to a client that hangs up.
	wctx := context.WithoutCancel(ctx)
	h := s.codeHash(loginID, code)
	if !l.registered() || !hmac.Equal(h, l.CodeHash) {
		old, err := s.st.superseded(ctx, loginID, h)
		if err != nil {
			return Verified{}, err
		}
		if old {
			return Verified{}, mockstore.Errorf(mockstore.CodeCodeExpired, "code superseded by a newer one")
		}
		locked, err := s.st.failAttempt(wctx, loginID, cWrongCodes, false)
		if err != nil {
			return Verified{}, err
		}
		if locked {
			return Verified{}, errLocked
		}
		return Verified{}, errWrongCode
	}

	token, err := randomID(TokenBytes)
	if err != nil {
		return Verified{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, s.cfg.SessionsTimeout)
	err = s.sessions.Put(pctx, token, l.UserID, s.cfg.SessionTTL)
	cancel()
	if err != nil {
		s.log.Warn("create session", "login_id", loginID, "err", err)
		if s.cfg.Features.On(mockstore.FaultAwareLockout) {
			// Our failure: the code stays valid and the attempt is not counted.
			return Verified{}, mockstore.Retry(mockstore.CodeUnavailable, retryAfterS, "session store unavailable; retry with the same code")
		}
		if _, err := s.st.failAttempt(wctx, loginID, cFaultCounted, true); err != nil {
			return Verified{}, err
		}
		// %v, not %w: the naive side hides the store's answer behind a bare 500.
		return Verified{}, fmt.Errorf("create session: %v", err)
	}
	if err := s.st.completeLogin(wctx, loginID, l.IssuedAt, tokenHash(token), l.UserID, now, now.Add(s.cfg.SessionTTL)); err != nil {
		return Verified{}, err
	}
	if s.limits != nil {
		s.limits.forgive(l.Phone)
	}
	return Verified{Token: token, UserID: l.UserID, ExpiresInS: ceilSeconds(s.cfg.SessionTTL)}, nil
}

var (
	errWrongCode = mockstore.Errorf(mockstore.CodeInvalidCode, "wrong code")
	errLocked    = mockstore.Errorf(mockstore.CodeLoginLocked, "too many wrong attempts; start a new login later")
)

// sendJob is one code to deliver. send is false for an unregistered phone:
// the job goes through the same path so that the answer does not differ,
// but nothing is sent.
type sendJob struct {
	loginID, phone, channel, code string
	send                          bool
}

// dispatch gets the job's code on its way. With async_otp on it queues the
// job and returns at once (temporarily_unavailable when the queue is full);
// off, it delivers inside the request and returns a bare error when no
// channel acknowledged the send.
func (s *Service) dispatch(ctx context.Context, j sendJob) error {
	if s.cfg.Features.On(mockstore.AsyncOTP) {
		s.pending.Add(1)
		select {
		case s.jobs <- j:
			return nil
		default:
			s.pending.Add(-1)
			s.log.Warn("send queue full", "login_id", j.loginID)
			return mockstore.Retry(mockstore.CodeUnavailable, retryAfterS, "too many logins in progress; retry")
		}
	}
	if !j.send {
		return nil
	}
	if err := s.deliver(ctx, j); err != nil {
		return fmt.Errorf("send code: %w", err)
	}
	return nil
}

func (s *Service) sendWorker() {
	defer s.wg.Done()
	for {
		select {
		case <-s.baseCtx.Done():
			return
		case j := <-s.jobs:
			if j.send {
				if err := s.deliver(s.baseCtx, j); err != nil {
					s.log.Warn("code not delivered", "login_id", j.loginID, "err", err)
				}
			}
			s.pending.Add(-1)
		}
	}
}

// deliver sends the job's code. A WhatsApp send carries the login link.
// With otp_fallback_channel on, an SMS that fails or is not acknowledged
// within FallbackAfter is followed by a WhatsApp send of the same code
// (sent once more when it got no answer at all); the SMS goes on in the
// background. It returns nil once any send was acknowledged.
func (s *Service) deliver(ctx context.Context, j sendJob) error {
	if j.channel == otp.ChannelWhatsApp || !s.cfg.Features.On(mockstore.OTPFallbackChannel) {
		return s.sendOne(ctx, j, j.channel)
	}
	sms := make(chan error, 1)
	// The SMS outlives this call when the fallback goes first; it is bound
	// by the service's life, not the request's.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		sms <- s.sendOne(s.baseCtx, j, otp.ChannelSMS)
	}()
	timer := time.NewTimer(s.cfg.FallbackAfter)
	defer timer.Stop()
	smsPending := true
	var smsErr error
	select {
	case smsErr = <-sms:
		if smsErr == nil {
			return nil
		}
		smsPending = false
		s.log.Info("sms failed, falling back to whatsapp", "login_id", j.loginID)
	case <-timer.C:
		s.log.Info("sms slow, falling back to whatsapp", "login_id", j.loginID)
	case <-ctx.Done():
		return ctx.Err()
	}
	waErr := s.sendOne(ctx, j, otp.ChannelWhatsApp)
	if waErr != nil && noAnswer(waErr) && ctx.Err() == nil {
		// The fallback cut off without an answer (a connection reset) is
		// sent once more: the same code, so a message twice is harmless,
		// and the code is counted delivered once.
		s.log.Info("whatsapp send got no answer, sending again", "login_id", j.loginID)
		waErr = s.sendOne(ctx, j, otp.ChannelWhatsApp)
	}
	if waErr == nil {
		return nil
	}
	if !smsPending {
		return errors.Join(smsErr, waErr)
	}
	select {
	case smsErr = <-sms:
		if smsErr == nil {
			return nil
		}
		return errors.Join(smsErr, waErr)
	case <-ctx.Done():
		return errors.Join(waErr, ctx.Err())
	}
}

// noAnswer reports whether err is a send that got no answer at all (not a
// timeout of ours, not an answered error).
func noAnswer(err error) bool {
	var ue *mockstore.UpstreamError
	return errors.As(err, &ue) && !ue.Timeout
}

// sendOne sends the job's code on channel within OTPTimeout and, when the
// provider acknowledged it, counts the send and (once) the code delivered.
func (s *Service) sendOne(ctx context.Context, j sendJob, channel string) error {
	m := otp.Message{Phone: j.phone, Channel: channel, Code: j.code, LoginID: j.loginID}
	if channel == otp.ChannelWhatsApp {
		m.Link = Link(j.loginID, j.code)
	}
	sctx, cancel := context.WithTimeout(ctx, s.cfg.OTPTimeout)
	_, err := s.otp.Send(sctx, m)
	cancel()
	if err != nil {
		return fmt.Errorf("send %s: %w", channel, err)
	}
	h := s.codeHash(j.loginID, j.code)
	if err := s.st.delivered(context.WithoutCancel(ctx), j.loginID, h, channel); err != nil {
		s.log.Error("count delivery", "err", err)
	}
	if s.sent != nil {
		s.sent(context.WithoutCancel(ctx), j.loginID, h)
	}
	return nil
}
