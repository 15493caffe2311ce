package load

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/series"
)

// Tags kept on the series. Every other tag (url, method, name, scenario…) is
// dropped, so that the number of series stays small however many URLs a
// script calls.
const (
	TagEndpoint = "endpoint" // route name set by the script: login, checkout…
	TagJourney  = "journey"  // journey set by the script: login, browse, cart…
	TagStatus   = "status"   // HTTP status as a class: 2xx, 3xx, 4xx, 5xx, or "0" for no response
	TagCode     = "code"     // error code set by the script (the storefront's error envelope)
	TagName     = "name"     // a journey file's step name
)

// keptTags is the fixed subset of tags a series is split by, sorted.
var keptTags = []string{TagCode, TagEndpoint, TagJourney, TagStatus}

// statusClass folds an HTTP status into its class: "503" is "5xx", "0" (no
// response) stays "0". Anything that is not a 3-digit status is kept as is.
func statusClass(s string) string {
	if len(s) == 3 && s[0] >= '1' && s[0] <= '5' && isDigit(s[1]) && isDigit(s[2]) {
		return s[:1] + "xx"
	}
	return s
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// tagGroup is a tag set cut down to the kept tags: its stable key and the map.
type tagGroup struct {
	key  string
	tags map[string]string // nil when no kept tag is present; shared, never modified
}

// newTagGroup cuts tags down to keptTags, using get to read a tag.
func newTagGroup(get func(string) (string, bool)) tagGroup {
	var m map[string]string
	for _, k := range keptTags {
		v, ok := get(k)
		if !ok || v == "" {
			continue
		}
		if k == TagStatus {
			v = statusClass(v)
		}
		if m == nil {
			m = make(map[string]string, len(keptTags))
		}
		m[k] = v
	}
	return tagGroup{key: series.TagKey(m), tags: m}
}

// cellKey names one series within a second.
type cellKey struct {
	metric string
	tags   string
}

// cell accumulates one (second, metric, tag set).
type cell struct {
	kind  string
	tags  map[string]string
	count int64
	sum   float64
	min   float64
	max   float64
	last  float64
	hist  *series.Histogram // trends only
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

func (c *cell) point(t int64, metric string) series.Point {
	p := series.Point{T: t, Metric: metric, Kind: c.kind, Tags: c.tags, Count: c.count, Sum: c.sum, Min: c.min, Max: c.max}
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

// aggregator folds samples into one cell per (second, metric, tag group) and
// hands back whole seconds as points. Its memory is bounded by the seconds
// not yet flushed times the series in them; trends are histograms, never
// samples. It is not safe for concurrent use.
type aggregator struct {
	seconds map[int64]map[cellKey]*cell
	flushed int64 // every second before this one has been flushed at least once
	late    int64 // samples that arrived for a second already flushed
}

func newAggregator() *aggregator {
	return &aggregator{seconds: make(map[int64]map[cellKey]*cell), flushed: math.MinInt64}
}

// add records one sample of metric (of kind, one of the series.Kind*
// constants) taken at t. A sample for a second already flushed is kept and
// comes out as an extra point for that second at the next flush; NaN
// values are ignored.
func (a *aggregator) add(t time.Time, metric, kind string, g tagGroup, v float64) {
	if math.IsNaN(v) {
		return
	}
	sec := t.Unix() // floor, also for times before 1970
	if sec < a.flushed {
		a.late++
	}
	cells := a.seconds[sec]
	if cells == nil {
		cells = make(map[cellKey]*cell)
		a.seconds[sec] = cells
	}
	k := cellKey{metric: metric, tags: g.key}
	c := cells[k]
	if c == nil {
		c = &cell{kind: kind, tags: g.tags}
		if kind == series.KindTrend {
			c.hist = new(series.Histogram)
		}
		cells[k] = c
	}
	c.add(v)
}

// flush removes every second before `before` and returns its points sorted
// by second, metric and tags.
func (a *aggregator) flush(before int64) []series.Point {
	var secs []int64
	for s := range a.seconds {
		if s < before {
			secs = append(secs, s)
		}
	}
	slices.Sort(secs)
	var out []series.Point
	for _, s := range secs {
		cells := a.seconds[s]
		keys := make([]cellKey, 0, len(cells))
		for k := range cells {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(x, y cellKey) int {
			return cmp.Or(strings.Compare(x.metric, y.metric), strings.Compare(x.tags, y.tags))
		})
		for _, k := range keys {
			out = append(out, cells[k].point(s, k.metric))
		}
		delete(a.seconds, s)
	}
	if before > a.flushed {
		a.flushed = before
	}
	return out
}

// flushAll removes and returns every point held.
func (a *aggregator) flushAll() []series.Point { return a.flush(math.MaxInt64) }

// pending reports how many seconds are held.
func (a *aggregator) pending() int { return len(a.seconds) }
