package judge

import (
	"fmt"
	"strings"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/load/storefront"
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
			samples = int64(a.Auth.LoginsStarted)
		}
		// The truth: the phones auth's store holds, against what each
		// shopper was told.
		if told, logins, ok := notRegisteredTold(r); ok {
			sources = append(sources, source{"shoppers with a phone auth's store holds were told it is not registered", told})
			samples = max(samples, int64(logins))
		}
		samples = max(samples, requests(r, map[string]string{tagEndpoint: "login"}))
		none = "no logins were answered"
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
		// The truth: a 0 shown while the wallet's ledger held money.
		if shown, ok := zeroBalancesFalse(r); ok {
			sources = append(sources, source{"balances shown as 0 while the ledger held money", shown})
		}
	case scenario.ExpNoLockoutByFault:
		want = fmt.Sprintf("at most %d failed logins counted towards a lockout because of our failure", c.Max)
		if err := a.Missing(env.SourceAuth); err != nil {
			return wantUnknown(want, "%s", err)
		}
		sources = append(sources, source{"auth counted", a.Auth.FaultCounted})
		// Shoppers enter only the code their phone received, at once: every
		// lockout they were shown was ours.
		metric, tags = metricShopperError, map[string]string{"code": string(mockstore.CodeLoginLocked)}
		samples = max(int64(a.Auth.LoginsStarted), int64(countObserved(r, storefront.ObserveLogin, answered)))
		none = "no logins were started"
	case scenario.ExpNoFalseRefusal:
		return falseRefusals(r, c.Max)
	case scenario.ExpUndeliveredCodes:
		want = fmt.Sprintf("at most %d login codes that never reached the phone", c.Max)
		if err := a.Missing(env.SourceAuth); err != nil {
			return wantUnknown(want, "%s", err)
		}
		sources = append(sources, source{"auth issued codes never delivered", undelivered(a.Auth)})
		samples = int64(a.Auth.CodesIssued)
		// What the phones saw: a login whose code never came to the inbox
		// before the shopper gave up waiting.
		if r.Observations != nil {
			sources = append(sources, source{"shoppers waited in vain for", countObserved(r, storefront.ObserveCode, unanswered)})
			samples = max(samples, int64(countObserved(r, storefront.ObserveCode, nil)))
		}
		none = "no login codes were issued"
	case scenario.ExpFloodCodesBounded:
		return floodCodesBounded(r, c)
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

// notRegisteredTold returns how many login starts the shoppers saw
// answered "not registered" for a phone auth's store holds, and how many
// login starts were answered; ok is false without observations or
// accounts.
func notRegisteredTold(r *Run) (told, logins int, ok bool) {
	if r.Observations == nil || r.Audit.Missing(env.SourceAccounts) != nil {
		return 0, 0, false
	}
	registered := map[string]bool{}
	for _, u := range r.Audit.Accounts {
		registered[u.Phone] = true
	}
	for _, o := range r.Observations {
		if o.Kind != storefront.ObserveLogin || o.Status == 0 {
			continue
		}
		logins++
		if o.Code == string(mockstore.CodeNotRegistered) && registered[o.Phone] {
			told++
		}
	}
	return told, logins, true
}

// zeroBalancesFalse returns how many balances of 0 the shoppers were
// shown while the wallet's ledger held money throughout the request; ok is
// false without observations or the ledger.
func zeroBalancesFalse(r *Run) (n int, ok bool) {
	if r.Observations == nil || r.Audit.Missing(env.SourceLedger) != nil {
		return 0, false
	}
	t := &truth{ledger: ledgerByUser(r.Audit.Ledger)}
	for _, o := range r.Observations {
		if o.Kind != storefront.ObserveZeroBalance {
			continue
		}
		if least, known := t.leastBalance(o.UserID, o.Sent, o.At); known && least > 0 {
			n++
		}
	}
	return n, true
}

// answered and unanswered select observations by whether an answer came.
var (
	answered   = func(o storefront.Observation) bool { return o.Status != 0 }
	unanswered = func(o storefront.Observation) bool { return o.Status == 0 }
)

// countObserved counts the observations of kind that keep holds for (all
// of them when keep is nil).
func countObserved(r *Run, kind string, keep func(storefront.Observation) bool) int {
	n := 0
	for _, o := range r.Observations {
		if o.Kind == kind && (keep == nil || keep(o)) {
			n++
		}
	}
	return n
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
