package storefront

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/food"
)

// Pace of the partners, as shopper.js had it.
const (
	// driverBatch is how many offered deliveries a driver takes in one
	// round: drivers work the offers together, and one each per round
	// would let a backlog left by a fault outgrow them.
	driverBatch      = 4
	roundPause       = 300 * time.Millisecond // least pause between two rounds
	roundPauseSpread = 200 * time.Millisecond // drawn on top of it
	firstBackoff     = time.Second            // after a failed login; doubles up to maxRetryAfter
)

// partner is a restaurant's merchant or a driver: a person who stays
// logged in for the whole load and works the food orders.
type partner struct {
	*person
	spec    partnerSpec
	pause   time.Duration // before the next round: an answer's Retry-After
	backoff time.Duration // after a failed login, doubling
}

// Work logs in and then polls every 0.3–0.5 s until ctx ends: a merchant
// accepts the restaurant's placed orders, oldest first; a driver takes up
// to four offered deliveries. A refused session is logged in again; a
// failed login is tried again after a pause that doubles up to 10 s; after
// a 503 or 429 the next round waits for its Retry-After. Each round is one
// sample of journey merchant or driver.
func (p *partner) Work(ctx context.Context) {
	for ctx.Err() == nil {
		if p.token == "" {
			if err := p.login(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				p.backoff = nextBackoff(p.backoff)
				if !load.Sleep(ctx, time.Duration(float64(p.backoff)*(1+0.5*p.vu.Rand.Float64()))) {
					return
				}
				continue
			}
			p.backoff = 0
		}
		round := p.driverRound
		if p.spec.role == JourneyMerchant {
			round = p.merchantRound
		}
		ok, err := round(ctx)
		_ = p.journey(ctx, p.spec.role, ok && err == nil)
		wait := max(p.pause, roundPause+time.Duration(p.vu.Rand.Float64()*float64(roundPauseSpread)))
		p.pause = 0
		if !load.Sleep(ctx, wait) {
			return
		}
	}
}

// nextBackoff returns the pause after a failed login that followed a
// pause of d: 1 s after none, else twice d, at most maxRetryAfter.
func nextBackoff(d time.Duration) time.Duration {
	return min(max(2*d, firstBackoff), maxRetryAfter)
}

// merchantRound accepts the restaurant's placed orders, oldest first. It
// reports whether the queue was read and every accept answered; a failure
// of the storefront (no answer, 5xx, 429) ends the round early.
func (p *partner) merchantRound(ctx context.Context) (bool, error) {
	q, err := p.authed(ctx, http.MethodGet, "/api/v1/food/restaurants/"+url.PathEscape(p.spec.restaurant)+"/orders", nil,
		callOpts{endpoint: "merchant_queue", journey: JourneyMerchant, once: true, safe: true})
	if err != nil {
		return false, err
	}
	var orders []food.Order
	if !q.ok || !q.decode(&orders) {
		p.holdOff(q)
		return false, nil
	}
	ok := true
	for _, o := range oldestFirst(orders) {
		if o.Status != "" && o.Status != mockstore.FoodPlaced {
			continue
		}
		a, err := p.authed(ctx, http.MethodPost, "/api/v1/food/orders/"+url.PathEscape(o.OrderID)+"/accept", nil,
			callOpts{endpoint: "merchant_accept", journey: JourneyMerchant, once: true, safe: true})
		if err != nil {
			return false, err
		}
		if a.ok {
			continue
		}
		ok = false
		if failedHard(a) {
			p.holdOff(a)
			break
		}
	}
	return ok, nil
}

// driverRound takes up to driverBatch offered deliveries, starting at a
// random one of the oldest driverBatch (so that drivers do not all race
// for the same order). An order another driver took first (409) is passed
// over: that is how offers work. It reports whether the offers were read
// and every take answered.
func (p *partner) driverRound(ctx context.Context) (bool, error) {
	q, err := p.authed(ctx, http.MethodGet, "/api/v1/food/offers", nil,
		callOpts{endpoint: "driver_offers", journey: JourneyDriver, once: true, safe: true})
	if err != nil {
		return false, err
	}
	var orders []food.Order
	if !q.ok || !q.decode(&orders) {
		p.holdOff(q)
		return false, nil
	}
	offers := slices.DeleteFunc(oldestFirst(orders), func(o food.Order) bool { return o.DriverID != "" })
	if len(offers) == 0 {
		return true, nil
	}
	from := p.vu.Rand.IntN(min(len(offers), driverBatch))
	taken := 0
	for i := 0; i < len(offers) && taken < driverBatch; i++ {
		o := offers[(from+i)%len(offers)]
		t, err := p.authed(ctx, http.MethodPost, "/api/v1/food/orders/"+url.PathEscape(o.OrderID)+"/take", nil,
			callOpts{endpoint: "driver_take", journey: JourneyDriver, once: true, safe: true, expected: http.StatusConflict})
		if err != nil {
			return false, err
		}
		if t.ok {
			taken++
			continue
		}
		if t.expected {
			continue
		}
		p.holdOff(t)
		return false, nil
	}
	return true, nil
}

// oldestFirst returns the orders with an ID, by creation time (stable).
func oldestFirst(orders []food.Order) []food.Order {
	out := slices.DeleteFunc(slices.Clone(orders), func(o food.Order) bool { return o.OrderID == "" })
	slices.SortStableFunc(out, func(a, b food.Order) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// holdOff makes the partner wait out an answer's Retry-After (capped)
// before the next round, as call does between attempts.
func (p *partner) holdOff(a answer) {
	if a.status == http.StatusServiceUnavailable || a.status == http.StatusTooManyRequests {
		p.pause = max(p.pause, min(a.retryAfter(), maxRetryAfter))
	}
}

// failedHard tells whether an answer should end the round: nothing came
// back, or the storefront failed or asked to wait.
func failedHard(a answer) bool {
	return a.status == 0 || a.status >= 500 || a.status == http.StatusTooManyRequests
}
