package gateway

import (
	"sync"
	"time"
)

// Breaker states, as breaker.State reports them.
const (
	stateClosed   = "closed"
	stateOpen     = "open"
	stateHalfOpen = "half_open"
)

// outcome is what an upstream call said about the upstream's health.
type outcome int

const (
	outcomeSuccess outcome = iota // the upstream answered (2xx or 4xx)
	outcomeFailure                // no answer, or a 5xx
	outcomeIgnore                 // says nothing (our own caller gave up)
)

// breakerConfig sets when a breaker opens and for how long.
type breakerConfig struct {
	Threshold int           // consecutive failures that open it
	MinCalls  int           // calls in Window before the failure ratio counts
	Ratio     float64       // failure ratio over Window that opens it
	Window    time.Duration // the sliding window of the ratio rule
	OpenFor   time.Duration // how long it stays open before a probe
}

// windowBuckets is how many slices a sliding window is cut into.
const windowBuckets = 10

// bucket counts events in one slice of a sliding window.
type bucket struct {
	id     int64 // which slice of time it holds (now / width)
	calls  int
	events int // failures (breaker) or retries (budget)
}

// window is a sliding window of counts, cut into windowBuckets slices.
// It is not safe for concurrent use: its owner holds a lock.
type window struct {
	width   time.Duration
	buckets [windowBuckets]bucket
}

func newWindow(d time.Duration) window {
	w := d / windowBuckets
	if w <= 0 {
		w = time.Millisecond
	}
	return window{width: w}
}

func (w *window) at(now time.Time) *bucket {
	id := now.UnixNano() / int64(w.width)
	b := &w.buckets[int(uint64(id)%windowBuckets)]
	if b.id != id {
		*b = bucket{id: id}
	}
	return b
}

// sums returns the calls and events of the slices still inside the window.
func (w *window) sums(now time.Time) (calls, events int) {
	id := now.UnixNano() / int64(w.width)
	for _, b := range w.buckets {
		if b.id > id-windowBuckets && b.id <= id {
			calls += b.calls
			events += b.events
		}
	}
	return calls, events
}

func (w *window) reset() { w.buckets = [windowBuckets]bucket{} }

// breaker is one upstream's circuit breaker. Closed, it lets every call
// through and opens after Threshold consecutive failures or when at least
// Ratio of at least MinCalls calls in Window failed. Open, it refuses every
// call until OpenFor has passed, then turns half-open and lets exactly one
// probe through: its success closes the breaker, its failure opens it again.
// Results of calls admitted before the last transition are ignored.
type breaker struct {
	cfg    breakerConfig
	now    func() time.Time
	onOpen func() // called (with the lock held) at every opening

	mu          sync.Mutex
	state       string
	gen         uint64 // bumped at every transition; stale results are ignored
	consecutive int
	win         window
	until       time.Time // open: when it turns half-open
	probing     bool      // half-open: the probe is in flight
	openings    int
}

func newBreaker(cfg breakerConfig, now func() time.Time, onOpen func()) *breaker {
	return &breaker{cfg: cfg, now: now, onOpen: onOpen, state: stateClosed, win: newWindow(cfg.Window)}
}

// ticket is a call admitted by the breaker; its outcome goes back through done.
type ticket struct {
	gen   uint64
	probe bool
}

// allow admits a call, or refuses it and says how long until the breaker
// lets a probe through (at least 1s while a probe is in flight).
func (b *breaker) allow() (ticket, time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	switch b.state {
	case stateOpen:
		if wait := b.until.Sub(now); wait > 0 {
			return ticket{}, wait, false
		}
		b.state = stateHalfOpen
		b.gen++
		b.probing = false
		fallthrough
	case stateHalfOpen:
		if b.probing {
			return ticket{}, time.Second, false
		}
		b.probing = true
		return ticket{gen: b.gen, probe: true}, 0, true
	default:
		return ticket{gen: b.gen}, 0, true
	}
}

// done records the outcome of an admitted call.
func (b *breaker) done(t ticket, o outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.gen != b.gen {
		return
	}
	now := b.now()
	if t.probe {
		switch o {
		case outcomeSuccess:
			b.close()
		case outcomeFailure:
			b.open(now)
		default:
			b.probing = false // the next caller probes
		}
		return
	}
	if b.state != stateClosed || o == outcomeIgnore {
		return
	}
	bk := b.win.at(now)
	bk.calls++
	if o == outcomeSuccess {
		b.consecutive = 0
		return
	}
	bk.events++
	b.consecutive++
	calls, fails := b.win.sums(now)
	if b.consecutive >= b.cfg.Threshold ||
		(calls >= b.cfg.MinCalls && float64(fails) >= b.cfg.Ratio*float64(calls)) {
		b.open(now)
	}
}

func (b *breaker) open(now time.Time) {
	b.state = stateOpen
	b.gen++
	b.until = now.Add(b.cfg.OpenFor)
	b.probing = false
	b.openings++
	if b.onOpen != nil {
		b.onOpen()
	}
}

func (b *breaker) close() {
	b.state = stateClosed
	b.gen++
	b.probing = false
	b.consecutive = 0
	b.win.reset()
}

// State returns "closed", "open" or "half_open". An open breaker whose time
// is up reports half_open (the next call will probe).
func (b *breaker) State() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == stateOpen && !b.now().Before(b.until) {
		return stateHalfOpen
	}
	return b.state
}

// Openings returns how many times the breaker opened.
func (b *breaker) Openings() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.openings
}
