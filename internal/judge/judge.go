// Package judge decides the checks of a scenario: metric checks over windows
// of the per-second series, invariants over the audits the services keep of
// themselves, shopper-experience checks over what shoppers were told (the
// load's series and observations) checked against the stores' truth, with
// the services' own counts beside, the recovery time of a journey, and
// probe checks from the runs of their probes (package probe does the runs).
// Every check ends as a Verdict — pass, fail or unknown — with the
// numbers compared and the evidence: how many items offended, the first and
// the worst of them, and how many items the verdict rests on.
//
// The judge is pure: it reads what it is given (a Timeline, the series, an
// env.Audit) and does no I/O, except Collect, which reads the audits from the
// services' audit endpoints for the engine. Unknown means the data could not
// decide (an audit that could not be read, a window the run never reached,
// or fewer items judged than the check's least, its min_samples: see
// atLeast); it is never counted as a pass.
//
// Abort judges the checks marked abort: true while the load runs, from the
// series received so far.
package judge

import (
	"fmt"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/load/storefront"
	"github.com/gameday/gameday/internal/probe"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/internal/series"
)

// Status is a check's outcome.
type Status string

// Statuses. Unknown (the data could not decide) is never a pass.
const (
	Pass    Status = "pass"
	Fail    Status = "fail"
	Unknown Status = "unknown"
)

// Units of Verdict.Got.
const (
	UnitCount     = ""      // a number of items
	UnitMillis    = "ms"    // a duration in milliseconds
	UnitSeconds   = "s"     // a duration in seconds (recovery time)
	UnitRatio     = "ratio" // a share, 0..1
	UnitPerSecond = "/s"    // items per second
)

// Verdict is the judge's decision on one check.
type Verdict struct {
	Check   string             `json:"check"`   // the check's label (scenario.Check.Name)
	Kind    scenario.CheckKind `json:"kind"`    // invariant, experience, metric or recovery
	Subject string             `json:"subject"` // the invariant, experience, metric or journey
	Abort   bool               `json:"abort,omitempty"`
	Status  Status             `json:"status"`
	// Want is what the check requires, in words and numbers: "p95 <= 400ms",
	// "no order charged more than once".
	Want string `json:"want"`
	// Got is the number measured, in Unit (milliseconds for durations,
	// seconds for a recovery time). Measured is false when there was nothing
	// to measure; Got is 0 then.
	Got      float64 `json:"got"`
	Unit     string  `json:"unit,omitempty"`
	Measured bool    `json:"measured"`
	// Reason says in one line why the check has its status.
	Reason   string   `json:"reason"`
	Evidence Evidence `json:"evidence"`
}

// Evidence is what a verdict rests on.
type Evidence struct {
	// Count is the number of offending items: orders, accounts, answers,
	// or seconds whose own value breaks a metric check's comparison.
	Count int `json:"count"`
	// First and Worst describe the first and the worst offending item, with
	// its time as an offset from the load's start where it has one
	// ("order o42 charged 2 times, first at +16.2s"). For a metric check
	// Worst is the worst second of the window even when the check passed.
	First string `json:"first,omitempty"`
	Worst string `json:"worst,omitempty"`
	// Samples is how many items the verdict looked at: samples in the
	// window, orders, charges, accounts, answers.
	Samples int64 `json:"samples"`
	// Least is how many items the check had to look at for its verdict to
	// count (its min_samples): with fewer it is unknown unless it failed
	// for good.
	Least int64 `json:"least"`
}

// GotText renders Got with its unit ("412ms", "0.42", "12.0s", "3"); "-"
// when nothing was measured.
func (v Verdict) GotText() string {
	if !v.Measured {
		return "-"
	}
	return formatValue(v.Got, v.Unit)
}

// String renders the verdict on one line:
// "fail  no_double_charge: got 3, want no order charged more than once (3 of 120 orders; first: …; worst: …)".
func (v Verdict) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s %s: got %s, want %s", v.Status, v.Check, v.GotText(), v.Want)
	if v.Reason != "" {
		fmt.Fprintf(&b, " — %s", v.Reason)
	}
	if v.Evidence.First != "" {
		fmt.Fprintf(&b, "; first: %s", v.Evidence.First)
	}
	if v.Evidence.Worst != "" {
		fmt.Fprintf(&b, "; worst: %s", v.Evidence.Worst)
	}
	return b.String()
}

// Overall folds verdicts into the run's outcome: Pass only when there is at
// least one verdict and every one passed; Fail when any failed; Unknown
// otherwise (an unknown is never a pass, and neither is judging nothing).
func Overall(vs []Verdict) Status {
	if len(vs) == 0 {
		return Unknown
	}
	out := Pass
	for _, v := range vs {
		switch v.Status {
		case Pass:
		case Fail:
			return Fail
		default:
			out = Unknown
		}
	}
	return out
}

// Outcome is a run's outcome: Unknown when the run could not judge its
// checks (runErr says why), whatever verdicts it has; Overall(vs)
// otherwise.
func Outcome(vs []Verdict, runErr string) Status {
	if runErr != "" {
		return Unknown
	}
	return Overall(vs)
}

// Timeline places the load and its faults in time.
type Timeline struct {
	// Start is the wall-clock time of offset 0, the load's start. Series
	// seconds and audit timestamps are placed against it.
	Start time.Time
	// Duration is the load's length.
	Duration time.Duration
	// Faults are the spans during which each fault was in place, as offsets
	// from Start, as scenario.Intervals gives them (the engine passes the
	// actual ones). An instant (From == To) is a kill or restart.
	Faults []scenario.Interval
}

// lastFaultEnd returns the offset at which the last fault ended, and false
// when there were no faults.
func (tl Timeline) lastFaultEnd() (time.Duration, bool) {
	if len(tl.Faults) == 0 {
		return 0, false
	}
	end := tl.Faults[0].To
	for _, f := range tl.Faults[1:] {
		end = max(end, f.To)
	}
	return end, true
}

// offset returns t as an offset from the load's start.
func (tl Timeline) offset(t time.Time) time.Duration { return t.Sub(tl.Start) }

// at renders t as an offset from the load's start: "+16.2s".
func (tl Timeline) at(t time.Time) string { return formatOffset(tl.offset(t)) }

// Defaults the judge uses when neither the check nor the run gives a value;
// they are checkout's own defaults.
const (
	DefaultRefundSLA    = 10 * time.Second
	DefaultPendingBound = 30 * time.Second
	DefaultOTPLifetime  = 5 * time.Minute // auth's default code lifetime
	// PendingGrace is added to the run's pending bound when a no_stuck_pending
	// check gives no bound of its own: the reconciler fails an order once it
	// has been pending for the bound, but only at its next pass and after one
	// payment timeout, so an order may stay pending a little longer than the
	// bound without being stuck.
	PendingGrace = 5 * time.Second
)

// Run is everything the judge looks at after the load.
type Run struct {
	Timeline
	Series []series.Point
	Audit  env.Audit // read by env.ReadAudit once the storefront settled
	// Observations are what the shoppers were told, as the load recorded
	// it (its observations file); ObservationsErr says why they could not
	// be read. The experience checks judge them against the audits' truth.
	Observations    []storefront.Observation
	ObservationsErr string
	// Probes are the runs of the probe checks, in any order.
	Probes []probe.Result
	// RefundSLA and PendingBound are the run's own values (checkout's
	// configuration), used when a check gives none; 0 means checkout's
	// defaults.
	RefundSLA    time.Duration
	PendingBound time.Duration
	// OTPLifetime is the lifetime of a login code the run set (the
	// scenario's otp_lifetime); 0 means auth's default, DefaultOTPLifetime.
	OTPLifetime time.Duration
}

func (r *Run) otpLifetime() time.Duration {
	if r.OTPLifetime > 0 {
		return r.OTPLifetime
	}
	return DefaultOTPLifetime
}

func (r *Run) refundSLA(c scenario.Check) time.Duration {
	switch {
	case c.SLA > 0:
		return c.SLA
	case r.RefundSLA > 0:
		return r.RefundSLA
	}
	return DefaultRefundSLA
}

func (r *Run) pendingBound() time.Duration {
	if r.PendingBound > 0 {
		return r.PendingBound
	}
	return DefaultPendingBound
}

// Verdicts decides every check, in order.
func Verdicts(r *Run, checks []scenario.Check) []Verdict {
	out := make([]Verdict, len(checks))
	for i, c := range checks {
		out[i] = Decide(r, c)
	}
	return out
}

// Decide decides one check. A check of a kind or name the judge does not
// know is Unknown, with the reason.
func Decide(r *Run, c scenario.Check) Verdict {
	var v Verdict
	switch c.Kind {
	case scenario.CheckMetric:
		v = metricVerdict(c, r.Timeline, r.Series, nil)
	case scenario.CheckInvariant:
		v = invariantVerdict(r, c)
	case scenario.CheckExperience:
		v = experienceVerdict(r, c)
	case scenario.CheckRecovery:
		v = recoveryVerdict(r, c)
	case scenario.CheckProbe:
		v = probeVerdict(r, c)
	default:
		v = unknown("the judge has no %q checks", c.Kind)
	}
	v = atLeast(v, c)
	v.Evidence.Least = int64(c.MinSamples)
	v.Check, v.Kind, v.Subject, v.Abort = c.Name, c.Kind, c.Subject, c.Abort
	if v.Check == "" {
		v.Check = c.Subject
	}
	return v
}

// atLeast holds v to the least c must have judged (c.MinSamples items,
// counted in v.Evidence.Samples): below it a pass, or a fail that more items
// could still undo, becomes Unknown, and the reason says what was judged
// against the least ("judged 0 charged failed orders, fewer than 1"). A fail
// stands whatever was judged when it is final: the offending items it found
// are already more than the check allows, and more items could only add
// to them (a count of offences, money unaccounted for, a count or max of a
// metric above its upper bound). So does a pass that more items could not
// undo: a metric's count or max already at or over a lower bound ("count
// >= 1" of failed orders while a service was down), from something found,
// never from nothing. Every kind of check is held to its least here and
// nowhere else.
func atLeast(v Verdict, c scenario.Check) Verdict {
	if v.Status == Unknown || v.Evidence.Samples >= int64(c.MinSamples) {
		return v
	}
	if v.Status == Fail && final(v, c) || v.Status == Pass && settled(v, c) {
		return v
	}
	_, judges := scenario.Least(c.Kind, c.Subject)
	if c.Kind == scenario.CheckMetric {
		judges = fmt.Sprintf("samples of %s in %s", c.Selector(), c.Window)
	}
	reason := fmt.Sprintf("judged %d %s, fewer than %d", v.Evidence.Samples, judges, c.MinSamples)
	if v.Reason != "" {
		reason += " (" + v.Reason + ")"
	}
	v.Status, v.Reason = Unknown, reason
	return v
}

// final reports whether a failed verdict v of c is decided whatever more
// items would show: a metric's count or max already above its upper bound,
// or any other check's count of offending items (Unit count) already above
// what it allows. A share, a percentile or a recovery time may still change.
func final(v Verdict, c scenario.Check) bool {
	if c.Kind == scenario.CheckMetric {
		return monotone(c.Stat) && beyondReach(c.Cmp, v.Got)
	}
	return v.Unit == UnitCount && v.Evidence.Count > 0
}

// settled reports whether a passing verdict v of c is decided whatever more
// items would show: a metric's count or max, which more samples can only
// raise, already meeting a lower bound with something found (more than 0).
func settled(v Verdict, c scenario.Check) bool {
	return c.Kind == scenario.CheckMetric && monotone(c.Stat) && lowerBound(c.Cmp) &&
		v.Got > 0 && v.Evidence.Samples > 0 && c.Cmp.Holds(v.Got)
}

// unknown returns an Unknown verdict with the reason.
func unknown(format string, args ...any) Verdict {
	return Verdict{Status: Unknown, Reason: fmt.Sprintf(format, args...)}
}

// formatOffset renders an offset from the load's start: "+16.2s", "-0.3s".
func formatOffset(d time.Duration) string {
	s := fmt.Sprintf("%+.1fs", d.Seconds())
	if s == "-0.0s" {
		s = "+0.0s"
	}
	return s
}

// formatValue renders x in unit.
func formatValue(x float64, unit string) string {
	switch unit {
	case UnitMillis:
		return formatMillis(x)
	case UnitSeconds:
		return fmt.Sprintf("%.1fs", x)
	case UnitRatio:
		return trimFloat(fmt.Sprintf("%.3f", x))
	case UnitPerSecond:
		return trimFloat(fmt.Sprintf("%.2f", x)) + "/s"
	}
	return trimFloat(fmt.Sprintf("%.2f", x))
}

// formatMillis renders milliseconds as a short duration: "412ms", "1.25s",
// "0.5ms".
func formatMillis(ms float64) string {
	switch {
	case ms >= 1000:
		return trimFloat(fmt.Sprintf("%.2f", ms/1000)) + "s"
	case ms >= 10:
		return fmt.Sprintf("%.0fms", ms)
	}
	return trimFloat(fmt.Sprintf("%.2f", ms)) + "ms"
}

// trimFloat drops trailing zeros of a fixed-point number: "0.500" → "0.5",
// "3.00" → "3".
func trimFloat(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
