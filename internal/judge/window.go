package judge

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/internal/series"
)

// Open ends of a span.
const (
	beforeAll = time.Duration(math.MinInt64)
	afterAll  = time.Duration(math.MaxInt64)
)

// span is a half-open span of offsets from the load's start, [from, to).
type span struct{ from, to time.Duration }

// window is a set of disjoint spans in time order.
//
// A second of the series belongs to a window only when it lies wholly inside
// one of its spans, so that a second straddling a fault's start or end counts
// for neither side and a window's statistics are not blurred by its
// neighbour's. The named windows reach out to the open ends where they touch
// them: baseline takes everything before the first fault (also a second that
// began just before the load did), recovery and run everything after (also
// the iterations that end after the load's planned duration). An explicit
// window starting at 0 or ending at the load's end is open on that side too.
type window []span

// resolveWindow returns the spans of w in tl, or nil and the reason when the
// run has no such window.
func resolveWindow(w scenario.Window, tl Timeline) (window, string) {
	first, last := afterAll, beforeAll
	for _, f := range tl.Faults {
		first, last = min(first, f.From), max(last, f.To)
	}
	switch w.Name {
	case scenario.WindowRun:
		return window{{beforeAll, afterAll}}, ""
	case scenario.WindowBaseline:
		if len(tl.Faults) == 0 {
			return nil, "the run had no faults, so no baseline before them"
		}
		if first <= 0 {
			return nil, "the first fault started with the load: the run has no baseline"
		}
		return window{{beforeAll, first}}, ""
	case scenario.WindowRecovery:
		if len(tl.Faults) == 0 {
			return nil, "the run had no faults, so no recovery after them"
		}
		if tl.Duration > 0 && last >= tl.Duration {
			return nil, "the last fault lasted until the load ended: the run has no recovery"
		}
		return window{{last, afterAll}}, ""
	case scenario.WindowFault:
		var spans []span
		for _, f := range tl.Faults {
			if f.To > f.From {
				spans = append(spans, span{f.From, f.To})
			}
		}
		if len(spans) == 0 {
			return nil, "no fault was in place for any length of time"
		}
		return union(spans), ""
	case "":
		from, to := w.From, w.To
		if from <= 0 {
			from = beforeAll
		}
		if tl.Duration > 0 && to >= tl.Duration {
			to = afterAll
		}
		if to <= from {
			return nil, fmt.Sprintf("window %s is empty", w)
		}
		return window{{from, to}}, ""
	}
	return nil, fmt.Sprintf("the judge has no window %q", w.Name)
}

// union merges overlapping or touching spans.
func union(spans []span) window {
	spans = slices.Clone(spans)
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	var out window
	for _, s := range spans {
		if n := len(out); n > 0 && s.from <= out[n-1].to {
			out[n-1].to = max(out[n-1].to, s.to)
			continue
		}
		out = append(out, s)
	}
	return out
}

// holds reports whether the second starting at offset off lies wholly inside w.
func (w window) holds(off time.Duration) bool {
	for _, s := range w {
		if s.from <= off && off <= s.to-time.Second {
			return true
		}
	}
	return false
}

// clip returns the part of w before offset now.
func (w window) clip(now time.Duration) window {
	var out window
	for _, s := range w {
		if s.from >= now {
			break
		}
		out = append(out, span{s.from, min(s.to, now)})
	}
	return out
}

// end returns where w ends, taking an open end as the load's end.
func (w window) end(tl Timeline) time.Duration {
	if len(w) == 0 {
		return 0
	}
	if e := w[len(w)-1].to; e != afterAll {
		return e
	}
	return tl.Duration
}

// String renders w: "start..+15.0s", "+15.0s..+35.0s, +40.0s..+45.0s", "+35.0s..end".
func (w window) String() string {
	parts := make([]string, len(w))
	for i, s := range w {
		from, to := "start", "end"
		if s.from != beforeAll {
			from = formatOffset(s.from)
		}
		if s.to != afterAll {
			to = formatOffset(s.to)
		}
		parts[i] = from + ".." + to
	}
	return strings.Join(parts, ", ")
}

// secondOffset returns the offset from the load's start at which the series
// second t (a unix second) begins.
func (tl Timeline) secondOffset(t int64) time.Duration {
	return time.Unix(t, 0).Sub(tl.Start)
}

// matches reports whether p is metric with every tag of want.
func matches(p *series.Point, metric string, want map[string]string) bool {
	if p.Metric != metric {
		return false
	}
	for k, v := range want {
		if p.Tags[k] != v {
			return false
		}
	}
	return true
}
