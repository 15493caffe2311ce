package judge

import (
	"fmt"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

// verifies makes auth's records of n verifies of distinct logins, each of a
// code issued at offset issued, decided at offset issued+after with outcome.
func verifies(prefix string, n int, issued, after time.Duration, outcome string) []mockstore.VerifyRecord {
	out := make([]mockstore.VerifyRecord, n)
	for i := range out {
		out[i] = mockstore.VerifyRecord{LoginID: fmt.Sprintf("%s%d", prefix, i), IssuedAt: at(issued), At: at(issued + after), Outcome: outcome}
	}
	return out
}

// TestOTPRules: the four checks of the OTP rules — from the shoppers'
// observations (late and reused codes refused) and from auth's record of
// every verify (no code accepted past issue + lifetime, none twice) — each
// failing on one acceptance, unknown below its least, passing above it.
func TestOTPRules(t *testing.T) {
	const life = 8 * time.Second
	least := func(name string, n int) scenario.Check {
		c := invariant(name)
		c.MinSamples = n
		return c
	}
	expired := string(mockstore.CodeCodeExpired)
	accepted := mockstore.VerifyAccepted
	entered := func(status, code string) map[string]string {
		return tags("endpoint", "login_verify", "journey", "login", "status", status, "code", code)
	}
	twice := func(n int) []mockstore.VerifyRecord { // n codes accepted, each tried again and refused
		var out []mockstore.VerifyRecord
		for _, v := range verifies("l", n, 10*s, s, accepted) {
			again := v
			again.At, again.Outcome = v.At.Add(s), expired
			out = append(out, v, again)
		}
		return out
	}
	tests := []struct {
		name     string
		check    scenario.Check
		verifies []mockstore.VerifyRecord
		series   func(b *builder)
		status   Status
		got      float64
		say      []string
	}{
		// otp_late_refused, from the shoppers' observations
		{name: "late codes refused", check: least(scenario.InvOTPLateRefused, 10),
			series: func(b *builder) { b.counter(20, 32, metricOTPLateEntered, entered("4xx", expired), 1) },
			status: Pass, got: 0, say: []string{"12 entered, 12 answered", "4xx code_expired ×12"}},
		{name: "a late code accepted", check: least(scenario.InvOTPLateRefused, 10),
			series: func(b *builder) {
				b.counter(20, 22, metricOTPLateEntered, entered("4xx", expired), 1).
					counter(25, 26, metricOTPLateEntered, entered("2xx", ""), 1).
					counter(25, 26, metricOTPLateAccepted, tags("endpoint", "login_verify", "journey", "login"), 1)
			},
			status: Fail, got: 1, say: []string{"1 accepted of 3 entered", "+25.0s: 1 otp_late_accepted"}},
		{name: "late codes: too few answered", check: least(scenario.InvOTPLateRefused, 10),
			series: func(b *builder) {
				b.counter(20, 25, metricOTPLateEntered, entered("4xx", expired), 1).
					counter(20, 30, metricOTPLateEntered, entered("5xx", "temporarily_unavailable"), 1)
			},
			status: Unknown, say: []string{"judged 5 late codes answered, fewer than 10", "15 entered, 5 answered"}},
		{name: "late codes: none entered", check: least(scenario.InvOTPLateRefused, 1),
			status: Unknown, say: []string{"judged 0 late codes answered, fewer than 1", "0 entered"}},
		// otp_reuse_refused
		{name: "reused codes refused", check: least(scenario.InvOTPReuseRefused, 5),
			series: func(b *builder) { b.counter(10, 15, metricOTPReuseEntered, entered("4xx", expired), 2) },
			status: Pass, got: 0, say: []string{"10 entered"}},
		{name: "a reused code accepted, 2xx only", check: least(scenario.InvOTPReuseRefused, 5),
			series: func(b *builder) { b.counter(10, 11, metricOTPReuseEntered, entered("2xx", ""), 2) },
			status: Fail, got: 2, say: []string{"2 accepted"}},

		// otp_within_lifetime, from auth's verifies
		{name: "late verifies all refused", check: least(scenario.InvOTPWithinLifetime, 10),
			verifies: append(verifies("a", 30, 5*s, 2*s, accepted), verifies("x", 12, 5*s, life+s, expired)...),
			status:   Pass, got: 0, say: []string{"12 of 42 verifies came at or after"}},
		{name: "a code accepted after issue + lifetime", check: least(scenario.InvOTPWithinLifetime, 10),
			verifies: append(verifies("x", 12, 5*s, life+s, expired), verifies("late", 1, 20*s, life+3*s, accepted)...),
			status:   Fail, got: 1, say: []string{"login late0: code issued at +20.0s accepted at +31.0s, 3s past its lifetime"}},
		{name: "accepted just before issue + lifetime", check: least(scenario.InvOTPWithinLifetime, 1),
			verifies: append(verifies("a", 1, 5*s, life-time.Millisecond, accepted), verifies("x", 1, 5*s, life, expired)...),
			status:   Pass, got: 0},
		{name: "accepted at issue + lifetime exactly", check: least(scenario.InvOTPWithinLifetime, 1),
			verifies: verifies("a", 1, 5*s, life, accepted), status: Fail, got: 1},
		{name: "no late verify", check: least(scenario.InvOTPWithinLifetime, 10),
			verifies: verifies("a", 30, 5*s, 2*s, accepted),
			status:   Unknown, say: []string{"judged 0 verifies at or after their code's issue + lifetime, fewer than 10", "0 of 30 verifies"}},

		// otp_used_once, from auth's verifies
		{name: "codes used once", check: least(scenario.InvOTPUsedOnce, 10),
			verifies: twice(12), status: Pass, got: 0, say: []string{"12 of 24 verifies came for a code already accepted"}},
		{name: "a code accepted twice", check: least(scenario.InvOTPUsedOnce, 10),
			verifies: append(twice(12), mockstore.VerifyRecord{LoginID: "l3", IssuedAt: at(10 * s), At: at(14 * s), Outcome: accepted}),
			status:   Fail, got: 1, say: []string{"login l3: code issued at +10.0s accepted 2 times, again at +14.0s"}},
		{name: "a new code of the same login is another code", check: least(scenario.InvOTPUsedOnce, 1),
			verifies: append(twice(1), mockstore.VerifyRecord{LoginID: "l0", IssuedAt: at(40 * s), At: at(41 * s), Outcome: accepted}),
			status:   Pass, got: 0},
		{name: "no code tried again", check: least(scenario.InvOTPUsedOnce, 10),
			verifies: verifies("a", 30, 5*s, 2*s, accepted), status: Unknown, say: []string{"judged 0 verifies of a code already accepted, fewer than 10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{Timeline: timeline(), OTPLifetime: life}
			r.Audit.Auth = &mockstore.AuthAudit{Verifies: tt.verifies}
			if tt.series != nil {
				var b builder
				tt.series(&b)
				r.Series = b.pts
			}
			v := Decide(r, tt.check)
			wantVerdict(t, v, tt.status, tt.got, tt.say...)
			if v.Status == Fail && (v.Evidence.Count == 0 || v.Evidence.First == "" || v.Evidence.Worst == "") {
				t.Errorf("a failure without evidence: %+v", v.Evidence)
			}
		})
	}
	// Without auth's audit the truth is unknown, never a pass.
	for _, name := range []string{scenario.InvOTPWithinLifetime, scenario.InvOTPUsedOnce} {
		r := &Run{Timeline: timeline(), Audit: env.Audit{Unread: map[string]string{env.SourceAuth: "connection refused"}}}
		wantVerdict(t, Decide(r, least(name, 1)), Unknown, 0, "connection refused")
	}
	// The lifetime defaults to auth's own.
	r := &Run{Timeline: timeline(), Audit: env.Audit{Auth: &mockstore.AuthAudit{Verifies: verifies("a", 1, 0, 4*time.Minute, accepted)}}}
	wantVerdict(t, Decide(r, least(scenario.InvOTPWithinLifetime, 1)), Unknown, 0, "issue + 5m")
}
