package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/gameday/gameday/internal/journal"
	"github.com/gameday/gameday/internal/series"
)

// More metrics the report reads from the series; the load engine and the storefront journeys write them.
const metricReqFailed = "http_req_failed"

// Tags of the series the charts split by.
const (
	tagEndpoint = "endpoint"
	tagJourney  = "journey"
)

// palette colours a chart's lines: distinct hues that stay apart for the
// colour-blind (Tableau 10) and a few more.
var palette = []string{
	"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2",
	"#edc948", "#9c755f", "#ff9da7", "#1b9e77", "#7570b3", "#666666",
}

// timeline is the series folded into what the charts and tiles show, per
// second of the run. Seconds are unix seconds; offsets are from the load's
// start.
type timeline struct {
	start    time.Time
	from, to int64 // first and last second with any point
	reqs     map[int64]float64
	failed   map[int64]float64
	journeys map[string]map[int64]*[2]int64 // journey -> second -> {ok, all}
	latency  map[string]map[int64]*series.Histogram
	all      series.Histogram             // every request's duration
	endpoint map[string]*series.Histogram // every request's duration by endpoint
	ok, done int64                        // journeys that succeeded, journeys ended
}

// fold gathers the series of j.
func fold(j *journal.Run) *timeline {
	tl := &timeline{
		start: j.LoadStart, reqs: map[int64]float64{}, failed: map[int64]float64{},
		journeys: map[string]map[int64]*[2]int64{}, latency: map[string]map[int64]*series.Histogram{},
		endpoint: map[string]*series.Histogram{},
	}
	for _, p := range j.Series {
		if tl.from == 0 || p.T < tl.from {
			tl.from = p.T
		}
		tl.to = max(tl.to, p.T)
		switch p.Metric {
		case metricReqs:
			tl.reqs[p.T] += p.Sum
		case metricReqFailed:
			tl.failed[p.T] += p.Sum
		case metricJourneyOK:
			name := p.Tags[tagJourney]
			if tl.journeys[name] == nil {
				tl.journeys[name] = map[int64]*[2]int64{}
			}
			c := tl.journeys[name][p.T]
			if c == nil {
				c = new([2]int64)
				tl.journeys[name][p.T] = c
			}
			c[0] += int64(p.Sum)
			c[1] += p.Count
			tl.ok += int64(p.Sum)
			tl.done += p.Count
		case metricDuration:
			if p.Hist == nil {
				continue
			}
			name := p.Tags[tagEndpoint]
			if tl.latency[name] == nil {
				tl.latency[name] = map[int64]*series.Histogram{}
			}
			h := tl.latency[name][p.T]
			if h == nil {
				h = new(series.Histogram)
				tl.latency[name][p.T] = h
			}
			h.Merge(p.Hist)
			tl.all.Merge(p.Hist)
			if tl.endpoint[name] == nil {
				tl.endpoint[name] = new(series.Histogram)
			}
			tl.endpoint[name].Merge(p.Hist)
		}
	}
	return tl
}

// mid is the middle of unix second t as seconds from the load's start: where
// the second's value is drawn.
func (tl *timeline) mid(t int64) float64 {
	return time.Unix(t, 5e8).Sub(tl.start).Seconds()
}

// xy is one value of a line; a NaN y is a gap (no data that second).
type xy struct{ x, y float64 }

// lineData is a named line of a chart before it is laid out.
type lineData struct {
	name, color string // color "": the palette's next
	pts         []xy
}

func (tl *timeline) seconds() []int64 {
	if tl.from == 0 {
		return nil
	}
	out := make([]int64, 0, tl.to-tl.from+1)
	for t := tl.from; t <= tl.to; t++ {
		out = append(out, t)
	}
	return out
}

// rateLines are requests per second and failed requests per second; a second
// without requests counts zero.
func (tl *timeline) rateLines() []lineData {
	all, failed := lineData{name: "requests/s", color: palette[0]}, lineData{name: "failed/s", color: palette[3]}
	for _, t := range tl.seconds() {
		all.pts = append(all.pts, xy{tl.mid(t), tl.reqs[t]})
		failed.pts = append(failed.pts, xy{tl.mid(t), tl.failed[t]})
	}
	if len(all.pts) == 0 {
		return nil
	}
	return []lineData{all, failed}
}

// journeyLines are the share of journeys that succeeded per second, in
// percent, one line per journey; a second where none ended is a gap.
func (tl *timeline) journeyLines() []lineData {
	var out []lineData
	for _, name := range sortedKeys(tl.journeys) {
		l := lineData{name: name}
		for _, t := range tl.seconds() {
			y := math.NaN()
			if c := tl.journeys[name][t]; c != nil && c[1] > 0 {
				y = 100 * float64(c[0]) / float64(c[1])
			}
			l.pts = append(l.pts, xy{tl.mid(t), y})
		}
		out = append(out, l)
	}
	return out
}

// latencyLines are the p95 of the request duration per second in
// milliseconds, one line per endpoint; a second without requests is a gap.
func (tl *timeline) latencyLines() []lineData {
	var out []lineData
	for _, name := range sortedKeys(tl.latency) {
		l := lineData{name: name}
		for _, t := range tl.seconds() {
			y := math.NaN()
			if h := tl.latency[name][t]; h != nil && h.Count() > 0 {
				y = h.Quantile(0.95)
			}
			l.pts = append(l.pts, xy{tl.mid(t), y})
		}
		out = append(out, l)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Chart geometry, in SVG user units (an SVG scales to the width it is
// given, its text with it): a wide chart spans the page, a small one is a
// third of it.
const (
	wideW, wideH   = 960, 240
	smallW, smallH = 320, 150
	padRight       = 12
	padBottom      = 28
	padTop         = 10
	laneHeight     = 14 // a row of fault labels above the plot
)

// chart is an SVG timeline chart, laid out: every number is a coordinate,
// every string is text the template escapes.
type chart struct {
	ID, Title, Note string
	W, H            int
	X0, X1, Y0, Y1  float64 // the plot area: left, right, top, bottom
	PlotH           float64 // Y1 - Y0
	XTicks, YTicks  []tick
	Faults          []faultBand
	Lines           []line
	Legend          bool // the lines are named under the chart
	Empty           bool // no data: the chart says so
}

type tick struct {
	Pos   float64
	Label string
}

// faultBand shades the span a fault was in place; an instant (a kill) is a
// line.
type faultBand struct {
	X, W    float64
	Instant bool
	Label   string  // link and toxic; empty on the fault's later spans
	LabelY  float64 // baseline of the label, above the plot
	Top     float64 // where its edge line starts: at its label, or the plot's top
	Title   string  // the fault in full, as a tooltip
}

type line struct {
	Name, Color string
	Segments    []string // polyline points, one per run of seconds with data
	Dots        []point  // lone seconds, which a polyline cannot show
}

type point struct{ X, Y float64 }

// axis maps values onto a coordinate range.
type axis struct {
	lo, hi   float64 // value range
	from, to float64 // coordinate range
	log      bool
}

func (a axis) pos(v float64) float64 {
	lo, hi := a.lo, a.hi
	if a.log {
		v, lo, hi = math.Log10(max(v, a.lo)), math.Log10(lo), math.Log10(hi)
	}
	if hi == lo {
		return a.from
	}
	return a.from + (v-lo)/(hi-lo)*(a.to-a.from)
}

// yScale says how a chart's values are laid out: linear from 0 (the default),
// fixed to 0..100 (percentages), or logarithmic (latencies, whose spikes are
// orders of magnitude above the baseline).
type yScale int

const (
	scaleLinear yScale = iota
	scalePercent
	scaleLog
)

// chartSpec is what a chart shows and how.
type chartSpec struct {
	ID, Title, Note string
	Scale           yScale
	Small           bool    // a third of the page's width, fault labels left to the wide charts
	X0, X1          float64 // the seconds shown, offsets from the load's start
	// YLo and YHi fix the value range (small multiples share one); both 0:
	// from the data.
	YLo, YHi float64
}

// valueRange is the smallest and largest value of lines that scale can
// draw; ok is false when there is none.
func valueRange(scale yScale, lines ...lineData) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, l := range lines {
		for _, p := range l.pts {
			if math.IsNaN(p.y) || (scale == scaleLog && p.y <= 0) {
				continue
			}
			lo, hi, ok = min(lo, p.y), max(hi, p.y), true
		}
	}
	return lo, hi, ok
}

// newChart lays out lines over the seconds of spec with the faults shaded.
// Lines are coloured in order, from the palette, unless they have a colour.
func newChart(spec chartSpec, lines []lineData, faults []faultSpan) chart {
	c := chart{ID: spec.ID, Title: spec.Title, Note: spec.Note, Legend: !spec.Small}
	lanes, padLeft := 0, 60.0
	c.W, c.H = wideW, wideH
	if spec.Small {
		c.W, c.H, padLeft = smallW, smallH, 46
	} else {
		for _, f := range faults {
			lanes = max(lanes, f.lane+1)
		}
	}
	c.H += lanes * laneHeight
	c.X0, c.X1 = padLeft, float64(c.W-padRight)
	c.Y0, c.Y1 = float64(padTop+lanes*laneHeight), float64(c.H-padBottom)
	c.PlotH = c.Y1 - c.Y0
	xa := axis{lo: spec.X0, hi: spec.X1, from: c.X0, to: c.X1}
	xt := timeTicks(spec.X0, spec.X1, 10)
	if spec.Small {
		xt = timeTicks(spec.X0, spec.X1, 5)
	}
	for _, v := range xt {
		c.XTicks = append(c.XTicks, tick{round1(xa.pos(v)), fmtOffset(v)})
	}
	for _, f := range faults {
		b := faultBand{X: round1(xa.pos(f.from)), Instant: f.from == f.to, Title: f.title, Top: c.Y0}
		b.W = round1(max(xa.pos(f.to)-xa.pos(f.from), 0))
		if f.label != "" && !spec.Small {
			b.Label = f.label
			b.LabelY = float64(padTop + (f.lane+1)*laneHeight - 3)
			b.Top = b.LabelY - 10
		}
		c.Faults = append(c.Faults, b)
	}

	lo, hi, any := valueRange(spec.Scale, lines...)
	if !any {
		c.Empty = true
		return c
	}
	if spec.YHi > spec.YLo {
		lo, hi = spec.YLo, spec.YHi
	}
	ya := axis{from: c.Y1, to: c.Y0}
	var yt []float64
	switch spec.Scale {
	case scalePercent:
		ya.lo, ya.hi = 0, 100
		yt = []float64{0, 25, 50, 75, 100}
		if spec.Small {
			yt = []float64{0, 50, 100}
		}
	case scaleLog:
		ya.log = true
		ya.lo, ya.hi = math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
		if ya.hi <= ya.lo {
			ya.hi = ya.lo * 10
		}
		yt = logTicks(ya.lo, ya.hi, !spec.Small)
	default:
		ya.lo, ya.hi = 0, niceCeil(hi)
		yt = linearTicks(ya.hi)
	}
	for _, v := range yt {
		label := trimNum(v)
		switch spec.Scale {
		case scaleLog:
			label = fmtMillis(v)
		case scalePercent:
			label += "%"
		}
		c.YTicks = append(c.YTicks, tick{round1(ya.pos(v)), label})
	}
	for i, l := range lines {
		ln := line{Name: l.name, Color: l.color}
		if ln.Color == "" {
			ln.Color = palette[i%len(palette)]
		}
		var run []point
		flush := func() {
			switch len(run) {
			case 0:
			case 1:
				ln.Dots = append(ln.Dots, run[0])
			default:
				ln.Segments = append(ln.Segments, pointsAttr(run))
			}
			run = run[:0]
		}
		for _, p := range l.pts {
			if math.IsNaN(p.y) || p.x < spec.X0 || p.x > spec.X1 || (spec.Scale == scaleLog && p.y <= 0) {
				flush()
				continue
			}
			run = append(run, point{round1(xa.pos(p.x)), round1(ya.pos(p.y))})
		}
		flush()
		c.Lines = append(c.Lines, ln)
	}
	return c
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func pointsAttr(ps []point) string {
	b := make([]byte, 0, len(ps)*12)
	for i, p := range ps {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendFloat(b, p.X, 'f', -1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, p.Y, 'f', -1, 64)
	}
	return string(b)
}

// faultSpan is a span a fault was in place, in seconds from the load's
// start, with what the chart writes on it.
type faultSpan struct {
	from, to     float64
	label, title string
	lane         int // the row of its label: one per fault
}

// faultSpans places the actual fault intervals of j, each fault's label on
// its first span and on a row of its own.
func faultSpans(j *journal.Run) []faultSpan {
	what := map[int]string{}
	phase := map[int]string{}
	for _, e := range j.Faults {
		if _, ok := what[e.Fault]; !ok {
			what[e.Fault] = e.What
			if e.Phase != "" {
				phase[e.Fault] = e.Phase
			}
		}
	}
	lanes := map[int]int{}
	var out []faultSpan
	for _, iv := range j.Intervals {
		s := faultSpan{from: iv.From.Seconds(), to: iv.To.Seconds(), title: what[iv.Index]}
		lane, seen := lanes[iv.Index]
		if !seen {
			lane = len(lanes)
			lanes[iv.Index] = lane
			s.label = faultLabel(what[iv.Index])
			if p := phase[iv.Index]; p != "" {
				// A replay names its phases after what shoppers saw.
				s.label = fmt.Sprintf("%q: %s", p, s.label)
				s.title = p + " — " + s.title
			}
			if s.label == "" {
				s.label = fmt.Sprintf("fault %d", iv.Index+1)
			}
		}
		s.lane = lane
		if s.title == "" {
			s.title = fmt.Sprintf("fault %d", iv.Index+1)
		}
		out = append(out, s)
	}
	return out
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten (at least 1).
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// linearTicks divides 0..hi (a niceCeil) into four or five round steps.
func linearTicks(hi float64) []float64 {
	n := 5.0 // 1, 2.5 and 5 times a power of ten
	if m := hi / math.Pow(10, math.Floor(math.Log10(hi))); math.Abs(m-2) < 1e-9 {
		n = 4
	}
	var out []float64
	for i := 0.0; i <= n; i++ {
		out = append(out, i*hi/n)
	}
	return out
}

// logTicks are 1, 2 and 5 times each power of ten from lo to hi (powers of
// ten) when fine, or the powers themselves (always across more than three
// decades).
func logTicks(lo, hi float64, fine bool) []float64 {
	decades := int(math.Round(math.Log10(hi / lo)))
	mults := []float64{1, 2, 5}
	if !fine || decades > 3 {
		mults = []float64{1}
	}
	var out []float64
	for d := 0; d <= decades; d++ {
		p := lo * math.Pow(10, float64(d))
		for _, m := range mults {
			if v := p * m; v <= hi*(1+1e-9) {
				out = append(out, v)
			}
		}
	}
	return out
}

// timeTicks are round offsets from x0 to x1, at most about n of them.
func timeTicks(x0, x1 float64, n int) []float64 {
	span := x1 - x0
	step := 1.0
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600} {
		step = s
		if span/s <= float64(n) {
			break
		}
	}
	var out []float64
	for v := math.Ceil(x0/step) * step; v <= x1+1e-9; v += step {
		out = append(out, v)
	}
	return out
}

// fmtOffset renders seconds from the load's start: "0s", "45s", "1m30s".
func fmtOffset(s float64) string {
	return fmtElapsed(time.Duration(s * float64(time.Second)))
}

// fmtMillis renders milliseconds for an axis: "0.1ms", "20ms", "1s".
func fmtMillis(ms float64) string {
	if ms >= 1000 {
		return trimNum(ms/1000) + "s"
	}
	return trimNum(ms) + "ms"
}

// trimNum renders v with at most three decimals and no trailing zeros.
func trimNum(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}
