package scenario

import (
	"slices"
	"time"

	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/mockstore"
)

// This file holds every table the format is made of: toxics, metrics, tags,
// stats, windows, invariants, experiences, and the fields each part of a file
// may have. The parser, the error messages and the JSON Schema
// (scenarios/scenario.schema.json) all read these tables, so they cannot
// disagree.

// AttrType is the type of a toxic attribute's value.
type AttrType string

// Attribute types. A duration is written with a unit ("2s", "400ms") and held
// as a time.Duration; an int is held as int64, a float as float64, a string
// as a string.
const (
	AttrDuration AttrType = "duration"
	AttrInt      AttrType = "int"
	AttrFloat    AttrType = "float"
	AttrString   AttrType = "string"
)

// AttrSpec describes one attribute of a toxic.
type AttrSpec struct {
	Name string
	Type AttrType
	// Default is the value used when the file leaves the attribute out, typed
	// as the attribute's values are (time.Duration, int64, float64 or
	// string); nil when Required.
	Default  any
	Required bool
	// Min and Max bound a number (durations in nanoseconds). Max 0 means no
	// upper bound.
	Min, Max float64
	// Unit is what the toxic takes: for a duration the precision it is sent
	// with ("ms", "µs", "s": a value must be a whole number of it), otherwise
	// what the number means ("KB/s", "bytes").
	Unit string
	Doc  string
}

// ToxicSpec describes one toxic a fault can inject.
type ToxicSpec struct {
	Name string
	Doc  string
	// Proxy is true for a toxic that acts on the link's proxy itself (down
	// disables it) rather than being added to it: it has no stream, no
	// toxicity and no steps.
	Proxy bool
	// Streams are the streams the toxic may be added on; the first is the
	// default. Empty for a Proxy toxic.
	Streams []string
	Attrs   []AttrSpec
}

// Attr returns the attribute called name.
func (t ToxicSpec) Attr(name string) (AttrSpec, bool) {
	for _, a := range t.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return AttrSpec{}, false
}

func (t ToxicSpec) attrNames() []string {
	out := make([]string, len(t.Attrs))
	for i, a := range t.Attrs {
		out[i] = a.Name
	}
	return out
}

// requiredAttrs are the attributes a file must give: without them the toxic
// would do nothing (a latency of 0, an unlimited bandwidth) or nothing
// useful. Everything else about a toxic comes from fault.Toxics().
var requiredAttrs = map[string][]string{
	"latency":      {"latency"},
	"bandwidth":    {"rate"},
	"slow_close":   {"delay"},
	"limit_data":   {"bytes"},
	"http_latency": {"latency"},
}

// durationUnits are the units of fault's catalogue that make an attribute a
// duration in a scenario file.
var durationUnits = map[string]time.Duration{
	"ms": time.Millisecond,
	"µs": time.Microsecond,
	"s":  time.Second,
}

// toxics is the catalogue of internal/fault, as scenario files write it:
// time attributes become durations with a unit, and requiredAttrs are
// required.
var toxics = fromFault(fault.Toxics())

func fromFault(fs []fault.ToxicSpec) []ToxicSpec {
	out := make([]ToxicSpec, len(fs))
	for i, f := range fs {
		t := ToxicSpec{Name: f.Type, Doc: f.Description, Proxy: len(f.Streams) == 0, Streams: slices.Clone(f.Streams)}
		for _, a := range f.Attributes {
			s := AttrSpec{Name: a.Name, Unit: a.Unit, Doc: a.Description, Default: a.Default, Min: a.Min, Max: a.Max}
			switch unit, isDur := durationUnits[a.Unit]; {
			case isDur && a.Kind == fault.KindInt:
				s.Type = AttrDuration
				s.Min, s.Max = a.Min*float64(unit), a.Max*float64(unit)
				n, _ := a.Default.(int64)
				s.Default = time.Duration(n) * unit
			case a.Kind == fault.KindInt:
				s.Type = AttrInt
			case a.Kind == fault.KindFloat:
				s.Type = AttrFloat
			default:
				s.Type = AttrString
			}
			if slices.Contains(requiredAttrs[f.Type], a.Name) {
				s.Required, s.Default = true, nil
			}
			t.Attrs = append(t.Attrs, s)
		}
		out[i] = t
	}
	return out
}

// Toxics returns the toxic catalogue in a fixed order. The caller may not
// modify it.
func Toxics() []ToxicSpec { return toxics }

// ToxicByName returns the toxic called name.
func ToxicByName(name string) (ToxicSpec, bool) {
	for _, t := range toxics {
		if t.Name == name {
			return t, true
		}
	}
	return ToxicSpec{}, false
}

func toxicNames() []string {
	out := make([]string, len(toxics))
	for i, t := range toxics {
		out[i] = t.Name
	}
	return out
}

// Metric kinds, as the series has them.
const (
	KindCounter = "counter"
	KindRate    = "rate"
	KindTrend   = "trend"
)

// MetricSpec describes one metric of the load's series.
type MetricSpec struct {
	Name string
	Kind string // KindCounter, KindRate or KindTrend
	Unit string // "ms" for time trends
	Doc  string
}

var metrics = []MetricSpec{
	{Name: "http_reqs", Kind: KindCounter, Doc: "HTTP requests made"},
	{Name: "http_req_failed", Kind: KindRate, Doc: "share of requests that failed: no answer, or a status of 400 and above"},
	{Name: "http_req_duration", Kind: KindTrend, Unit: "ms", Doc: "request duration"},
	{Name: "iterations", Kind: KindCounter, Doc: "iterations (visits) completed"},
	{Name: "dropped_iterations", Kind: KindCounter, Doc: "iterations due that found no free virtual user (the load could not keep its schedule)"},
	{Name: "checks", Kind: KindRate, Doc: "share of journey-file checks that held"},
	{Name: "check_failures", Kind: KindCounter, Doc: "journey-file checks that failed, by code (check N, capture NAME, no answer, request)"},
	{Name: "journey_success", Kind: KindRate, Doc: "share of journeys (the storefront's login, browse, checkout, ...; a journey file's by name) that succeeded"},
	{Name: "forced_logout", Kind: KindCounter, Doc: "shoppers logged out though their session was valid"},
	{Name: "otp_wait", Kind: KindTrend, Unit: "ms", Doc: "time from login start until the code was in the inbox"},
	{Name: "shopper_error", Kind: KindCounter, Doc: "errors shown to a shopper, by code"},
	{Name: "bare_5xx", Kind: KindCounter, Doc: "5xx answers without a code or without Retry-After"},
	{Name: "cross_user_data", Kind: KindCounter, Doc: "answers carrying another user's data"},
	{Name: "zero_balance_shown", Kind: KindCounter, Doc: "wallet balances shown as 0 though the account had money"},
	{Name: "checkout_retry", Kind: KindCounter, Doc: "checkouts the shoppers sent again after a lost answer, by name: same_key or new_key (the Idempotency-Key)"},
	{Name: "otp_late_entered", Kind: KindCounter, Doc: "login codes entered after their lifetime (load.env GAMEDAY_OTP_LATE), by the answer's status and code"},
	{Name: "otp_late_accepted", Kind: KindCounter, Doc: "login codes entered after their lifetime that were accepted"},
	{Name: "otp_reuse_entered", Kind: KindCounter, Doc: "accepted login codes entered again from another device (load.env GAMEDAY_OTP_REUSE), by the answer's status and code"},
	{Name: "otp_reuse_accepted", Kind: KindCounter, Doc: "accepted login codes entered again that were accepted again"},
	{Name: "flood_attempts", Kind: KindCounter, Doc: "login starts the load's attackers made (GAMEDAY_FLOOD), by phone (tag name)"},
}

// Metrics returns the known metrics in a fixed order.
func Metrics() []MetricSpec { return metrics }

// MetricByName returns the metric called name.
func MetricByName(name string) (MetricSpec, bool) {
	for _, m := range metrics {
		if m.Name == name {
			return m, true
		}
	}
	return MetricSpec{}, false
}

func metricNames() []string {
	out := make([]string, len(metrics))
	for i, m := range metrics {
		out[i] = m.Name
	}
	return out
}

var tags = []string{"endpoint", "journey", "name", "status", "code"}

// Tags returns the tag keys a metric selector may filter on.
func Tags() []string { return tags }

// statusValues are the values of the status tag: a status class, or "0" for
// a request that got no answer.
var statusValues = []string{"2xx", "3xx", "4xx", "5xx", "0"}

// Stats of a metric check: the comparison's key names the statistic.
const (
	StatRate      = "rate"       // rate metrics: share of non-zero samples
	StatCount     = "count"      // counters: total; rates: non-zero samples; trends: samples
	StatPerSecond = "per_second" // counters: total per second of the window
	StatP50       = "p50"
	StatP95       = "p95"
	StatP99       = "p99"
	StatMax       = "max"
	StatAvg       = "avg"
)

var stats = []string{StatRate, StatCount, StatP50, StatP95, StatP99, StatMax, StatAvg, StatPerSecond}

// Stats returns every statistic a metric check may compare, in a fixed order.
func Stats() []string { return stats }

// StatsFor returns the statistics that apply to a metric of kind.
func StatsFor(kind string) []string {
	switch kind {
	case KindCounter:
		return []string{StatCount, StatPerSecond}
	case KindRate:
		return []string{StatRate, StatCount}
	case KindTrend:
		return []string{StatP50, StatP95, StatP99, StatMax, StatAvg, StatCount}
	}
	return nil
}

// Window names.
const (
	WindowRun      = "run"      // the whole load (the default)
	WindowBaseline = "baseline" // before the first fault starts
	WindowFault    = "fault"    // while any fault is active
	WindowRecovery = "recovery" // after the last fault ends
)

var windows = []string{WindowBaseline, WindowFault, WindowRecovery, WindowRun}

// Windows returns the names of the named windows.
func Windows() []string { return windows }

// Invariant names.
const (
	InvMoneyConserved       = "money_conserved"
	InvNoNegativeBalance    = "no_negative_balance"
	InvLedgerMatches        = "ledger_matches"
	InvNoDoubleCharge       = "no_double_charge"
	InvOneOrderPerCart      = "one_order_per_cart"
	InvFailedOrdersRefunded = "failed_orders_refunded"
	InvNoFailedWhileCharged = "no_failed_while_charged"
	InvNoStuckPending       = "no_stuck_pending"
	InvNoLostSessions       = "no_lost_sessions"
	InvNoCrossUserData      = "no_cross_user_data"
	InvRetriesBounded       = "retries_bounded"
	InvPaidOrdersCharged    = "paid_orders_charged"
	InvFoodOrdersOnce       = "food_orders_once"
	InvChatMessagesOnce     = "chat_messages_once"
	InvFoodOrdersDispatched = "food_orders_dispatched"
	InvOTPLateRefused       = "otp_late_refused"
	InvOTPReuseRefused      = "otp_reuse_refused"
	InvOTPWithinLifetime    = "otp_within_lifetime"
	InvOTPUsedOnce          = "otp_used_once"
)

// Invariant parameters.
const (
	ParamAfterFaults = "after_faults" // judge the state this long after the last fault ended
	ParamSLA         = "sla"          // refund deadline after an order failed
	ParamBound       = "bound"        // how long an order may stay pending
)

// InvariantSpec describes one invariant check and the parameters it takes.
type InvariantSpec struct {
	Name   string
	Doc    string
	Params []string
	// Least is how many items the check must have judged for its verdict to
	// count (the check's default min_samples); Judges names those items in
	// the plural ("charged failed orders"). Below Least the verdict is
	// unknown, unless it already failed on offences no further item could
	// undo.
	Least  int
	Judges string
}

var invariants = []InvariantSpec{
	{Name: InvMoneyConserved, Doc: "balances equal opening + top-ups − charges + refunds, and the ledger sums to 0", Least: 1, Judges: "accounts"},
	{Name: InvNoNegativeBalance, Doc: "no account below zero", Least: 1, Judges: "accounts"},
	{Name: InvLedgerMatches, Doc: "every stored balance equals its ledger replayed", Least: 1, Judges: "accounts"},
	{Name: InvNoDoubleCharge, Doc: "at most one charge per order and one refund per charge", Least: 1, Judges: "charges"},
	{Name: InvFailedOrdersRefunded, Doc: "every failed order that was charged is refunded exactly once within the SLA", Params: []string{ParamSLA}, Least: 1, Judges: "charged failed orders"},
	{Name: InvNoFailedWhileCharged, Doc: "no order marked failed while its charge had committed, unless it was pending for at least the bound", Params: []string{ParamBound}, Least: 1, Judges: "charged orders"},
	{Name: InvPaidOrdersCharged, Doc: "every order marked paid holds a charge of its amount in the wallet, not refunded while the order stays paid: nothing the wallet acknowledged was lost", Least: 1, Judges: "paid orders"},
	{Name: InvNoStuckPending, Doc: "no order still created or payment_pending, older than the bound", Params: []string{ParamAfterFaults, ParamBound}, Least: 1, Judges: "orders"},
	{Name: InvNoLostSessions, Doc: "no session lost to a store error and no forced logout", Least: 1, Judges: "sessions issued"},
	{Name: InvNoCrossUserData, Doc: "no answer carried another user's data", Least: 1, Judges: "answers"},
	{Name: InvFoodOrdersOnce, Doc: "no food order placed twice for one Idempotency-Key of its shopper", Least: 1, Judges: "food orders"},
	{Name: InvChatMessagesOnce, Doc: "no chat message stored twice for one Idempotency-Key of its sender", Least: 1, Judges: "chat messages"},
	{Name: InvFoodOrdersDispatched, Doc: "no food order still waiting for its merchant or a driver, older than the bound", Params: []string{ParamAfterFaults, ParamBound}, Least: 1, Judges: "food orders"},
	{Name: InvOneOrderPerCart, Doc: "each cart ordered at most once, even by checkouts retried under a new Idempotency-Key: no two placed orders of one cart at one revision, none placed while another of its cart was being paid", Least: 10, Judges: "checkouts retried under a new key"},
	{Name: InvOTPLateRefused, Least: 10, Judges: "late codes answered",
		Doc: "every login code the shoppers entered after its lifetime (load.env GAMEDAY_OTP_LATE) was refused, as the shoppers saw it"},
	{Name: InvOTPReuseRefused, Least: 10, Judges: "codes entered again and answered",
		Doc: "every accepted login code the shoppers entered again (load.env GAMEDAY_OTP_REUSE) was refused, as the shoppers saw it"},
	{Name: InvOTPWithinLifetime, Least: 10, Judges: "verifies at or after their code's issue + lifetime",
		Doc: "no login code accepted at or after its issue + the lifetime (storefront: otp_lifetime), from auth's record of every verify"},
	{Name: InvOTPUsedOnce, Least: 10, Judges: "verifies of a code already accepted",
		Doc: "no login code accepted twice, from auth's record of every verify"},
	{Name: InvRetriesBounded, Doc: "the gateway's retries to each upstream stay within a fifth of the calls it was asked to make (no retry storm)", Least: 20, Judges: "upstream calls"},
}

// Invariants returns the invariant checks in a fixed order.
func Invariants() []InvariantSpec { return invariants }

func invariantByName(name string) (InvariantSpec, bool) {
	for _, s := range invariants {
		if s.Name == name {
			return s, true
		}
	}
	return InvariantSpec{}, false
}

func invariantNames() []string {
	out := make([]string, len(invariants))
	for i, s := range invariants {
		out[i] = s.Name
	}
	return out
}

// Experience names.
const (
	ExpNoFalseNotRegistered = "no_false_not_registered"
	ExpErrorsHaveRetryAfter = "errors_have_retry_after"
	ExpForcedLogouts        = "forced_logouts"
	ExpNoZeroBalance        = "no_zero_balance"
	ExpNoLockoutByFault     = "no_lockout_by_fault"
	ExpUndeliveredCodes     = "undelivered_codes"
	ExpNoFalseRefusal       = "no_false_refusal"
	ExpFloodCodesBounded    = "flood_codes_bounded"
)

// ExperienceSpec describes one shopper-experience check. Each takes max (the
// offending count allowed, 0 by default).
type ExperienceSpec struct {
	Name string
	Doc  string
	// Least and Judges are as InvariantSpec's.
	Least  int
	Judges string
}

var experiences = []ExperienceSpec{
	{Name: ExpNoFalseNotRegistered, Least: 5, Judges: "login starts", Doc: "no shopper was told their phone is not registered while auth's store holds it (what shoppers were told, checked against auth's accounts; the gateway's and auth's own counts beside)"},
	{Name: ExpErrorsHaveRetryAfter, Least: 1, Judges: "5xx answers", Doc: "every 5xx carried a code and Retry-After (what shoppers were told, and the gateway's own count)"},
	{Name: ExpForcedLogouts, Least: 100, Judges: "requests", Doc: "forced logouts at most max (shoppers whose session was refused, and the gateway's own count)"},
	{Name: ExpNoZeroBalance, Least: 5, Judges: "wallet reads", Doc: "no wallet balance shown as 0 because of a failure (a 0 shoppers were shown while the wallet's ledger held money, or while their own tally said so)"},
	{Name: ExpNoLockoutByFault, Least: 5, Judges: "login starts", Doc: "no login attempt counted towards a lockout because of our failure (auth's count, and lockouts shown to shoppers, who enter only the codes their phone received)"},
	{Name: ExpNoFalseRefusal, Least: 20, Judges: "checkout answers", Doc: "no checkout refused with a reason that was not true: every refusal a shopper was given is checked against the truth at that moment (the wallet's ledger, the account's status, the courier's areas and limits, the cart's weight and size, the payment methods), whatever path produced it; the gateway's own count beside"},
	{Name: ExpUndeliveredCodes, Least: 5, Judges: "login codes", Doc: "login codes issued that never reached the phone by any channel, at most max (auth's count, and the logins whose code never came to the shopper's inbox)"},
	{Name: ExpFloodCodesBounded, Least: 30, Judges: "flood attempts", Doc: "each phone the load's attackers flooded (GAMEDAY_FLOOD) received at most max login codes, as the OTP provider's own record counts them"},
}

// Experiences returns the shopper-experience checks in a fixed order.
func Experiences() []ExperienceSpec { return experiences }

func experienceNames() []string {
	out := make([]string, len(experiences))
	for i, s := range experiences {
		out[i] = s.Name
	}
	return out
}

// Crash actions.
const (
	CrashKill    = "kill"    // SIGKILL; the runtime starts the service again at once
	CrashStop    = "stop"    // graceful stop; started again after duration (default: never)
	CrashRestart = "restart" // graceful stop and start
)

var crashActions = []string{CrashKill, CrashStop, CrashRestart}

// CrashActions returns the actions of a crash fault.
func CrashActions() []string { return crashActions }

// Streams of a toxic.
const (
	Downstream = fault.Downstream // data from the upstream service back to the caller
	Upstream   = fault.Upstream   // data from the caller to the upstream service
)

// linkNames returns the storefront's links: what the schema gives as
// examples. A scenario's faults name its topology's (Topology.LinkNames).
func linkNames() []string {
	ls := mockstore.Links()
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Name
	}
	return out
}

func featureNames() []string {
	fs := mockstore.AllFeatures()
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	return out
}

// Defaults.
const (
	DefaultJourneys = "storefront"
	DefaultShoppers = 100
	DefaultSeed     = 1
	// DefaultMinSamples is a metric check's least: samples of its metric in
	// its window.
	DefaultMinSamples = 10
	// DefaultRecoveryLeast is a recovery check's least: the journey's
	// journeys ended after the last fault, three a second over a span of
	// three seconds in band.
	DefaultRecoveryLeast = 9
	DefaultToxicity      = 1.0
)

// Least returns the least a check of kind on subject must have judged for
// its verdict to count — its min_samples when the file gives none — and
// what it counts, in the plural ("charged failed orders", "samples"). It is
// 0 and "items" for a kind or subject the catalogue does not know.
func Least(kind CheckKind, subject string) (int, string) {
	switch kind {
	case CheckInvariant:
		if s, ok := invariantByName(subject); ok {
			return s.Least, s.Judges
		}
	case CheckExperience:
		for _, s := range experiences {
			if s.Name == subject {
				return s.Least, s.Judges
			}
		}
	case CheckMetric:
		return DefaultMinSamples, "samples"
	case CheckRecovery:
		return DefaultRecoveryLeast, "journeys ended after the last fault"
	}
	return 0, "items"
}

// DefaultRate is the load's arrival rate when the file gives none.
var DefaultRate = Rate{N: 10, Per: time.Second}

// The fields each part of a file may have, in the order the documentation
// lists them.
var (
	topFields         = []string{"name", "description", "guards", "seed", "topology", "storefront", "load", "faults", "checks"}
	storefrontFields  = []string{"refund_sla", "pending_bound", "otp_lifetime"}
	loadFields        = []string{"journeys", "shoppers", "rate", "duration", "vus", "env"}
	toxicFaultFields  = []string{"link", "toxic", "stream", "toxicity", "start", "duration", "phase", "flap", "steps"} // + the toxic's attributes
	proxyFaultFields  = []string{"link", "toxic", "start", "duration", "phase", "flap"}
	flapFields        = []string{"on", "off"}
	stepFields        = []string{"at", "toxicity"} // + the toxic's attributes
	maintFaultFields  = []string{"maintenance", "start", "duration", "phase"}
	maintFields       = []string{"retry_after", "message"}
	crashFaultFields  = []string{"service", "action", "at", "duration", "phase"}
	checkCommonFields = []string{"name", "abort", "min_samples"}
	invariantFields   = []string{"invariant"} // + the invariant's parameters
	experienceFields  = []string{"experience", "max"}
	metricFields      = []string{"metric", "window"} // + one stat
	recoveryFields    = []string{"recovery", "within"}
	windowFields      = []string{"from", "to"}
	probeFields       = []string{"probe", "when", "every", "timeout", "expect", "max", "min_runs"}
	httpProbeFields   = []string{"url"}
	sqlProbeFields    = []string{"db", "query"}
	checkKinds        = []string{"invariant", "experience", "metric", "recovery", "probe"}
	faultKeys         = []string{"link", "maintenance", "service"}
)
