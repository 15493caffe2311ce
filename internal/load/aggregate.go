package load

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/series"
)

// The names of the tags a series is split by (see Tags). Every other tag a
// load could carry (url, method…) is left out, so that the number of
// series stays small however many URLs a script calls.
const (
	TagEndpoint = "endpoint" // route name set by the script: login, checkout…
	TagJourney  = "journey"  // journey set by the script: login, browse, cart…
	TagStatus   = "status"   // HTTP status as a class: 2xx, 3xx, 4xx, 5xx, or "0" for no response
	TagCode     = "code"     // error code set by the script (the storefront's error envelope)
	TagName     = "name"     // a journey file's step name
)

// cell accumulates the samples of one (second, metric, tag set).
type cell struct {
	kind  string
	count int64
	sum   float64
	min   float64
	max   float64
	last  float64
	hist  *series.Histogram // trends only
}

func newCell(kind string) *cell {
	c := &cell{kind: kind}
	if kind == series.KindTrend {
		c.hist = new(series.Histogram)
	}
	return c
}

func (c *cell) add(v float64) {
	if c.count == 0 || v < c.min {
		c.min = v
	}
	if c.count == 0 || v > c.max {
		c.max = v
	}
	c.count++
	c.last = v
	switch c.kind {
	case series.KindRate:
		if v != 0 {
			c.sum++
		}
	default:
		c.sum += v
	}
	if c.hist != nil {
		c.hist.Add(v)
	}
}

// point returns the cell as the point of second t. A trend's point holds
// the cell's histogram itself.
func (c *cell) point(t int64, metric string, tags map[string]string) series.Point {
	p := series.Point{T: t, Metric: metric, Kind: c.kind, Tags: tags, Count: c.count, Sum: c.sum, Min: c.min, Max: c.max}
	switch c.kind {
	case series.KindGauge:
		p.Max = c.last // series.KindGauge: Max holds the last value seen
	case series.KindTrend:
		p.Min, p.Max = c.hist.Min(), c.hist.Max()
		p.P50 = c.hist.Quantile(0.50)
		p.P95 = c.hist.Quantile(0.95)
		p.P99 = c.hist.Quantile(0.99)
		p.Hist = c.hist
	}
	return p
}

// seriesKey names one series within a second. Tags is a comparable value,
// so keying by it builds no string per sample.
type seriesKey struct {
	metric string
	tags   Tags
}

// secondTable folds samples into one cell per (second, metric, Tags) and
// hands whole seconds back. Its memory is bounded by the seconds it holds
// times the series in them: trends are histograms, never samples. It is not
// safe for concurrent use.
type secondTable struct {
	seconds map[int64]map[seriesKey]*cell
	cur     map[seriesKey]*cell // seconds[curSec]: most samples fall in the second before
	curSec  int64
	taken   int64 // every second before this one has been taken at least once
	late    int64 // samples that arrived for a second already taken
}

func newSecondTable() *secondTable {
	return &secondTable{seconds: make(map[int64]map[seriesKey]*cell), taken: math.MinInt64}
}

// add records one sample v of metric (of kind, one of the series.Kind*
// constants) taken at t. A sample for a second already taken is kept, and
// counted as late: it comes out as an extra point for that second at the
// next take. NaN and infinite values are left out (no JSON can carry
// them). The kind of a series is the kind of its first sample.
func (a *secondTable) add(t time.Time, metric, kind string, tags Tags, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	sec := t.Unix() // floor, also before 1970
	if sec < a.taken {
		a.late++
	}
	cells := a.cur
	if cells == nil || sec != a.curSec {
		cells = a.seconds[sec]
		if cells == nil {
			cells = make(map[seriesKey]*cell)
			a.seconds[sec] = cells
		}
		a.cur, a.curSec = cells, sec
	}
	k := seriesKey{metric: metric, tags: tags}
	c := cells[k]
	if c == nil {
		c = newCell(kind)
		cells[k] = c
	}
	c.add(v)
}

// heldSecond is one second taken from a secondTable.
type heldSecond struct {
	t     int64
	cells map[seriesKey]*cell
}

// take removes every second before `before` and returns them, earliest
// first. Nothing adds to what it returns any more: a late sample goes to a
// new cell.
func (a *secondTable) take(before int64) []heldSecond {
	var out []heldSecond
	for s, cells := range a.seconds {
		if s < before {
			out = append(out, heldSecond{t: s, cells: cells})
			delete(a.seconds, s)
		}
	}
	if a.cur != nil && a.curSec < before {
		a.cur = nil
	}
	a.taken = max(a.taken, before)
	slices.SortFunc(out, func(x, y heldSecond) int { return cmp.Compare(x.t, y.t) })
	return out
}

// pending reports how many seconds are held.
func (a *secondTable) pending() int { return len(a.seconds) }

// pointsOf returns the points of held seconds, sorted by second, metric
// and tags; Point.Tags is Tags.Map of the series' tags.
func pointsOf(held []heldSecond) []series.Point {
	n := 0
	for _, h := range held {
		n += len(h.cells)
	}
	out := make([]series.Point, 0, n)
	keys := make([]seriesKey, 0, 16)
	for _, h := range held {
		keys = keys[:0]
		for k := range h.cells {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(x, y seriesKey) int {
			return cmp.Or(strings.Compare(x.metric, y.metric), compareTags(x.tags, y.tags))
		})
		for _, k := range keys {
			out = append(out, h.cells[k].point(h.t, k.metric, k.tags.Map()))
		}
	}
	return out
}

// compareTags orders tag sets field by field, in the order of their
// series names (code, endpoint, journey, name, status).
func compareTags(x, y Tags) int {
	return cmp.Or(
		strings.Compare(x.Code, y.Code),
		strings.Compare(x.Endpoint, y.Endpoint),
		strings.Compare(x.Journey, y.Journey),
		strings.Compare(x.Name, y.Name),
		strings.Compare(x.Status, y.Status),
	)
}
