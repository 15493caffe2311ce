package storefront

import (
	"net/http"
	"testing"

	"github.com/gameday/gameday/internal/load"
)

// TestCheckoutLostAnswer: a checkout whose answer was lost is sent again,
// each time counted as checkout_retry; most apps keep the Idempotency-Key
// (the same order), an app that makes a key per attempt (GAMEDAY_NEW_KEY)
// sends a new one each time. Go's transport may itself resend a request
// that carries an Idempotency-Key once, on a reused connection closed
// without an answer; that resend keeps the key and is not the app's retry.
func TestCheckoutLostAnswer(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		newKey float64
		kind   string
	}{{"same key", 0, RetrySameKey}, {"new key", 1, RetryNewKey}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.on("POST /api/v1/checkout", sequence(noAnswer, noAnswer, noAnswer,
				reply(http.StatusCreated, `{"order_id":"o1","status":"paid","amount":1000}`)))
			s := quick()
			s.NewKey = tt.newKey
			u, rec := loggedIn(t, f, s)
			if u.newKey != (tt.newKey == 1) {
				t.Fatalf("newKey = %v with GAMEDAY_NEW_KEY %v", u.newKey, tt.newKey)
			}
			u.Iterate(ctxFor(t), load.Iteration{})
			wantJourneys(t, rec, "browse=true", "cart=true", "wallet=true", "checkout=true")

			keys := map[string]bool{}
			reqs := f.requests("POST /api/v1/checkout")
			for _, r := range reqs {
				keys[r.header.Get("Idempotency-Key")] = true
			}
			retries := rec.sum(MetricCheckoutRetry, load.Tags{Name: tt.kind})
			if retries < 1 || int(retries) >= len(reqs) {
				t.Fatalf("%v retries counted as %s for %d requests", retries, tt.kind, len(reqs))
			}
			other := map[string]string{RetrySameKey: RetryNewKey, RetryNewKey: RetrySameKey}[tt.kind]
			wantCount(t, rec, MetricCheckoutRetry, load.Tags{Name: other}, 0)
			want := 1
			if tt.newKey == 1 {
				want = int(retries) + 1 // a key per attempt of the app
			}
			if len(keys) != want {
				t.Errorf("%d keys over %d requests and %v retries, want %d: %v", len(keys), len(reqs), retries, want, keys)
			}
		})
	}
}
