package matrix

import (
	"fmt"
	"math"
	"time"

	"github.com/gameday/gameday/internal/series"
)

// Grade is how a journey fared in a cell.
type Grade string

// Grades, from best to worst. NoData is not a grade of the storefront but
// of the cell: the run could not tell (see Judge). For the gate it ranks
// with Broken: an unknown is never counted as a pass.
const (
	OK       Grade = "ok"
	Degraded Grade = "degraded"
	Broken   Grade = "broken"
	NoData   Grade = "no_data"
)

// Grades returns every grade, best first.
func Grades() []Grade { return []Grade{OK, Degraded, Broken, NoData} }

// rank orders grades for the gate: higher is worse; -1 for no grade.
func (g Grade) rank() int {
	switch g {
	case OK:
		return 0
	case Degraded:
		return 1
	case Broken, NoData:
		return 2
	}
	return -1
}

// Valid reports whether g is one of Grades.
func (g Grade) Valid() bool { return g.rank() >= 0 }

// String is the grade as tables show it ("no data" with a space).
func (g Grade) String() string {
	if g == NoData {
		return "no data"
	}
	return string(g)
}

// The thresholds of a grade.
//
// A journey's journeys are its journey_success samples (one per journey a
// shopper ended, succeeded or not, counted in the second it ended); its
// latency is the p95 of http_req_duration{journey:J}, every request the
// journey made, retries and timeouts included. The baseline is every
// second wholly before the fault began. The fault window is every second
// wholly inside [fault start + Settle, fault end): the fault in its steady
// state, and nothing after it was removed, so that no retry the removal
// healed counts as a success.
//
// A journey is reached in the fault window by the visits whose previous
// journey succeeded there (a visit is login if needed, browse, cart,
// wallet, checkout, and stops at the first failure): cart by browse's
// successes, wallet by cart's, checkout by wallet's. Login and browse have
// no such count: how many visits were held up in a login that never ended
// cannot be told from the series.
//
//   - ok: success ≥ OKSuccess and p95 ≤ OKLatencyFactor × baseline p95 +
//     OKLatencySlack.
//   - degraded: not ok, success ≥ DegradedSuccess.
//   - broken: success below DegradedSuccess; or fewer than HungShare of
//     the journeys that reached it ended in the window (stuck: it hangs,
//     waits to retry, or is slowed by more than about Settle + half the
//     window); or none ended though its requests were made; or the
//     storefront answered fewer than StallShare of the baseline's
//     requests a second (everything hangs; the OTP provider's inbox,
//     which shoppers poll beside the storefront, is not counted).
//   - broken too, blocked: fewer than MinJourneys visits got through the
//     journey before it (cart, wallet, checkout): a cell starts enough
//     visits in its window by design (Shape.WindowVisits), so the journey
//     before it failed them, and shoppers cannot get this one done.
//     Browse too when fewer than MinJourneys of its journeys ended in the
//     window (and not all of those failed): the visits were held up before
//     it, at a login or a session check that hangs.
//   - no data: the baseline has no latency samples of the journey, or
//     fewer than MinJourneys logins ended in the window (and not all of
//     them failed). A cell's load is made to give every
//     journey enough (Shape), so no data is never what a cell is expected
//     to give: it says the cell could not judge.
const (
	// OKSuccess is the least share of journeys that succeed for ok.
	OKSuccess = 0.95
	// OKLatencyFactor and OKLatencySlack bound the p95 latency for ok:
	// twice the baseline's, and 400 ms more. The slack is what the
	// storefront's CPU noise takes on a busy 2-core machine: journeys the
	// fault did not touch were measured at a p95 of 200–700 ms over
	// baselines of 20–200 ms. A fault that slows a journey adds a second
	// or more (the gateway's 1 s timeouts, the 2 s latency cells).
	OKLatencyFactor = 2.0
	OKLatencySlack  = 400.0 // ms
	// DegradedSuccess is the least share of journeys that succeed for
	// degraded; below it the journey is broken.
	DegradedSuccess = 0.50
	// HungShare is the least share of the journeys that reached a journey
	// that must end in the window; fewer, and it is stuck: broken.
	HungShare = 0.5
	// StallShare is the least share of the baseline's rate of answered
	// storefront requests that the window must see; less, and every
	// journey is broken: nothing gets done.
	StallShare = 0.1
	// MinJourneys is the least number of journeys ended (or reaching it)
	// in the window for a grade, unless every one that ended failed.
	MinJourneys = 5
	// Settle is how long after the fault's start the window begins: the
	// journeys in flight when it began have met it by then.
	Settle = 2 * time.Second
	// NearLatency is how close (a share of the limit) a p95 may come to the
	// ok latency limit, either side, before the grade is called near;
	// NearHung is how close the share of journeys ended may come to
	// HungShare.
	NearLatency = 0.2
	NearHung    = 0.15
)

// Window is where a cell's series is judged: offsets from Start, the
// load's start (offset 0).
type Window struct {
	Start time.Time
	// FaultFrom and FaultTo are when the fault was put in place and
	// removed.
	FaultFrom, FaultTo time.Duration
}

// holds reports whether the second starting at off lies wholly in the
// fault window, and base whether it lies wholly in the baseline.
func (w Window) holds(off time.Duration) bool {
	return off >= w.FaultFrom+Settle && off+time.Second <= w.FaultTo
}

func (w Window) base(off time.Duration) bool { return off+time.Second <= w.FaultFrom }

// What Judge reads from the series.
const (
	metricJourneyOK = "journey_success"   // rate, tag journey
	metricDuration  = "http_req_duration" // trend in ms, tags journey and endpoint
	tagJourney      = "journey"
	tagEndpoint     = "endpoint"
	endpointInbox   = "inbox" // the OTP provider's inbox, not the storefront's
)

// firstJourney is the journey a visit starts with when its shopper is
// logged out: a cell gives it enough journeys only through its logouts.
const firstJourney = "login"

// reachedBy is the journey whose successes reach each journey; login and
// browse have none.
var reachedBy = map[string]string{"cart": "browse", "wallet": "cart", "checkout": "wallet"}

// Judgement is one journey's grade in one cell, with the numbers it rests
// on.
type Judgement struct {
	Journey string `json:"journey"`
	Grade   Grade  `json:"grade"`
	// Near is the grade the numbers lie close to, "" when they lie clear of
	// every threshold: another run may well give it. Close means that one
	// journey more, succeeding or failing, a p95 within NearLatency of the
	// latency limit, or a share ended within NearHung of HungShare, would
	// cross the threshold.
	Near Grade `json:"near,omitempty"`
	// Reason says why, in words: "success 72% < 95%", "p95 2.3s > 412ms".
	Reason string `json:"reason"`

	Journeys  int64 `json:"journeys"`  // ended in the fault window
	Succeeded int64 `json:"succeeded"` // of them
	// Reached is how many journeys reached it in the fault window (see
	// the thresholds); -1 when that cannot be counted (login, browse).
	Reached      int64   `json:"reached"`
	Requests     int64   `json:"requests"`      // of the journey, ended in the fault window
	P95          float64 `json:"p95_ms"`        // of those requests
	BaseJourneys int64   `json:"base_journeys"` // ended in the baseline
	BaseSuccess  float64 `json:"base_success"`
	BaseP95      float64 `json:"base_p95_ms"`
	MaxP95       float64 `json:"max_p95_ms"` // the ok limit
}

// Success returns the share of the fault window's journeys that
// succeeded, and false when none ended.
func (j Judgement) Success() (float64, bool) {
	if j.Journeys == 0 {
		return 0, false
	}
	return float64(j.Succeeded) / float64(j.Journeys), true
}

// stats are one journey's numbers over one window.
type stats struct {
	n, ok   int64
	latency series.Histogram
}

// Judge grades every journey of Journeys from a cell's series in w. It
// never fails: what the series cannot tell is NoData, with the reason.
func Judge(pts []series.Point, w Window) []Judgement {
	base := map[string]*stats{}
	win := map[string]*stats{}
	// Requests to the storefront that ended in the baseline and the
	// window, and the baseline's seconds that had any.
	var baseReqs, winReqs int64
	baseSecs := map[int64]bool{}
	for _, j := range Journeys() {
		base[j], win[j] = &stats{}, &stats{}
	}
	for i := range pts {
		p := &pts[i]
		isOK := p.Metric == metricJourneyOK
		isLat := p.Metric == metricDuration && p.Hist != nil
		if !isOK && !isLat {
			continue
		}
		var into map[string]*stats
		switch off := time.Unix(p.T, 0).Sub(w.Start); {
		case w.base(off):
			into = base
			if isLat && p.Tags[tagEndpoint] != endpointInbox {
				baseReqs += p.Count
				baseSecs[p.T] = true
			}
		case w.holds(off):
			into = win
			if isLat && p.Tags[tagEndpoint] != endpointInbox {
				winReqs += p.Count
			}
		default:
			continue
		}
		s := into[p.Tags[tagJourney]]
		if s == nil {
			continue
		}
		if isOK {
			s.n += p.Count
			s.ok += int64(math.Round(p.Sum))
		} else {
			s.latency.Merge(p.Hist)
		}
	}
	stalled := false
	if secs := windowSeconds(w); secs > 0 && baseReqs > 0 {
		stalled = float64(winReqs)/float64(secs) < StallShare*float64(baseReqs)/float64(len(baseSecs))
	}
	out := make([]Judgement, 0, len(Journeys()))
	for _, j := range Journeys() {
		reached := int64(-1)
		if by := reachedBy[j]; by != "" {
			reached = win[by].ok
		}
		jd := grade(j, base[j], win[j], reached)
		if stalled && base[j].latency.Count() > 0 {
			jd.Grade, jd.Near = Broken, ""
			jd.Reason = fmt.Sprintf("stalled: the storefront answered %d requests in the window, under %s of the baseline's rate",
				winReqs, percent(StallShare))
		}
		out = append(out, jd)
	}
	return out
}

// windowSeconds returns how many whole seconds of the series lie in w's
// fault window: the series' seconds are unix seconds, not aligned with the
// load's start.
func windowSeconds(w Window) int {
	n := 0
	for t := w.Start.Add(w.FaultFrom + Settle).Truncate(time.Second); t.Before(w.Start.Add(w.FaultTo)); t = t.Add(time.Second) {
		if w.holds(t.Sub(w.Start)) {
			n++
		}
	}
	return n
}

// grade applies the thresholds to one journey; reached is how many
// journeys reached it in the window, -1 when that cannot be counted.
func grade(journey string, base, win *stats, reached int64) Judgement {
	j := Judgement{
		Journey: journey, Journeys: win.n, Succeeded: win.ok, Reached: reached, Requests: int64(win.latency.Count()),
		P95: win.latency.Quantile(0.95), BaseJourneys: base.n, BaseP95: base.latency.Quantile(0.95),
	}
	if base.n > 0 {
		j.BaseSuccess = float64(base.ok) / float64(base.n)
	}
	j.MaxP95 = OKLatencyFactor*j.BaseP95 + OKLatencySlack
	ended := 1.0 // the share of the journeys that reached it that ended
	if reached > 0 {
		ended = float64(win.n) / float64(reached)
	}
	switch {
	case base.latency.Count() == 0:
		j.Grade = NoData
		j.Reason = "the baseline has no requests of it"
		return j
	case reached >= 0 && reached < MinJourneys:
		// The cell's visits came this far by design (WindowVisits): fewer
		// got here because the journey before it failed them, so shoppers
		// could not get this one done either.
		j.Grade = Broken
		j.Reason = fmt.Sprintf("blocked: %d of the visits got through %s to it, fewer than %d", reached, reachedBy[journey], MinJourneys)
		return j
	case reached >= MinJourneys && ended < HungShare:
		j.Grade = Broken
		j.Reason = fmt.Sprintf("stuck: %d of the %d journeys that reached it ended", win.n, reached)
		if ended >= HungShare-NearHung {
			j.Near = gradeIgnoringHang(win, j)
		}
		return j
	case win.n == 0 && j.Requests > 0:
		j.Grade = Broken
		j.Reason = fmt.Sprintf("no journey ended; %d requests were made", j.Requests)
		return j
	case win.n < MinJourneys && journey != firstJourney && (win.ok > 0 || win.n == 0):
		// The cell starts enough visits in its window by design
		// (Shape.WindowVisits): a journey after the login that few of
		// them got to was blocked before it, by a login or a session
		// check that hangs.
		j.Grade = Broken
		j.Reason = fmt.Sprintf("blocked: %d journeys ended in the window, fewer than %d", win.n, MinJourneys)
		return j
	case win.n == 0:
		j.Grade = NoData
		j.Reason = "not reached: no journey and no request"
		return j
	case win.n < MinJourneys && win.ok > 0:
		j.Grade = NoData
		j.Reason = fmt.Sprintf("%d journeys ended, fewer than %d", win.n, MinJourneys)
		return j
	}
	succ, _ := j.Success()
	slow := j.P95 > j.MaxP95
	j.Grade = classify(succ, slow)
	switch j.Grade {
	case OK:
		j.Reason = fmt.Sprintf("success %s, p95 %s ≤ %s", percent(succ), millis(j.P95), millis(j.MaxP95))
	case Degraded:
		if succ < OKSuccess {
			j.Reason = fmt.Sprintf("success %s < %s", percent(succ), percent(OKSuccess))
		} else {
			j.Reason = fmt.Sprintf("p95 %s > %s", millis(j.P95), millis(j.MaxP95))
		}
	default:
		j.Reason = fmt.Sprintf("success %s < %s", percent(succ), percent(DegradedSuccess))
	}
	// The grades one journey more, succeeding or failing, or a p95 across
	// the latency limit within NearLatency, or a share ended within
	// NearHung of HungShare, would give; the worst of those that differ is
	// the grade j is near.
	alts := []Grade{
		classify(float64(win.ok+1)/float64(win.n+1), slow),
		classify(float64(win.ok)/float64(win.n+1), slow),
	}
	if math.Abs(j.P95-j.MaxP95) <= NearLatency*j.MaxP95 {
		alts = append(alts, classify(succ, !slow))
	}
	if reached >= MinJourneys && ended < HungShare+NearHung {
		alts = append(alts, Broken)
	}
	for _, g := range alts {
		if g != j.Grade && (j.Near == "" || g.rank() > j.Near.rank()) {
			j.Near = g
		}
	}
	return j
}

// gradeIgnoringHang is the grade a hung journey's ended journeys alone
// would give: what it is near when its share ended lies close to HungShare.
func gradeIgnoringHang(win *stats, j Judgement) Grade {
	if win.n == 0 {
		return ""
	}
	g := classify(float64(win.ok)/float64(win.n), j.P95 > j.MaxP95)
	if g == Broken {
		return ""
	}
	return g
}

// classify is the grade of a success share and whether the p95 was over
// the ok limit.
func classify(success float64, slow bool) Grade {
	switch {
	case success >= OKSuccess && !slow:
		return OK
	case success >= DegradedSuccess:
		return Degraded
	}
	return Broken
}

func percent(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) }

// millis renders milliseconds: "412ms", "2.3s".
func millis(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.1fs", ms/1000)
	}
	return fmt.Sprintf("%.0fms", ms)
}
