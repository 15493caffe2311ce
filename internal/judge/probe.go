package judge

import (
	"fmt"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/probe"
	"github.com/gameday/gameday/internal/scenario"
)

// probeVerdict decides a probe check from its runs (Run.Probes): it fails
// when more runs failed than the check's max — a run fails when no answer
// came (the target not reached, a timeout, a query refused) or the
// expression was not true of the answer — and is otherwise unknown when the
// probe ran fewer times than it needs (scenario.Probe.Least), pass when it
// ran enough. Got is the number of failed runs; the evidence gives the
// first failed run and the worst: one that got no answer before one that
// got a wrong answer, then the slowest.
func probeVerdict(r *Run, c scenario.Check) Verdict {
	pr := c.Probe
	if pr == nil {
		return unknown("probe check without a probe")
	}
	least := pr.Least(r.Duration)
	want := fmt.Sprintf("%s true of every answer to %s %s", pr.Expect, pr.Target(), pr.Schedule())
	if c.Max > 0 {
		want = fmt.Sprintf("%s true of the answers to %s %s, at most %d runs failing", pr.Expect, pr.Target(), pr.Schedule(), c.Max)
	}
	var runs, failed int
	var first, worst *probe.Result
	for i := range r.Probes {
		res := &r.Probes[i]
		if res.Check != c.Name {
			continue
		}
		runs++
		if res.OK {
			continue
		}
		failed++
		if first == nil || res.At.Before(first.At) {
			first = res
		}
		if worst == nil || worseRun(*res, *worst) {
			worst = res
		}
	}
	v := Verdict{Want: want, Got: float64(failed), Measured: runs > 0}
	v.Evidence.Samples, v.Evidence.Count = int64(runs), failed
	if first != nil {
		v.Evidence.First, v.Evidence.Worst = r.describeRun(*first), r.describeRun(*worst)
	}
	switch {
	case failed > c.Max:
		v.Status = Fail
		v.Reason = fmt.Sprintf("%d of %d runs failed", failed, runs)
	case runs < least:
		v.Status = Unknown
		v.Reason = fmt.Sprintf("the probe ran %d times, fewer than the %d it needs", runs, least)
		if runs == 0 {
			v.Reason = fmt.Sprintf("the probe never ran; it needs %d runs", least)
		}
	default:
		v.Status = Pass
		v.Reason = fmt.Sprintf("%d of %d runs held", runs-failed, runs)
	}
	return v
}

// worseRun reports whether failed run a is worse than failed run b: no answer
// is worse than a wrong one, and a slower run worse than a faster one.
func worseRun(a, b probe.Result) bool {
	if a.NoAnswer() != b.NoAnswer() {
		return a.NoAnswer()
	}
	return a.Took > b.Took
}

// describeRun renders a failed run: "+16.2s: 503 {...} (12ms)" or
// "+16.2s: no answer: GET: ... (2.0s)".
func (r *Run) describeRun(res probe.Result) string {
	var what []string
	if res.Answer != "" {
		what = append(what, res.Answer)
	}
	switch {
	case res.NoAnswer():
		what = append(what, "no answer: "+res.Err)
	case res.Err != "":
		what = append(what, res.Err)
	default:
		what = append(what, "expect was false")
	}
	return fmt.Sprintf("%s: %s (%s)", r.at(res.At), strings.Join(what, "; "), formatMillis(float64(res.Took)/float64(time.Millisecond)))
}
