package judge

import (
	"testing"
	"time"

	"github.com/gameday/gameday/internal/scenario"
)

// journey adds, for each second in [from, to), n checkout journeys of which
// ok succeeded, and n checkout requests taking ms each.
func (b *builder) journey(from, to int, n, ok int64, ms float64) *builder {
	return b.rate(from, to, "journey_success", checkoutJourney, n, ok).
		trend(from, to, "http_req_duration", checkoutJourney, repeat(ms, int(n))...)
}

func recovery(journey string, within time.Duration) scenario.Check {
	return scenario.Check{Kind: scenario.CheckRecovery, Subject: journey, Within: within, Name: "recovery of " + journey}
}

func TestRecovery(t *testing.T) {
	tests := []struct {
		name   string
		series func(b *builder)
		tl     func(tl *Timeline)
		within time.Duration
		status Status
		got    float64
		say    []string
	}{
		{
			name: "back at once",
			series: func(b *builder) {
				b.journey(0, 15, 10, 10, 100).journey(15, 35, 10, 2, 2000).journey(35, 60, 10, 10, 100)
			},
			within: 10 * time.Second, status: Pass, got: 0, say: []string{"back in band at +35.0s", "success >= 0.95 and p95 <= 150ms"},
		},
		{
			name: "back within the bound",
			series: func(b *builder) {
				b.journey(0, 15, 10, 10, 100).journey(15, 42, 10, 2, 2000).journey(42, 60, 10, 10, 100)
			},
			within: 10 * time.Second, status: Pass, got: 7, say: []string{"+35.0s: success 0.2 (6/30), p95 2s over 3s"},
		},
		{
			name: "back too late",
			series: func(b *builder) {
				b.journey(0, 15, 10, 10, 100).journey(15, 47, 10, 2, 2000).journey(47, 60, 10, 10, 100)
			},
			within: 10 * time.Second, status: Fail, got: 12, say: []string{"back in band at +47.0s, 12s after"},
		},
		{
			name: "latency keeps it out of band",
			series: func(b *builder) {
				b.journey(0, 15, 10, 10, 100).journey(15, 35, 10, 2, 2000).journey(35, 44, 10, 10, 1000).journey(44, 60, 10, 10, 120)
			},
			within: 5 * time.Second, status: Fail, got: 9,
		},
		{
			name: "a small drop in success is within the band",
			series: func(b *builder) {
				b.journey(0, 15, 40, 40, 100).journey(15, 35, 40, 0, 100).journey(35, 60, 40, 39, 100)
			},
			within: 10 * time.Second, status: Pass, got: 0,
		},
		{
			name: "a drop of more than 5 points is not",
			series: func(b *builder) {
				b.journey(0, 15, 20, 20, 100).journey(15, 35, 20, 0, 100).journey(35, 60, 20, 18, 100)
			},
			within: 10 * time.Second, status: Fail, got: 25, say: []string{"not back in band in the 25s the series lasts"},
		},
		{
			name: "a fast baseline gets 50ms of slack",
			series: func(b *builder) {
				b.journey(0, 15, 10, 10, 20).journey(15, 35, 10, 10, 500).journey(35, 60, 10, 10, 60)
			},
			within: 10 * time.Second, status: Pass, got: 0, say: []string{"p95 <= 70ms"},
		},
		{
			name: "too few journeys in a span do not count",
			series: func(b *builder) {
				b.journey(0, 15, 10, 10, 100).journey(15, 35, 10, 0, 100).journey(35, 45, 0, 0, 100).journey(45, 60, 10, 10, 100)
			},
			within: 10 * time.Second, status: Pass, got: 10,
		},
		{
			name: "other journeys do not count",
			series: func(b *builder) {
				b.journey(0, 15, 10, 10, 100).journey(15, 35, 10, 0, 100).journey(35, 60, 10, 10, 100).
					rate(35, 60, "journey_success", tags("journey", "login"), 10, 0)
			},
			within: 10 * time.Second, status: Pass, got: 0,
		},
		{
			name: "latency found by endpoint when requests carry no journey",
			series: func(b *builder) {
				b.rate(0, 15, "journey_success", checkoutJourney, 10, 10).trend(0, 15, "http_req_duration", checkoutEndpoint, repeat(100, 10)...).
					rate(15, 35, "journey_success", checkoutJourney, 10, 10).trend(15, 35, "http_req_duration", checkoutEndpoint, repeat(900, 10)...).
					rate(35, 60, "journey_success", checkoutJourney, 10, 10).trend(35, 38, "http_req_duration", checkoutEndpoint, repeat(900, 10)...).
					trend(38, 60, "http_req_duration", checkoutEndpoint, repeat(100, 10)...)
			},
			within: 10 * time.Second, status: Pass, got: 3,
		},
		{
			name: "the fault ends within a second",
			series: func(b *builder) {
				b.journey(0, 15, 10, 10, 100).journey(15, 36, 10, 0, 100).journey(36, 60, 10, 10, 100)
			},
			tl:     func(tl *Timeline) { tl.Faults[0].To = 35*time.Second + 400*time.Millisecond },
			within: 10 * time.Second, status: Pass, got: 0.6,
		},
		{
			name:   "never back but the series is too short to tell",
			series: func(b *builder) { b.journey(0, 15, 10, 10, 100).journey(15, 40, 10, 0, 100) },
			within: 10 * time.Second, status: Unknown, say: []string{"ends 5s after the last fault"},
		},
		{
			name:   "too thin a baseline",
			series: func(b *builder) { b.journey(0, 15, 1, 1, 100).journey(15, 60, 10, 10, 100) },
			within: 10 * time.Second, status: Unknown, say: []string{"15 checkout journeys", "fewer than 20"},
		},
		{
			name: "a baseline without latency",
			series: func(b *builder) {
				b.rate(0, 15, "journey_success", checkoutJourney, 10, 10).journey(15, 60, 10, 10, 100)
			},
			within: 10 * time.Second, status: Unknown, say: []string{"0 latency samples"},
		},
		{
			name:   "no faults",
			series: func(b *builder) { b.journey(0, 60, 10, 10, 100) },
			tl:     func(tl *Timeline) { tl.Faults = nil },
			within: 10 * time.Second, status: Unknown, say: []string{"no faults"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b builder
			tt.series(&b)
			tl := timeline()
			if tt.tl != nil {
				tt.tl(&tl)
			}
			v := Decide(&Run{Timeline: tl, Series: b.pts}, recovery("checkout", tt.within))
			wantVerdict(t, v, tt.status, tt.got, tt.say...)
			if v.Status != Unknown && v.Unit != UnitSeconds {
				t.Errorf("unit %q, want seconds", v.Unit)
			}
		})
	}
}
