package storefront

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/load"
)

// Limits of one call, as shopper.js had them.
const (
	maxAttempts   = 4                      // of one request that is answered "retry"
	maxRetryAfter = 10 * time.Second       // a longer Retry-After is capped
	noAnswerWait  = 500 * time.Millisecond // before a safe call that got no answer is sent again
)

// errStop ends a visit (or a partner's round) after a failed journey was
// recorded, as shopper.js's Stop did.
var errStop = errors.New("journey failed")

// errCancelled ends a visit because its context ended: what was under way
// is not recorded as a failure, since the storefront did not fail it.
var errCancelled = errors.New("visit cancelled")

// person is someone with a phone using the storefront's app: a shopper, a
// merchant or a driver. The session outlives a visit.
type person struct {
	s        *Script
	vu       *load.VU
	phone    string
	wantUser string // the user ID the data gives the phone; "" when unknown
	token    string // session token; "" when logged out
	userID   string // from the verify answer
	run      string // makes keys and references unique to this load and VU
	addr     string // the address the person's requests come from (X-Forwarded-For)
}

// callOpts say how one API call is made.
type callOpts struct {
	endpoint  string
	journey   string
	base      string // base URL; "" means the gateway
	key       string // Idempotency-Key, the same on every attempt; "" for none
	anonymous bool   // the call carries no session token
	noCookies bool   // the call is sent from another device: none of the person's cookies
	safe      bool   // the call may be sent again when no answer came
	once      bool   // one attempt: a partner's next round is its retry
	expected  int    // a status (besides 2xx) that is a normal answer, not an error; 0 for none
}

// answer is what one call came back with, after its retries.
type answer struct {
	status   int // 0: no answer
	header   http.Header
	body     []byte
	ok       bool   // a 2xx
	code     string // of an error: the envelope's code, http_NNN, or no_response
	expected bool   // status is callOpts.expected
	envelope envelope
}

// envelope is the storefront's error body: {"error": {"code", "message",
// "retry_after_s"}}. It is read leniently, as shopper.js read it: a field
// of another type is taken as absent.
type envelope struct {
	present     bool    // the body has an "error" object
	code        string  // "" when absent
	retryAfterS float64 // NaN when absent
}

func readEnvelope(body []byte) envelope {
	e := envelope{retryAfterS: math.NaN()}
	var outer struct {
		Error map[string]json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &outer) != nil || outer.Error == nil {
		return e
	}
	e.present = true
	_ = json.Unmarshal(outer.Error["code"], &e.code)
	var n json.Number
	if json.Unmarshal(outer.Error["retry_after_s"], &n) == nil {
		if f, err := n.Float64(); err == nil {
			e.retryAfterS = f
		}
	}
	return e
}

// decode decodes the answer's JSON body into v and reports whether there
// was one: an empty body, null or one that is not v's shape is none.
func (a answer) decode(v any) bool {
	b := bytes.TrimSpace(a.body)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

// retryAfter is how long the answer asks to wait: its Retry-After header
// when that is a non-negative number of seconds, else the envelope's
// retry_after_s when positive, else 1 s. It is not capped.
func (a answer) retryAfter() time.Duration {
	if vs, ok := a.header["Retry-After"]; ok && len(vs) > 0 {
		v := strings.TrimSpace(vs[0])
		h := 0.0 // an empty header is 0, as JavaScript's Number("") is
		var err error
		if v != "" {
			h, err = strconv.ParseFloat(v, 64)
		}
		if err == nil && h >= 0 && !math.IsInf(h, 0) {
			return seconds2duration(h)
		}
	}
	if b := a.envelope.retryAfterS; b > 0 && !math.IsInf(b, 0) {
		return seconds2duration(b)
	}
	return time.Second
}

// seconds2duration converts seconds to a duration, saturating far beyond
// any cap.
func seconds2duration(s float64) time.Duration {
	if s >= float64(math.MaxInt64)/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(s * float64(time.Second))
}

// retryWait is how long call waits before sending a to-be-retried request
// again: half a second after no answer, else the answer's Retry-After
// capped at maxRetryAfter; either spread by a factor drawn from 1..1.5 so
// that retries do not come back in a herd, never sooner than asked.
func (p *person) retryWait(a answer) time.Duration {
	w := noAnswerWait
	if a.status != 0 {
		w = min(a.retryAfter(), maxRetryAfter)
	}
	return time.Duration(float64(w) * (1 + 0.5*p.vu.Rand.Float64()))
}

// call makes one API call as the app does and retries it while the
// storefront says to retry (503 or 429, after retryWait) or, when o.safe,
// while no answer comes; at most maxAttempts attempts (one with o.once).
// The caller keeps an Idempotency-Key or reference the same across
// retries. Every error shown is counted (shopper_error; bare_5xx for a 5xx
// without code or Retry-After), and a 401 for a session the person holds
// is a forced logout: the token is forgotten. A status equal to
// o.expected comes back as expected, counted as nothing. It returns
// errCancelled, and no answer, when ctx ended first.
func (p *person) call(ctx context.Context, method, path string, payload any, o callOpts) (answer, error) {
	var body []byte
	if payload != nil {
		var err error
		if body, err = json.Marshal(payload); err != nil {
			return answer{}, err // our own request types always encode
		}
	}
	base := o.base
	if base == "" {
		base = p.s.cfg.Gateway
	}
	tags := load.Tags{Endpoint: o.endpoint, Journey: o.journey}
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return answer{}, errCancelled
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
		if err != nil {
			return answer{}, err // cannot happen: the URLs are validated, the paths escaped
		}
		req.Header.Set("Content-Type", "application/json")
		if p.addr != "" {
			req.Header.Set(forwardedHeader, p.addr)
		}
		if o.key != "" {
			req.Header.Set("Idempotency-Key", o.key)
		}
		if p.token != "" && !o.anonymous {
			req.Header.Set("Authorization", "Bearer "+p.token)
		}
		var res load.Response
		if o.noCookies {
			res = p.vu.DoWithoutCookies(req, tags)
		} else {
			res = p.vu.Do(req, tags)
		}
		if res.Status == 0 && ctx.Err() != nil {
			return answer{}, errCancelled // cut short by us, not left unanswered
		}
		a := answer{status: res.Status, header: res.Header, body: res.Body}
		if a.status >= 200 && a.status < 300 {
			a.ok = true
			return a, nil
		}
		a.envelope = readEnvelope(a.body)
		switch {
		case a.status == 0:
			a.code = "no_response"
		case a.envelope.code != "":
			a.code = a.envelope.code
		default:
			a.code = "http_" + strconv.Itoa(a.status)
		}
		if o.expected != 0 && a.status == o.expected {
			a.expected = true
			return a, nil
		}
		p.vu.Count(MetricShopperError, load.Tags{Endpoint: o.endpoint, Journey: o.journey, Code: a.code, Status: load.StatusClass(a.status)}, 1)
		if _, hasRetryAfter := a.header["Retry-After"]; a.status >= 500 && (a.envelope.code == "" || !hasRetryAfter) {
			p.vu.Count(MetricBare5xx, tags, 1)
		}
		if a.status == http.StatusUnauthorized && p.token != "" && !o.anonymous {
			// A session the person did not end was refused: logged out by force.
			p.vu.Count(MetricForcedLogout, tags, 1)
			p.token = ""
		}
		retry := a.status == http.StatusServiceUnavailable || a.status == http.StatusTooManyRequests || (a.status == 0 && o.safe)
		limit := maxAttempts
		if o.once {
			limit = 1
		}
		if !retry || attempt >= limit {
			return a, nil
		}
		if !load.Sleep(ctx, p.retryWait(a)) {
			return answer{}, errCancelled
		}
	}
}

// authed makes a call that needs a session; when the session was refused
// it logs in again (once) and repeats the call. It returns errStop when
// that login failed.
func (p *person) authed(ctx context.Context, method, path string, payload any, o callOpts) (answer, error) {
	a, err := p.call(ctx, method, path, payload, o)
	if err != nil || a.ok || a.status != http.StatusUnauthorized {
		return a, err
	}
	if err := p.login(ctx); err != nil {
		return a, err
	}
	return p.call(ctx, method, path, payload, o)
}

// journey records whether the journey succeeded and returns errStop when
// it did not. A journey that did not succeed once ctx has ended is not
// recorded (errCancelled): the end of the load cut it short.
func (p *person) journey(ctx context.Context, name string, ok bool) error {
	if !ok && ctx.Err() != nil {
		return errCancelled
	}
	p.vu.Rate(MetricJourneySuccess, load.Tags{Journey: name}, ok)
	if !ok {
		return errStop
	}
	return nil
}

// crossUser counts an answer about another user than the one logged in;
// an answer or session without a user ID tells nothing.
func (p *person) crossUser(userID, endpoint, journey string) {
	if userID != "" && p.userID != "" && userID != p.userID {
		p.vu.Count(MetricCrossUserData, load.Tags{Endpoint: endpoint, Journey: journey}, 1)
	}
}

// think pauses for up to Settings.Think, as a person between two steps.
// It returns errCancelled when ctx ended.
func (p *person) think(ctx context.Context) error {
	if p.s.cfg.Think <= 0 {
		return nil
	}
	if !load.Sleep(ctx, time.Duration(p.vu.Rand.Float64()*float64(p.s.cfg.Think))) {
		return errCancelled
	}
	return nil
}

// sleep waits d, or returns errCancelled when ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if !load.Sleep(ctx, d) {
		return errCancelled
	}
	return nil
}

// observe hands o to the configured observer, if any.
func (p *person) observe(o Observation) {
	if p.s.cfg.Observe != nil {
		p.s.cfg.Observe(o)
	}
}

// pick returns an element of list drawn from the person's random source;
// list must not be empty.
func pick[T any](p *person, list []T) T {
	return list[p.vu.Rand.IntN(len(list))]
}
