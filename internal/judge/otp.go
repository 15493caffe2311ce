package judge

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/mockstore"
)

// Metrics of the OTP rules as the shoppers saw them (load.env
// GAMEDAY_OTP_LATE and GAMEDAY_OTP_REUSE): each code entered against a rule,
// tagged with the answer's status class and code, and those accepted.
const (
	metricOTPLateEntered   = "otp_late_entered"
	metricOTPLateAccepted  = "otp_late_accepted"
	metricOTPReuseEntered  = "otp_reuse_entered"
	metricOTPReuseAccepted = "otp_reuse_accepted"
)

// otpRefused decides otp_late_refused and otp_reuse_refused from the
// shoppers' own observations: every code they entered against the rule
// (entered) must have been refused. An accepted entry is one counted as
// accepted or answered 2xx, whichever count is larger; the samples are the
// entries the storefront answered (2xx or 4xx: a 503 or no answer is
// neither accepted nor refused), which atLeast holds to the check's least
// (a found acceptance fails whatever was answered).
func otpRefused(r *Run, entered, accepted, codes string) Verdict {
	want := fmt.Sprintf("every %s refused", codes)
	var tried, answered, ok2xx float64
	byAnswer := map[string]float64{}
	for i := range r.Series {
		p := &r.Series[i]
		if p.Metric != entered {
			continue
		}
		tried += p.Sum
		switch st := p.Tags["status"]; st {
		case "2xx", "4xx":
			answered += p.Sum
			if st == "2xx" {
				ok2xx += p.Sum
			}
			a := st
			if code := p.Tags["code"]; code != "" {
				a += " " + code
			}
			byAnswer[a] += p.Sum
		}
	}
	acc, _ := seriesTotal(r, accepted, nil)
	got := max(acc, ok2xx)
	v := Verdict{Want: want, Got: got, Measured: true}
	v.Evidence.Samples, v.Evidence.Count = int64(answered), int(got)
	answers := make([]string, 0, len(byAnswer))
	for _, k := range slices.Sorted(maps.Keys(byAnswer)) {
		answers = append(answers, fmt.Sprintf("%s ×%s", k, formatValue(byAnswer[k], UnitCount)))
	}
	seen := fmt.Sprintf("%s entered, %s answered", formatValue(tried, UnitCount), formatValue(answered, UnitCount))
	if len(answers) > 0 {
		seen += " (" + strings.Join(answers, ", ") + ")"
	}
	switch {
	case got > 0:
		v.Status = Fail
		v.Reason = fmt.Sprintf("%s accepted of %s", formatValue(got, UnitCount), seen)
		v.Evidence.First, v.Evidence.Worst = seriesSeconds(r, accepted, nil)
		if v.Evidence.First == "" {
			v.Evidence.First = fmt.Sprintf("%s answered 2xx", formatValue(ok2xx, UnitCount))
			v.Evidence.Worst = v.Evidence.First
		}
	default:
		v.Status, v.Reason = Pass, "all refused: "+seen
	}
	return v
}

// otpWithinLifetime: no code accepted at or after its issue + the run's
// lifetime, from auth's record of every verify (AuthAudit.Verifies: the
// issue of the code each verify was checked against and the time of the
// decision). The samples are the verifies that came that late, whatever
// their outcome, which atLeast holds to the check's least: with too few and
// none accepted, no late code was tried enough to judge.
func otpWithinLifetime(r *Run) Verdict {
	life := r.otpLifetime()
	want := fmt.Sprintf("no login code accepted at or after its issue + %s", fmtDuration(life))
	if err := r.Audit.Missing(env.SourceAuth); err != nil {
		return wantUnknown(want, "%s", err)
	}
	var t tally
	late := 0
	for _, vr := range r.Audit.Auth.Verifies {
		over := vr.At.Sub(vr.IssuedAt.Add(life))
		if over < 0 {
			continue
		}
		late++
		if vr.Outcome == mockstore.VerifyAccepted {
			t.add(vr.At, over.Seconds(), "login %s: code issued at %s accepted at %s, %s past its lifetime",
				vr.LoginID, r.at(vr.IssuedAt), r.at(vr.At), over.Round(time.Millisecond))
		}
	}
	return otpTruthVerdict(&t, want, late, len(r.Audit.Auth.Verifies), "verifies came at or after their code's issue + lifetime")
}

// otpUsedOnce: no code — a login and the issue of its code — accepted more
// than once, from auth's record of every verify. The samples are the
// verifies of a code already accepted, which atLeast holds to the check's
// least: with too few and no code accepted twice, codes were hardly tried
// again.
func otpUsedOnce(r *Run) Verdict {
	const want = "no login code accepted more than once"
	if err := r.Audit.Missing(env.SourceAuth); err != nil {
		return wantUnknown(want, "%s", err)
	}
	type code struct {
		login  string
		issued int64
	}
	accepted := map[code]int{}
	var t tally
	again := 0
	for _, vr := range r.Audit.Auth.Verifies {
		k := code{vr.LoginID, vr.IssuedAt.UnixNano()}
		n, used := accepted[k]
		if used {
			again++
		}
		if vr.Outcome != mockstore.VerifyAccepted {
			continue
		}
		accepted[k] = n + 1
		if used {
			t.add(vr.At, float64(n+1), "login %s: code issued at %s accepted %d times, again at %s",
				vr.LoginID, r.at(vr.IssuedAt), n+1, r.at(vr.At))
		}
	}
	return otpTruthVerdict(&t, want, again, len(r.Audit.Auth.Verifies), "verifies came for a code already accepted")
}

// otpTruthVerdict turns the offences of an OTP rule found in auth's
// verifies into a verdict whose samples are the verifies that tried the
// rule (tried of verifies): a fail on any offence, a pass otherwise.
func otpTruthVerdict(t *tally, want string, tried, verifies int, what string) Verdict {
	v := t.verdict(want, int64(tried), fmt.Sprintf("%d of %d %s, none accepted", tried, verifies, what))
	if v.Status == Fail {
		v.Reason = fmt.Sprintf("%d accepted; %d of %d %s", v.Evidence.Count, tried, verifies, what)
	}
	return v
}

// fmtDuration renders a lifetime compactly: "8s", "5m0s" as "5m".
func fmtDuration(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "m0s")
	if s != d.String() {
		s += "m"
	}
	return s
}
