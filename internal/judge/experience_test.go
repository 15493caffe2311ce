package judge

import (
	"fmt"
	"testing"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

func experience(name string, maxAllowed int) scenario.Check {
	least, _ := scenario.Least(scenario.CheckExperience, name)
	return scenario.Check{Kind: scenario.CheckExperience, Subject: name, Name: name, Max: maxAllowed, MinSamples: least}
}

// leastOf is the catalogue's least of the experience check name.
func leastOf(name string) int {
	n, _ := scenario.Least(scenario.CheckExperience, name)
	return n
}

func TestExperienceChecks(t *testing.T) {
	answered := map[string]int{"200": 900, "503:temporarily_unavailable": 40}
	gateway := func(f func(g *mockstore.GatewayAudit)) func(a *env.Audit) {
		return func(a *env.Audit) {
			a.Gateway = &mockstore.GatewayAudit{Responses: map[string]int{}}
			for k, v := range answered {
				a.Gateway.Responses[k] = v
			}
			if f != nil {
				f(a.Gateway)
			}
		}
	}
	notRegistered := tags("code", string(mockstore.CodeNotRegistered))
	tests := []struct {
		name   string
		check  scenario.Check
		audit  func(a *env.Audit)
		series func(b *builder)
		idle   bool // no load at all: the series holds no requests
		status Status
		got    float64
		say    []string
	}{
		// no_false_not_registered
		{name: "nobody told not registered", check: experience(scenario.ExpNoFalseNotRegistered, 0),
			audit: func(a *env.Audit) {
				gateway(nil)(a)
				a.Auth = &mockstore.AuthAudit{LoginsStarted: 300}
			},
			status: Pass, got: 0},
		{name: "gateway said not registered", check: experience(scenario.ExpNoFalseNotRegistered, 0),
			audit:  gateway(func(g *mockstore.GatewayAudit) { g.Responses["404:phone_not_registered"] = 7 }),
			status: Fail, got: 7, say: []string{"the gateway answered 7"}},
		{name: "auth said not registered, shoppers saw it", check: experience(scenario.ExpNoFalseNotRegistered, 0),
			audit: func(a *env.Audit) {
				gateway(nil)(a)
				a.Auth = &mockstore.AuthAudit{LoginsStarted: 300, NotRegistered: 3}
			},
			series: func(b *builder) {
				b.counter(18, 19, "shopper_error", notRegistered, 1).counter(20, 21, "shopper_error", notRegistered, 4)
			},
			status: Fail, got: 5, say: []string{"auth answered 3", "shoppers saw 5", "+18.0s: 1 shopper_error", "+20.0s: 4 shopper_error"}},
		{name: "not registered within max", check: experience(scenario.ExpNoFalseNotRegistered, 5),
			audit: func(a *env.Audit) {
				gateway(func(g *mockstore.GatewayAudit) { g.Responses["404:phone_not_registered"] = 5 })(a)
				a.Auth = &mockstore.AuthAudit{LoginsStarted: 300}
			},
			status: Pass, got: 5},
		{name: "not registered: too few logins", check: experience(scenario.ExpNoFalseNotRegistered, 0),
			audit: func(a *env.Audit) {
				gateway(nil)(a)
				a.Auth = &mockstore.AuthAudit{LoginsStarted: leastOf(scenario.ExpNoFalseNotRegistered) - 1}
			},
			idle: true, status: Unknown, say: []string{fmt.Sprintf("judged %d login starts, fewer than %d", leastOf(scenario.ExpNoFalseNotRegistered)-1, leastOf(scenario.ExpNoFalseNotRegistered))}},
		{name: "other shopper errors do not count", check: experience(scenario.ExpNoFalseNotRegistered, 0),
			audit: func(a *env.Audit) {
				gateway(nil)(a)
				a.Auth = &mockstore.AuthAudit{LoginsStarted: 300}
			},
			series: func(b *builder) { b.counter(18, 19, "shopper_error", tags("code", "temporarily_unavailable"), 9) },
			status: Pass, got: 0},
		{name: "not registered: neither audit read", check: experience(scenario.ExpNoFalseNotRegistered, 0),
			audit: func(a *env.Audit) {}, status: Unknown, say: []string{"not read"}},
		{name: "not registered: nothing answered", check: experience(scenario.ExpNoFalseNotRegistered, 0),
			audit: func(a *env.Audit) { a.Gateway = &mockstore.GatewayAudit{} }, idle: true, status: Unknown, say: []string{"no logins"}},

		// errors_have_retry_after
		{name: "every 5xx has code and Retry-After", check: experience(scenario.ExpErrorsHaveRetryAfter, 0),
			audit: gateway(nil), status: Pass, got: 0},
		{name: "bare 5xx", check: experience(scenario.ExpErrorsHaveRetryAfter, 0),
			audit:  gateway(func(g *mockstore.GatewayAudit) { g.Bare5xx = 12 }),
			series: func(b *builder) { b.counter(16, 19, "bare_5xx", nil, 4) },
			status: Fail, got: 12, say: []string{"the gateway answered 12", "shoppers saw 12", "+16.0s: 4 bare_5xx"}},
		{name: "bare 5xx only shoppers saw (a proxy's answer)", check: experience(scenario.ExpErrorsHaveRetryAfter, 0),
			audit:  gateway(nil),
			series: func(b *builder) { b.counter(16, 17, "bare_5xx", nil, 2) },
			status: Fail, got: 2},
		{name: "bare 5xx: gateway not read", check: experience(scenario.ExpErrorsHaveRetryAfter, 0),
			audit: func(a *env.Audit) { a.Unread = map[string]string{env.SourceGateway: "refused"} }, status: Unknown, say: []string{"refused"}},

		// forced_logouts
		{name: "forced logouts within max", check: experience(scenario.ExpForcedLogouts, 3),
			audit: gateway(func(g *mockstore.GatewayAudit) { g.ForcedLogouts = 3 }), status: Pass, got: 3},
		{name: "forced logouts over max", check: experience(scenario.ExpForcedLogouts, 3),
			audit:  gateway(func(g *mockstore.GatewayAudit) { g.ForcedLogouts = 4 }),
			status: Fail, got: 4, say: []string{"at most 3 forced logouts", "the gateway logged out 4"}},
		{name: "forced logouts: nothing answered", check: experience(scenario.ExpForcedLogouts, 0),
			audit: func(a *env.Audit) { a.Gateway = &mockstore.GatewayAudit{} }, idle: true, status: Unknown, say: []string{"no requests"}},

		// no_zero_balance
		{name: "no zero balance shown", check: experience(scenario.ExpNoZeroBalance, 0),
			audit: func(a *env.Audit) {}, series: func(b *builder) { b.counter(0, 60, "http_reqs", tags("endpoint", "wallet"), 10) }, status: Pass, got: 0},
		{name: "zero balance: too few wallet reads", check: experience(scenario.ExpNoZeroBalance, 0),
			audit: func(a *env.Audit) {}, idle: true, series: func(b *builder) { b.counter(0, 2, "http_reqs", tags("endpoint", "wallet"), 2) },
			status: Unknown, say: []string{"judged 4 wallet reads, fewer than 5"}},
		{name: "zero balance shown", check: experience(scenario.ExpNoZeroBalance, 0),
			audit:  func(a *env.Audit) {},
			series: func(b *builder) { b.counter(0, 60, "http_reqs", nil, 10).counter(22, 23, "zero_balance_shown", nil, 2) },
			status: Fail, got: 2, say: []string{"+22.0s: 2 zero_balance_shown"}},
		{name: "zero balance: no requests", check: experience(scenario.ExpNoZeroBalance, 0),
			audit: func(a *env.Audit) {}, idle: true, status: Unknown, say: []string{"no balance"}},

		// no_lockout_by_fault
		{name: "no lockout by fault", check: experience(scenario.ExpNoLockoutByFault, 0),
			audit: func(a *env.Audit) { a.Auth = &mockstore.AuthAudit{LoginsStarted: 200, WrongCodes: 5} }, status: Pass, got: 0},
		{name: "fault counted towards lockout", check: experience(scenario.ExpNoLockoutByFault, 0),
			audit:  func(a *env.Audit) { a.Auth = &mockstore.AuthAudit{LoginsStarted: 200, FaultCounted: 6} },
			status: Fail, got: 6, say: []string{"auth counted 6"}},
		{name: "lockouts shoppers saw, auth counted none", check: experience(scenario.ExpNoLockoutByFault, 0),
			audit: func(a *env.Audit) { a.Auth = &mockstore.AuthAudit{LoginsStarted: 200} },
			series: func(b *builder) {
				b.counter(20, 22, "shopper_error", tags("code", string(mockstore.CodeLoginLocked)), 2)
			},
			status: Fail, got: 4, say: []string{"auth counted 0", "shoppers saw 4"}},
		{name: "lockout: too few logins", check: experience(scenario.ExpNoLockoutByFault, 0),
			audit: func(a *env.Audit) { a.Auth = &mockstore.AuthAudit{LoginsStarted: 3} }, status: Unknown, say: []string{"judged 3 login starts, fewer than 5"}},
		{name: "lockout: no logins", check: experience(scenario.ExpNoLockoutByFault, 0),
			audit: func(a *env.Audit) { a.Auth = &mockstore.AuthAudit{} }, idle: true, status: Unknown, say: []string{"no logins were started"}},
		{name: "lockout: auth not read", check: experience(scenario.ExpNoLockoutByFault, 0),
			audit: func(a *env.Audit) {}, status: Unknown, say: []string{"the auth's audit was not served: GET /audit/auth"}},

		{name: "an experience the judge does not know", check: experience("happy_shoppers", 0),
			audit: gateway(nil), status: Unknown, say: []string{"happy_shoppers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{Timeline: timeline()}
			tt.audit(&r.Audit)
			var b builder
			if !tt.idle {
				shoppers(&b)
			}
			if tt.series != nil {
				tt.series(&b)
			}
			r.Series = b.pts
			v := Decide(r, tt.check)
			wantVerdict(t, v, tt.status, tt.got, tt.say...)
			if v.Status == Fail && (v.Evidence.Count == 0 || v.Evidence.First == "" || v.Evidence.Worst == "") {
				t.Errorf("a failure without evidence: %+v", v.Evidence)
			}
		})
	}
}

// shoppers adds the requests of a load to b: logins, codes entered, balance
// reads and checkouts every second, a few of them answered 503.
func shoppers(b *builder) {
	for _, ep := range []string{"login", "login_verify", "wallet", "checkout", "products"} {
		b.counter(0, 60, "http_reqs", tags("endpoint", ep, "status", "2xx"), 4)
	}
	b.counter(15, 35, "http_reqs", tags("endpoint", "checkout", "status", "5xx"), 1)
}
