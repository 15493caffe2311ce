package gateway

import (
	"sync"
	"time"
)

// budget bounds the retries to one upstream: a retry is allowed only while
// the retries over the sliding window stay at most ratio of the calls over
// it. Calls deposit a fraction of a token and each retry spends a whole one,
// so a failing upstream gets at most ratio extra load, never a herd.
type budget struct {
	ratio float64
	now   func() time.Time

	mu  sync.Mutex
	win window // calls and retries
}

func newBudget(ratio float64, d time.Duration, now func() time.Time) *budget {
	return &budget{ratio: ratio, now: now, win: newWindow(d)}
}

// call records one call (not a retry).
func (b *budget) call() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.win.at(b.now()).calls++
}

// retry spends a retry and reports whether the budget allowed it.
func (b *budget) retry() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	calls, retries := b.win.sums(now)
	if float64(retries+1) > b.ratio*float64(calls) {
		return false
	}
	b.win.at(now).events++
	return true
}
