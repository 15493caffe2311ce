package report

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/journal"
	"github.com/gameday/gameday/internal/judge"
)

//go:embed html.tmpl
var templateFS embed.FS

// pages holds the "report" and "index" templates. html/template escapes
// every name, label and piece of evidence a journal carries, in text, in
// attributes and inside the SVG.
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"statusClass": func(s judge.Status) string { return strings.ToLower(statusMark(s)) },
	"statusMark":  statusMark,
	"add1":        func(i int) int { return i + 1 },
}).ParseFS(templateFS, "html.tmpl"))

// reportPage is what the report template shows of one run.
type reportPage struct {
	J         *journal.Run
	Outcome   judge.Status
	Passed    int
	NotPassed []checkRow
	Tiles     []tileView
	Charts    []chart // the wide ones
	Latency   []chart // one small chart per endpoint
	Checks    []checkRow
	Faults    []faultRow
	Features  []featureView
	Env       []keyValue
	Versions  []keyValue
}

type tileView struct{ Label, Value, Note string }

type checkRow struct {
	judge.Verdict
	Anchor   string
	Got      string
	Offended string // "3 of 120 offending", empty when none did
}

type faultRow struct {
	Fault                 int
	What, Action          string
	Planned, Actual, Late string
	Err                   string
}

type featureView struct {
	Name string
	On   bool
}

type keyValue struct{ Key, Value string }

// HTML writes the report of one run as a single self-contained HTML page:
// the verdict, timeline charts of the request rate, journey success and p95
// latency with every fault window shaded and labelled, the checks with their
// evidence, the fault timeline and the environment. The page loads nothing:
// its styles are inline and its charts inline SVG, so it opens offline and
// from an archive of CI artifacts. It returns the writer's error.
func HTML(w io.Writer, j *journal.Run) error {
	p := reportPage{J: j}
	s := SuiteOf(j)
	p.Outcome = s.Outcome()
	for i, v := range j.Verdicts {
		row := checkRow{Verdict: v, Anchor: fmt.Sprintf("check-%d", i+1), Got: v.GotText()}
		if v.Evidence.Count > 0 {
			row.Offended = fmt.Sprintf("%d offending of %d", v.Evidence.Count, v.Evidence.Samples)
		}
		p.Checks = append(p.Checks, row)
		if v.Status == judge.Pass {
			p.Passed++
		} else {
			p.NotPassed = append(p.NotPassed, row)
		}
	}

	tl := fold(j)
	p.Tiles = tiles(j, tl)
	x0, x1 := span(j, tl)
	faults := faultSpans(j)
	p.Charts = []chart{
		newChart(chartSpec{ID: "chart-rate", Title: "Request rate", Note: "requests per second, and the failed ones",
			Scale: scaleLinear, X0: x0, X1: x1}, tl.rateLines(), faults),
		newChart(chartSpec{ID: "chart-journeys", Title: "Journey success, per journey", Note: "share of the journeys ending in the second that succeeded",
			Scale: scalePercent, X0: x0, X1: x1}, tl.journeyLines(), faults),
	}
	// Latency is a chart per endpoint on one shared scale: a dozen lines on
	// one chart cannot be told apart.
	lat := tl.latencyLines()
	lo, hi, _ := valueRange(scaleLog, lat...)
	for i, l := range lat {
		note := "p95 " + fmtMillisShort(tl.endpoint[l.name].Quantile(0.95)) + " over the run"
		l.color = palette[0]
		p.Latency = append(p.Latency, newChart(chartSpec{ID: fmt.Sprintf("chart-latency-%d", i+1), Title: l.name, Note: note,
			Scale: scaleLog, Small: true, X0: x0, X1: x1, YLo: lo, YHi: hi}, []lineData{l}, faults))
	}
	for _, e := range j.Faults {
		p.Faults = append(p.Faults, faultRow{
			Fault: e.Fault + 1, What: e.What, Action: e.Action,
			Planned: fmtAt(e.Planned), Actual: fmtAt(e.Actual), Late: fmtLate(e.Actual - e.Planned), Err: e.Err,
		})
	}
	for _, f := range strings.Split(j.Features, ",") {
		name, val, ok := strings.Cut(f, "=")
		if ok {
			p.Features = append(p.Features, featureView{Name: name, On: val == "on"})
		}
	}
	p.Env = environment(j)
	for _, k := range sortedKeys(j.Versions) {
		p.Versions = append(p.Versions, keyValue{k, j.Versions[k]})
	}
	return pages.ExecuteTemplate(w, "report", p)
}

// span is the stretch of the run the charts show, in seconds from the
// load's start: from the load's start (or its first second) to the last
// second or the last fault's end, whichever is later.
func span(j *journal.Run, tl *timeline) (float64, float64) {
	x0, x1 := 0.0, j.Load.Elapsed.Seconds()
	if tl.from != 0 {
		x0 = min(x0, math.Floor(tl.mid(tl.from)))
		x1 = max(x1, tl.mid(tl.to)+0.5)
	}
	for _, iv := range j.Intervals {
		x1 = max(x1, iv.To.Seconds())
	}
	x1 = math.Ceil(x1)
	if x1 <= x0 {
		x1 = x0 + 1
	}
	return x0, x1
}

// tiles are the headline numbers of the run.
func tiles(j *journal.Run, tl *timeline) []tileView {
	var reqs, failed float64
	for _, v := range tl.reqs {
		reqs += v
	}
	for _, v := range tl.failed {
		failed += v
	}
	out := []tileView{{Label: "Requests", Value: "-"}, {Label: "Failed requests", Value: "-"},
		{Label: "Journeys succeeded", Value: "-"}, {Label: "p95 latency", Value: "-"}}
	if reqs > 0 {
		out[0].Value = groupThousands(int64(reqs))
		if secs := float64(tl.to - tl.from + 1); secs > 0 {
			out[0].Note = fmt.Sprintf("%.0f per second", reqs/secs)
		}
		out[1].Value = percent(failed / reqs)
		out[1].Note = groupThousands(int64(failed)) + " failed"
	}
	if tl.done > 0 {
		out[2].Value = percent(float64(tl.ok) / float64(tl.done))
		out[2].Note = fmt.Sprintf("%s of %s", groupThousands(tl.ok), groupThousands(tl.done))
	}
	if tl.all.Count() > 0 {
		out[3].Value = fmtMillisShort(tl.all.Quantile(0.95))
		out[3].Note = "all requests, p99 " + fmtMillisShort(tl.all.Quantile(0.99))
	}
	return out
}

// environment lists where and how the run happened.
func environment(j *journal.Run) []keyValue {
	timeline := "as written"
	if j.Compressed {
		timeline = "compressed (--quick)"
	}
	load := fmt.Sprintf("the load exited %d after %s, %s points", j.Load.ExitCode, fmtDuration(j.Load.Elapsed), groupThousands(j.Load.Points))
	if j.Load.Err != "" {
		load += ": " + j.Load.Err
	}
	kv := []keyValue{
		{"Profile", j.Profile},
		{"Seed", fmt.Sprint(j.Seed)},
		{"Runtime", j.Environment.Runtime},
		{"Shoppers", fmt.Sprint(j.Environment.Shoppers)},
		{"Timeline", timeline},
		{"Scenario file", j.File},
		{"Started", fmtTime(j.Started)},
		{"Load started", fmtTime(j.LoadStart)},
		{"Whole run", fmtDuration(j.Elapsed)},
		{"Load", load},
	}
	if j.Cleanup != "" {
		kv = append(kv, keyValue{"Clean-up", j.Cleanup})
	}
	return kv
}

// Entry is one run on the index page: its journal and where its report is,
// relative to the index.
type Entry struct {
	Href    string
	Journal *journal.Run
}

type indexPage struct {
	Outcome       judge.Status
	Passed, Total int
	Rows          []indexRow
}

type indexRow struct {
	Href, Name, Description, Profile, Elapsed string
	Outcome                                   judge.Status
	Passed, Checks                            int
	Err                                       string
}

// Index writes the page that links the reports of a run of several
// scenarios, with each one's outcome; self-contained like HTML. It returns
// the writer's error.
func Index(w io.Writer, entries []Entry) error {
	p := indexPage{Total: len(entries)}
	var outcomes []judge.Status
	for _, e := range entries {
		j := e.Journal
		s := SuiteOf(j)
		r := indexRow{Href: e.Href, Name: j.Scenario, Description: firstLine(j.Description), Profile: j.Profile,
			Elapsed: fmtDuration(j.Elapsed), Outcome: s.Outcome(), Checks: len(j.Verdicts), Err: j.Err}
		for _, v := range j.Verdicts {
			if v.Status == judge.Pass {
				r.Passed++
			}
		}
		if r.Outcome == judge.Pass {
			p.Passed++
		}
		outcomes = append(outcomes, r.Outcome)
		p.Rows = append(p.Rows, r)
	}
	p.Outcome = overall(outcomes)
	return pages.ExecuteTemplate(w, "index", p)
}

// overall folds the outcomes of several runs: pass only when every one
// passed (and there was one), fail when any failed, unknown otherwise.
func overall(outcomes []judge.Status) judge.Status {
	vs := make([]judge.Verdict, len(outcomes))
	for i, o := range outcomes {
		vs[i].Status = o
	}
	return judge.Overall(vs)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// fmtDuration renders a run's length: "850ms", "32.3s", "2m05s".
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return fmtElapsed(d)
}

// fmtAt renders an offset from the load's start: "+15.0s".
func fmtAt(d time.Duration) string { return fmt.Sprintf("%+.1fs", d.Seconds()) }

// fmtLate renders how late an event was carried out: "4ms", "1.2s".
func fmtLate(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

func fmtMillisShort(ms float64) string {
	switch {
	case ms >= 1000:
		return trimNum(math.Round(ms/10)/100) + "s"
	case ms >= 10:
		return fmt.Sprintf("%.0fms", ms)
	}
	return trimNum(math.Round(ms*10)/10) + "ms"
}

// percent renders a share: "98.7%", "100%", "0.05%".
func percent(x float64) string {
	switch v := 100 * x; {
	case v == 0 || v == 100:
		return fmt.Sprintf("%.0f%%", v)
	case v < 0.1:
		return fmt.Sprintf("%.2f%%", v)
	default:
		return fmt.Sprintf("%.1f%%", v)
	}
}

// groupThousands renders n with thousands separators: "12,345".
func groupThousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
