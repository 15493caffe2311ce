package judge

import (
	"testing"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore/otp"
)

// TestFloodCodesBounded: the codes the OTP provider delivered to each
// flooded phone against the bound; the phones and attempts come from the
// load, the deliveries from the provider; unknown with too few attempts or
// without the provider's record.
func TestFloodCodesBounded(t *testing.T) {
	const victim, stranger, shopper = "+6281100000039", "+6289900000100", "+6281100000001"
	flood := func(perSecond int64) func(b *builder) {
		return func(b *builder) {
			b.counter(0, 10, metricFloodAttempts, tags("journey", "flood", "name", victim), perSecond).
				counter(0, 10, metricFloodAttempts, tags("journey", "flood", "name", stranger), perSecond)
		}
	}
	delivered := func(codes map[string]int) func(a *env.Audit) {
		return func(a *env.Audit) { a.OTP = &otp.Audit{Sent: map[string]int{"sms": 0}, Codes: codes} }
	}
	check := experience(scenario.ExpFloodCodesBounded, 30)
	tests := []struct {
		name   string
		series func(b *builder)
		audit  func(a *env.Audit)
		status Status
		got    float64
		say    []string
	}{
		{"limited", flood(5), delivered(map[string]int{victim: 30, shopper: 200}), Pass, 30,
			[]string{"at most 30 codes to one flooded phone (" + victim + ", 50 login starts)", "100 login starts on 2 phones"}},
		{"flooded phone over the bound", flood(5), delivered(map[string]int{victim: 50}), Fail, 50,
			[]string{victim + " received 50 codes for 50 login starts"}},
		{"nothing delivered at all", flood(5), delivered(map[string]int{}), Pass, 0, nil},
		{"too few attempts", flood(1), delivered(map[string]int{victim: 20}), Unknown, 0,
			[]string{"judged 20 flood attempts, fewer than 30"}},
		{"no attackers", nil, delivered(map[string]int{victim: 100}), Unknown, 0, []string{"the attackers made no login starts"}},
		{"provider not read", flood(5), func(a *env.Audit) { a.Unread = map[string]string{env.SourceOTP: "connection refused"} }, Unknown, 0,
			[]string{"the otp's audit was not served: GET /audit/otp"}},
		{"provider without per-phone counts", flood(5), func(a *env.Audit) { a.OTP = &otp.Audit{Sent: map[string]int{"sms": 9}} }, Unknown, 0,
			[]string{"no count of codes per phone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{Timeline: timeline()}
			tt.audit(&r.Audit)
			if tt.series != nil {
				var b builder
				tt.series(&b)
				r.Series = b.pts
			}
			v := Decide(r, check)
			wantVerdict(t, v, tt.status, tt.got, tt.say...)
			if v.Status == Fail && (v.Evidence.Count != 1 || v.Evidence.First == "") {
				t.Errorf("a failure without its evidence: %+v", v.Evidence)
			}
		})
	}
}
