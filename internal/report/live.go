package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/series"
)

// Metrics the live line reads from the series; the load engine and the storefront journeys write them.
const (
	metricReqs      = "http_reqs"
	metricDuration  = "http_req_duration"
	metricJourneyOK = "journey_success"
)

// Second is what one second of the load looked like: one line of progress.
type Second struct {
	Elapsed time.Duration // from the load's start to the end of the second
	Phase   string        // baseline, fault or recovery
	Faults  int           // faults in place
	Reqs    float64       // requests in the second
	OK, All int64         // journeys that succeeded, journeys ended
	P95     float64       // milliseconds; NaN without requests
}

// Success is the share of journeys that succeeded, NaN when none ended.
func (s Second) Success() float64 {
	if s.All == 0 {
		return math.NaN()
	}
	return float64(s.OK) / float64(s.All)
}

// String renders the second as one fixed-width line.
func (s Second) String() string {
	succ, p95 := "    -", "     -"
	if v := s.Success(); !math.IsNaN(v) {
		succ = fmt.Sprintf("%4.0f%%", 100*v)
	}
	if !math.IsNaN(s.P95) {
		p95 = fmt.Sprintf("%4.0fms", s.P95)
	}
	faults := "no faults"
	if s.Faults == 1 {
		faults = "1 fault  "
	} else if s.Faults > 1 {
		faults = fmt.Sprintf("%d faults ", s.Faults)
	}
	return fmt.Sprintf("%5s  %-8s  %s  %6.0f req/s  journeys ok %s  p95 %s",
		fmtElapsed(s.Elapsed), s.Phase, faults, s.Reqs, succ, p95)
}

func fmtElapsed(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
	return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
}

// Progress turns the live series into one line per second. Points arrive a
// second at a time (the output writes a second once it is complete), so a
// second is printed when the first point of a later one arrives, or at
// Flush. On a terminal the line is rewritten in place; otherwise each second
// is its own line. It is safe for concurrent use.
type Progress struct {
	w     io.Writer
	tty   bool
	start time.Time
	phase func(at time.Duration) (phase string, faults int)

	mu    sync.Mutex
	cur   int64 // the unix second being gathered; 0 when none
	done  int64 // the last unix second printed
	acc   Second
	hist  series.Histogram
	lines int
	last  string
}

// NewProgress returns a Progress writing to w. start is the load's start;
// phase says, for an offset from it, which phase the run is in and how many
// faults are in place (nil: always "run", none).
func NewProgress(w io.Writer, tty bool, start time.Time, phase func(time.Duration) (string, int)) *Progress {
	if phase == nil {
		phase = func(time.Duration) (string, int) { return "run", 0 }
	}
	return &Progress{w: w, tty: tty, start: start, phase: phase}
}

// Start begins the lines of a run whose load started at tl.Start; the
// phase of each second (baseline, fault, between, recovery; run without
// faults) comes from tl's faults as planned. It is for a Progress made
// before the load runs, as the engine's OnLoadStart calls it.
func (p *Progress) Start(tl judge.Timeline) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start, p.phase = tl.Start, NewPhases(tl.Faults).At
}

// Add takes one point of the series.
func (p *Progress) Add(pt series.Point) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pt.T <= p.done {
		return // a late point of a second already shown
	}
	if pt.T != p.cur {
		if pt.T < p.cur {
			return
		}
		p.emit()
		p.cur = pt.T
	}
	switch {
	case pt.Metric == metricReqs:
		p.acc.Reqs += pt.Sum
	case pt.Metric == metricDuration && pt.Hist != nil:
		p.hist.Merge(pt.Hist)
	case pt.Metric == metricJourneyOK:
		p.acc.All += pt.Count
		p.acc.OK += int64(pt.Sum)
	}
}

// Flush prints the second being gathered and ends a terminal's line.
func (p *Progress) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.emit()
	if p.tty && p.lines > 0 {
		fmt.Fprintln(p.w)
		p.lines = 0
	}
}

// Last returns the last line printed.
func (p *Progress) Last() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

func (p *Progress) emit() {
	if p.cur == 0 {
		return
	}
	s := p.acc
	s.Elapsed = time.Unix(p.cur+1, 0).Sub(p.start)
	s.Phase, s.Faults = p.phase(time.Unix(p.cur, 0).Sub(p.start))
	s.P95 = math.NaN()
	if p.hist.Count() > 0 {
		s.P95 = p.hist.Quantile(0.95)
	}
	line := s.String()
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[2K%s", line)
	} else {
		fmt.Fprintln(p.w, strings.TrimRight(line, " "))
	}
	p.last = line
	p.lines++
	p.acc, p.hist, p.done, p.cur = Second{}, series.Histogram{}, p.cur, 0
}
