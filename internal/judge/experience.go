package judge

import (
	"fmt"
	"strings"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

// Metrics of the series the experience checks read (see scenario.Metrics);
// the load scripts write them as shoppers see their answers.
const (
	metricShopperError = "shopper_error"      // tag code: the error code shown
	metricBare5xx      = "bare_5xx"           // 5xx without a code or Retry-After
	metricForcedLogout = "forced_logout"      // logged out with a valid session
	metricZeroBalance  = "zero_balance_shown" // balance shown as 0 though there was money
	metricCrossUser    = "cross_user_data"    // answers carrying another user's data
)

// source is one count of the same kind of offence, as one witness saw it.
type source struct {
	name string
	n    int
}

// experienceVerdict decides a shopper-experience check: the offending
// answers must be at most the check's max. Several witnesses may count the
// same answers — the gateway's audit of what it answered, a service's audit,
// the shoppers' own series — so Got is the largest of their counts, never
// their sum, and the reason gives each.
func experienceVerdict(r *Run, c scenario.Check) Verdict {
	a := &r.Audit
	var (
		want    string
		sources []source
		samples int64
		metric  string
		tags    map[string]string
		none    string // why there is nothing to judge, when samples is 0
	)
	_, reqs := seriesTotal(r, metricReqs, nil)
	switch c.Subject {
	case scenario.ExpNoFalseNotRegistered:
		want = fmt.Sprintf("at most %d answers saying a registered phone is not registered", c.Max)
		if a.Gateway == nil && a.Auth == nil {
			return wantUnknown(want, "%s", a.Missing(env.SourceGateway))
		}
		metric, tags = metricShopperError, map[string]string{"code": string(mockstore.CodeNotRegistered)}
		if a.Gateway != nil {
			n := 0
			for k, v := range a.Gateway.Responses {
				if strings.HasSuffix(k, ":"+string(mockstore.CodeNotRegistered)) {
					n += v
				}
			}
			sources = append(sources, source{"the gateway answered", n})
		}
		if a.Auth != nil {
			sources = append(sources, source{"auth answered", a.Auth.NotRegistered})
		}
		samples = requests(r, map[string]string{tagEndpoint: "login"})
		none = "shoppers started no logins"
	case scenario.ExpErrorsHaveRetryAfter:
		want = fmt.Sprintf("at most %d 5xx answers without a code and Retry-After", c.Max)
		if err := a.Missing(env.SourceGateway); err != nil {
			return wantUnknown(want, "%s", err)
		}
		metric = metricBare5xx
		sources = append(sources, source{"the gateway answered", a.Gateway.Bare5xx})
		// The 5xx answers judged: as many as shoppers saw, or the gateway
		// gave when more of them never reached a shopper.
		samples = max(requests(r, map[string]string{"status": "5xx"}), int64(gateway5xx(a.Gateway)))
		none = "no answer was a 5xx"
	case scenario.ExpForcedLogouts:
		want = fmt.Sprintf("at most %d forced logouts", c.Max)
		if err := a.Missing(env.SourceGateway); err != nil {
			return wantUnknown(want, "%s", err)
		}
		metric = metricForcedLogout
		sources = append(sources, source{"the gateway logged out", a.Gateway.ForcedLogouts})
		samples = reqs
		none = "the series holds no requests"
	case scenario.ExpNoZeroBalance:
		want = fmt.Sprintf("at most %d balances shown as 0 because of a failure", c.Max)
		metric = metricZeroBalance
		samples = requests(r, map[string]string{tagEndpoint: "wallet"})
		none = "shoppers read no balance"
	case scenario.ExpNoLockoutByFault:
		want = fmt.Sprintf("at most %d failed logins counted towards a lockout because of our failure", c.Max)
		if err := a.Missing(env.SourceAuth); err != nil {
			return wantUnknown(want, "%s", err)
		}
		sources = append(sources, source{"auth counted", a.Auth.FaultCounted})
		samples = requests(r, map[string]string{tagEndpoint: "login_verify"})
		none = "shoppers entered no codes"
	case scenario.ExpNoFalseRefusal:
		want = fmt.Sprintf("at most %d checkouts refused with a reason that was not true", c.Max)
		if err := a.Missing(env.SourceGateway); err != nil {
			return wantUnknown(want, "%s", err)
		}
		sources = append(sources, source{"the gateway refused falsely", a.Gateway.FalseRefusals})
		samples = requests(r, map[string]string{tagEndpoint: "checkout"})
		none = "shoppers made no checkout requests"
	case scenario.ExpUndeliveredCodes:
		want = fmt.Sprintf("at most %d login codes that never reached the phone", c.Max)
		if err := a.Missing(env.SourceAuth); err != nil {
			return wantUnknown(want, "%s", err)
		}
		sources = append(sources, source{"auth issued codes never delivered", undelivered(a.Auth)})
		samples = int64(a.Auth.CodesIssued)
		none = "no login codes were issued"
	default:
		return unknown("the judge has no experience check %q", c.Subject)
	}
	if metric != "" {
		shown, _ := seriesTotal(r, metric, tags)
		sources = append(sources, source{"shoppers saw", int(shown)})
	}

	got, most := 0, ""
	parts := make([]string, len(sources))
	for i, s := range sources {
		parts[i] = fmt.Sprintf("%s %d", s.name, s.n)
		if s.n > got {
			got, most = s.n, parts[i]
		}
	}
	v := Verdict{Want: want, Got: float64(got), Measured: true}
	v.Evidence.Samples, v.Evidence.Count = samples, got
	if metric != "" {
		v.Evidence.First, v.Evidence.Worst = seriesSeconds(r, metric, tags)
	}
	if v.Evidence.First == "" && got > 0 {
		// Only an audit saw them: it has counts, not times.
		v.Evidence.First, v.Evidence.Worst = most, most
	}
	v.Reason = strings.Join(parts, ", ")
	switch {
	case got > c.Max:
		v.Status = Fail
	case samples == 0:
		v.Status, v.Measured, v.Got = Unknown, false, 0
		v.Reason = none
	default:
		v.Status = Pass
	}
	return v
}

// undelivered is how many codes auth issued that no channel delivered: the
// codes issued less the codes delivered, which auth counts once per code
// however many of its sends (a late SMS and its WhatsApp fallback) the
// provider acknowledged; bounded below by 0.
func undelivered(a *mockstore.AuthAudit) int {
	return max(0, a.CodesIssued-a.CodesDelivered)
}

// requests returns how many requests of the series carry every tag of tags
// (answered or not): what the shoppers did, as the load counted it.
func requests(r *Run, tags map[string]string) int64 {
	var n int64
	for i := range r.Series {
		if p := &r.Series[i]; matches(p, metricReqs, tags) {
			n += p.Count
		}
	}
	return n
}

// gateway5xx returns how many 5xx answers the gateway's audit counts.
func gateway5xx(g *mockstore.GatewayAudit) int {
	n := 0
	for k, v := range g.Responses {
		if strings.HasPrefix(k, "5") {
			n += v
		}
	}
	return n
}
