package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// Retry policy.
const (
	retryRatio     = 0.1              // retry_budget on: retries ≤ 10% of calls
	retryWindow    = 10 * time.Second // over this sliding window
	retryBackoff   = 25 * time.Millisecond
	herdRetries    = 3 // retry_budget off: immediate retries, no budget
	defaultRetryAS = 2 // Retry-After (s) of an upstream failure that gave none
)

// upstream is one service behind the gateway, with its breaker and retry
// budget (nil when the feature is off).
type upstream struct {
	name    string
	hc      *http.Client
	breaker *breaker
	budget  *budget
	log     *slog.Logger

	calls   atomic.Int64 // attempts sent (retries included), for the audit
	retries atomic.Int64 // of which retries
	seconds perSecond    // the same per second
}

// keepSeconds is how many seconds of calls an upstream keeps for the audit.
const keepSeconds = 3600

// perSecond counts attempts and retries per second, the last keepSeconds.
type perSecond struct {
	mu sync.Mutex
	s  []mockstore.UpstreamSecond // oldest first
}

// add counts an attempt sent (a retry or not) at now.
func (p *perSecond) add(now time.Time, retry bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.second(now)
	s.Calls++
	if retry {
		s.Retries++
	}
}

// ask counts a call the gateway was asked to make at now.
func (p *perSecond) ask(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.second(now).Asked++
}

// second returns the counts of now's second; a clock that stepped back
// counts in the newest second. p.mu is held.
func (p *perSecond) second(now time.Time) *mockstore.UpstreamSecond {
	t := now.Unix()
	if n := len(p.s); n == 0 || p.s[n-1].T < t {
		if n >= keepSeconds {
			p.s = append(p.s[:0], p.s[n-keepSeconds+1:]...)
		}
		p.s = append(p.s, mockstore.UpstreamSecond{T: t})
	}
	return &p.s[len(p.s)-1]
}

func (p *perSecond) snapshot() []mockstore.UpstreamSecond {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.s)
}

// failure is an upstream call that failed: no answer, a 5xx answer, a
// breaker that refused the call, or an answer that cannot be right. The
// gateway answers it per honest_errors.
type failure struct {
	upstream   string
	retryAfter int            // seconds, ≥ 1
	code       mockstore.Code // a retryable code the upstream gave (maintenance), or ""
	breaker    bool           // refused by an open breaker
	err        error
}

func (f *failure) Error() string {
	if f.breaker {
		return f.upstream + ": circuit breaker open"
	}
	return fmt.Sprintf("%s: %v", f.upstream, f.err)
}

func (f *failure) Unwrap() error { return f.err }

// classify tells whether err (from one attempt) is a failure of the upstream.
// An answered 4xx is the upstream working; an error of our own context is
// nobody's fault.
func classify(ctx context.Context, err error) outcome {
	if err == nil {
		return outcomeSuccess
	}
	if ctx.Err() != nil {
		return outcomeIgnore
	}
	var e *mockstore.Error
	if errors.As(err, &e) {
		if status(e) >= 500 {
			return outcomeFailure
		}
		return outcomeSuccess
	}
	return outcomeFailure
}

func status(e *mockstore.Error) int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Code.Status()
}

// do runs fn against u: through the breaker, retried when idempotent (once
// with jittered backoff within the budget, or up to herdRetries times at once
// without one). It returns nil, the upstream's answered 4xx *mockstore.Error,
// or a *failure.
func (u *upstream) do(ctx context.Context, idempotent bool, fn func(context.Context) error) error {
	u.seconds.ask(time.Now())
	if u.budget != nil {
		u.budget.call()
	}
	retries := 0
	if idempotent {
		retries = herdRetries
		if u.budget != nil {
			retries = 1
		}
	}
	for attempt := 0; ; attempt++ {
		err := u.attempt(ctx, attempt > 0, fn)
		var f *failure
		if !errors.As(err, &f) || f.breaker || attempt >= retries || ctx.Err() != nil {
			return err
		}
		if u.budget != nil {
			if !u.budget.retry() {
				return err
			}
			if !sleep(ctx, jitter(retryBackoff)) {
				return err
			}
		}
		u.log.Debug("retry upstream call", "upstream", u.name, "attempt", attempt+1, "err", f.err)
	}
}

// attempt is one call through the breaker; retry says it repeats a failed
// one. Only calls the breaker lets through are counted as sent.
func (u *upstream) attempt(ctx context.Context, retry bool, fn func(context.Context) error) error {
	var t ticket
	if u.breaker != nil {
		var wait time.Duration
		var ok bool
		t, wait, ok = u.breaker.allow()
		if !ok {
			return &failure{upstream: u.name, retryAfter: ceilSeconds(wait), breaker: true}
		}
	}
	u.calls.Add(1)
	if retry {
		u.retries.Add(1)
	}
	u.seconds.add(time.Now(), retry)
	err := fn(ctx)
	o := classify(ctx, err)
	if u.breaker != nil {
		u.breaker.done(t, o)
	}
	if err == nil {
		return nil
	}
	var e *mockstore.Error
	if errors.As(err, &e) && status(e) < 500 {
		return e
	}
	f := &failure{upstream: u.name, retryAfter: defaultRetryAS, err: err}
	if e != nil {
		if e.RetryAfter > 0 {
			f.retryAfter = e.RetryAfter
		}
		if e.Code.Retryable() {
			f.code = e.Code
		}
	}
	return f
}

// jitter returns d scaled by a random factor in [0.5, 1.5).
func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d)))
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ceilSeconds rounds d up to whole seconds, at least 1.
func ceilSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}
