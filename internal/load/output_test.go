package load

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.k6.io/k6/metrics"
	"go.k6.io/k6/output"

	"github.com/gameday/gameday/internal/series"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// t0 is a fixed second so that golden files do not depend on the clock.
var t0 = time.Unix(1_700_000_000, 0)

func quietLogger() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// testOutput returns a started Output writing into a temporary file, with
// no periodic flush (the test calls flushDue) and a clock the test sets.
func testOutput(tb testing.TB) (o *Output, path string, now *time.Time) {
	tb.Helper()
	path = filepath.Join(tb.TempDir(), "series.jsonl")
	o = newOutput(path, quietLogger())
	o.every = 0
	clock := t0
	o.now = func() time.Time { return clock }
	if err := o.Start(); err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() { _ = o.Stop() }) // Stop is idempotent
	return o, path, &clock
}

// readPoints reads a series file.
func readPoints(tb testing.TB, path string) []series.Point {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("open series: %v", err)
	}
	defer f.Close()
	var pts []series.Point
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var p series.Point
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			tb.Fatalf("series line %q: %v", sc.Text(), err)
		}
		pts = append(pts, p)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("read series: %v", err)
	}
	return pts
}

// stream is a known sample stream and what each series must hold.
type stream struct {
	reg     *metrics.Registry
	samples []metrics.SampleContainer
	exact   map[string][]float64 // key(t, metric, tags) -> values
}

func pointKey(t int64, metric string, tags map[string]string) string {
	return fmt.Sprintf("%d %s {%s}", t, metric, series.TagKey(tags))
}

// knownStream builds 3 s of traffic on two endpoints with every status
// class, samples exactly on the second edges, the tags k6 adds (url, method,
// name, scenario) and metrics that must be left out.
func knownStream() *stream {
	reg := metrics.NewRegistry()
	builtin := metrics.RegisterBuiltinMetrics(reg)
	shopperErr := reg.MustNewMetric("shopper_error", metrics.Counter)
	journeyOK := reg.MustNewMetric("journey_success", metrics.Rate)
	otpWait := reg.MustNewMetric("otp_wait", metrics.Trend, metrics.Time)
	queue := reg.MustNewMetric("queue_depth", metrics.Gauge)
	root := reg.RootTagSet()
	r := rand.New(rand.NewPCG(7, 11))

	s := &stream{reg: reg, exact: make(map[string][]float64)}
	add := func(m *metrics.Metric, at time.Time, tags map[string]string, v float64) {
		ts := root.WithTagsFromMap(tags)
		s.samples = append(s.samples, metrics.Sample{
			TimeSeries: metrics.TimeSeries{Metric: m, Tags: ts},
			Time:       at,
			Value:      v,
		})
		kept := map[string]string{}
		for _, k := range keptTags {
			if v, ok := tags[k]; ok && v != "" {
				if k == TagStatus {
					v = statusClass(v)
				}
				kept[k] = v
			}
		}
		if len(kept) == 0 {
			kept = nil
		}
		if m.Name == builtin.HTTPReqBlocked.Name || m.Name == builtin.VUs.Name || m.Name == builtin.DataReceived.Name {
			return // left out of the series
		}
		k := pointKey(at.Unix(), m.Name, kept)
		s.exact[k] = append(s.exact[k], v)
	}

	endpoints := []string{"login", "checkout"}
	statuses := []string{"200", "201", "200", "200", "503", "429", "0", "302", "200", "200"}
	const n = 1500
	for i := 0; i < n; i++ {
		// i*2ms: sample 500 is exactly t0+1s, sample 1000 exactly t0+2s.
		at := t0.Add(time.Duration(i) * 2 * time.Millisecond)
		ep := endpoints[i%len(endpoints)]
		st := statuses[r.IntN(len(statuses))]
		tags := map[string]string{
			"endpoint": ep, "journey": map[string]string{"login": "login", "checkout": "checkout"}[ep],
			"status": st, "method": "POST", "url": fmt.Sprintf("http://127.0.0.1:1/api/v1/%s?i=%d", ep, i),
			"name": "http://127.0.0.1:1/api/v1/" + ep, "scenario": "shoppers", "expected_response": "true",
		}
		// Latencies: log-normal around 20 ms with a tail, some sub-µs zeros.
		d := math.Exp(3 + 0.8*r.NormFloat64())
		if i%97 == 0 {
			d = 0
		}
		add(builtin.HTTPReqDuration, at, tags, d)
		add(builtin.HTTPReqs, at, tags, 1)
		failed := 0.0
		if st == "0" || st[0] == '5' {
			failed = 1
		}
		add(builtin.HTTPReqFailed, at, tags, failed)
		add(builtin.HTTPReqBlocked, at, tags, r.Float64())
		add(builtin.DataReceived, at, tags, 512)
		if st == "503" || st == "429" {
			code := map[string]string{"503": "temporarily_unavailable", "429": "rate_limited"}[st]
			add(shopperErr, at, map[string]string{"endpoint": ep, "journey": tags["journey"], "code": code}, 1)
		}
		if i%10 == 0 {
			add(journeyOK, at, map[string]string{"journey": tags["journey"]}, float64(i/10%2))
			add(builtin.Iterations, at, map[string]string{"scenario": "shoppers"}, 1)
			add(builtin.VUs, at, nil, 10)
			add(queue, at, nil, float64(i))
		}
		if i%50 == 0 {
			add(otpWait, at, map[string]string{"journey": "login"}, 200+float64(i))
		}
	}
	// The last nanosecond of a second belongs to it.
	add(builtin.Iterations, t0.Add(3*time.Second-time.Nanosecond), map[string]string{"scenario": "edge"}, 1)
	return s
}

func TestOutputGolden(t *testing.T) {
	s := knownStream()
	o, path, now := testOutput(t)
	// k6 hands samples over in batches; so do we.
	for b := range slices.Chunk(s.samples, 64) {
		o.AddMetricSamples(b)
	}
	*now = t0.Add(3*time.Second + o.lag) // seconds t0..t0+2 are complete
	o.flushDue()
	if err := o.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "known_stream.golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("series differ from %s (run with -update after checking the change)", golden)
	}

	pts := readPoints(t, path)
	seen := map[string]bool{}
	for _, p := range pts {
		k := pointKey(p.T, p.Metric, p.Tags)
		if seen[k] {
			t.Errorf("%s: more than one point", k)
		}
		seen[k] = true
		vals, ok := s.exact[k]
		if !ok {
			t.Errorf("%s: point for no sample", k)
			continue
		}
		checkPoint(t, k, p, vals)
	}
	for k := range s.exact {
		if !seen[k] {
			t.Errorf("%s: samples but no point", k)
		}
	}
}

// checkPoint compares a point with the exact values it summarises.
func checkPoint(tb testing.TB, k string, p series.Point, vals []float64) {
	tb.Helper()
	if p.Count != int64(len(vals)) {
		tb.Errorf("%s: count %d, want %d", k, p.Count, len(vals))
	}
	sorted := slices.Sorted(slices.Values(vals))
	var sum float64
	for _, v := range vals {
		if p.Kind == series.KindRate && v != 0 {
			v = 1
		}
		sum += v
	}
	if math.Abs(p.Sum-sum) > 1e-9*math.Max(1, math.Abs(sum)) {
		tb.Errorf("%s: sum %v, want %v", k, p.Sum, sum)
	}
	switch p.Kind {
	case series.KindGauge:
		if p.Max != vals[len(vals)-1] {
			tb.Errorf("%s: gauge %v, want last value %v", k, p.Max, vals[len(vals)-1])
		}
	case series.KindTrend:
		if p.Min != sorted[0] || p.Max != sorted[len(sorted)-1] {
			tb.Errorf("%s: min/max %v/%v, want %v/%v", k, p.Min, p.Max, sorted[0], sorted[len(sorted)-1])
		}
		if p.Hist == nil || p.Hist.Count() != uint64(len(vals)) {
			tb.Fatalf("%s: histogram missing or short", k)
		}
		for _, q := range []struct {
			q   float64
			got float64
		}{{0.50, p.P50}, {0.95, p.P95}, {0.99, p.P99}} {
			want := nearestRank(sorted, q.q)
			if !within(q.got, want, series.Precision) {
				tb.Errorf("%s: p%v %v, exact %v: off by more than %v", k, q.q*100, q.got, want, series.Precision)
			}
		}
	}
}

// nearestRank is the exact quantile q of sorted values (nearest rank).
func nearestRank(sorted []float64, q float64) float64 {
	r := int(math.Ceil(q * float64(len(sorted))))
	return sorted[max(r, 1)-1]
}

// within reports whether got is within rel of want, or both are below the
// histogram's zero bucket (1 µs).
func within(got, want, rel float64) bool {
	if want <= 1e-3 {
		return got <= 1e-3
	}
	return math.Abs(got-want) <= rel*want
}

func TestStatusClass(t *testing.T) {
	tests := []struct{ in, want string }{
		{"200", "2xx"}, {"201", "2xx"}, {"302", "3xx"}, {"404", "4xx"}, {"429", "4xx"},
		{"503", "5xx"}, {"0", "0"}, {"", ""}, {"abc", "abc"}, {"2000", "2000"}, {"600", "600"}, {"1a0", "1a0"},
	}
	for _, tt := range tests {
		if got := statusClass(tt.in); got != tt.want {
			t.Errorf("statusClass(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestOutputTagSplit checks which tags split a series: the kept ones, with
// the status folded into its class, and nothing else.
func TestOutputTagSplit(t *testing.T) {
	tests := []struct {
		name string
		tags map[string]string
		want string // series.TagKey of the point's tags
	}{
		{"none", nil, ""},
		{"only dropped tags", map[string]string{"url": "http://x/a?id=1", "method": "GET", "name": "a", "scenario": "s"}, ""},
		{"endpoint and journey", map[string]string{"endpoint": "me", "journey": "browse", "url": "http://x/me"}, "endpoint=me,journey=browse"},
		{"status folded", map[string]string{"endpoint": "me", "status": "204"}, "endpoint=me,status=2xx"},
		{"no response", map[string]string{"endpoint": "me", "status": "0"}, "endpoint=me,status=0"},
		{"error code", map[string]string{"code": "phone_not_registered", "journey": "login"}, "code=phone_not_registered,journey=login"},
		{"all kept", map[string]string{"code": "x", "endpoint": "e", "journey": "j", "status": "503", "group": "::g"}, "code=x,endpoint=e,journey=j,status=5xx"},
		{"empty value dropped", map[string]string{"endpoint": "", "journey": "j"}, "journey=j"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := metrics.NewRegistry()
			m := reg.MustNewMetric("http_reqs", metrics.Counter)
			o, path, _ := testOutput(t)
			o.AddMetricSamples([]metrics.SampleContainer{metrics.Sample{
				TimeSeries: metrics.TimeSeries{Metric: m, Tags: reg.RootTagSet().WithTagsFromMap(tt.tags)},
				Time:       t0, Value: 1,
			}})
			if err := o.Stop(); err != nil {
				t.Fatal(err)
			}
			pts := readPoints(t, path)
			if len(pts) != 1 {
				t.Fatalf("%d points, want 1", len(pts))
			}
			if got := series.TagKey(pts[0].Tags); got != tt.want {
				t.Errorf("tags %q, want %q", got, tt.want)
			}
		})
	}
}

// TestOutputSecondEdges checks that a sample belongs to the second its time
// falls in: [s, s+1).
func TestOutputSecondEdges(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
		want int64
	}{
		{"start of second", t0, t0.Unix()},
		{"last nanosecond", t0.Add(time.Second - time.Nanosecond), t0.Unix()},
		{"next second", t0.Add(time.Second), t0.Unix() + 1},
		{"just before", t0.Add(-time.Nanosecond), t0.Unix() - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := metrics.NewRegistry()
			m := reg.MustNewMetric("iterations", metrics.Counter)
			o, path, _ := testOutput(t)
			o.AddMetricSamples([]metrics.SampleContainer{metrics.Sample{
				TimeSeries: metrics.TimeSeries{Metric: m, Tags: reg.RootTagSet()}, Time: tt.at, Value: 1,
			}})
			if err := o.Stop(); err != nil {
				t.Fatal(err)
			}
			pts := readPoints(t, path)
			if len(pts) != 1 || pts[0].T != tt.want {
				t.Fatalf("points %+v, want one at %d", pts, tt.want)
			}
		})
	}
}

// TestOutputFlushes checks when seconds are written: once complete and the
// lag passed, and everything on Stop; a late sample becomes an extra point.
func TestOutputFlushes(t *testing.T) {
	reg := metrics.NewRegistry()
	m := reg.MustNewMetric("http_req_duration", metrics.Trend, metrics.Time)
	sample := func(at time.Time, v float64) []metrics.SampleContainer {
		return []metrics.SampleContainer{metrics.Sample{
			TimeSeries: metrics.TimeSeries{Metric: m, Tags: reg.RootTagSet().With("endpoint", "me")}, Time: at, Value: v,
		}}
	}
	o, path, now := testOutput(t)
	o.AddMetricSamples(sample(t0, 10))
	o.AddMetricSamples(sample(t0.Add(1500*time.Millisecond), 20))

	*now = t0.Add(time.Second + o.lag - time.Millisecond) // t0 complete, but not lag ago
	o.flushDue()
	if pts := readPoints(t, path); len(pts) != 0 {
		t.Fatalf("wrote %d points before the lag passed", len(pts))
	}
	*now = t0.Add(time.Second + o.lag)
	o.flushDue()
	pts := readPoints(t, path)
	if len(pts) != 1 || pts[0].T != t0.Unix() || pts[0].Max != 10 {
		t.Fatalf("after the lag: %+v, want the point of t0 only", pts)
	}

	o.AddMetricSamples(sample(t0.Add(999*time.Millisecond), 30)) // late for t0
	if err := o.Stop(); err != nil {
		t.Fatal(err)
	}
	pts = readPoints(t, path)
	var got []string
	for _, p := range pts {
		got = append(got, fmt.Sprintf("%d:%d:%v", p.T-t0.Unix(), p.Count, p.Max))
	}
	want := []string{"0:1:10", "0:1:30", "1:1:20"}
	if !slices.Equal(got, want) {
		t.Errorf("points (second:count:max) %v, want %v", got, want)
	}
	if o.agg.late != 1 {
		t.Errorf("late samples %d, want 1", o.agg.late)
	}
	if o.agg.pending() != 0 {
		t.Errorf("%d seconds held after Stop", o.agg.pending())
	}
}

// TestOutputMemoryBounded feeds many samples into one second and checks that
// what is held is a histogram, not the samples.
func TestOutputMemoryBounded(t *testing.T) {
	reg := metrics.NewRegistry()
	m := reg.MustNewMetric("http_req_duration", metrics.Trend, metrics.Time)
	ts := reg.RootTagSet().With("endpoint", "products")
	o, _, _ := testOutput(t)
	r := rand.New(rand.NewPCG(1, 2))
	batch := make([]metrics.SampleContainer, 1000)
	for range 200 {
		for i := range batch {
			batch[i] = metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: m, Tags: ts}, Time: t0, Value: 1 + 5000*r.Float64()}
		}
		o.AddMetricSamples(batch)
	}
	c := o.agg.seconds[t0.Unix()][cellKey{metric: m.Name, tags: "endpoint=products"}]
	if c == nil || c.count != 200_000 {
		t.Fatalf("cell %+v, want 200000 samples", c)
	}
	// HDR at two significant digits has 1,567 buckets from 1 ms to 5001 ms,
	// however many samples fall there.
	if b := c.hist.Buckets(); b > 1567 {
		t.Errorf("%d buckets for values in [1, 5001]: want at most the 1567 that span them", b)
	}
}

func TestNewOutput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		params  output.Params
		wantErr bool
		lag     time.Duration
	}{
		{"no path", output.Params{}, true, 0},
		{"path", output.Params{ConfigArgument: filepath.Join(dir, "a")}, false, DefaultLag},
		{"lag", output.Params{ConfigArgument: filepath.Join(dir, "b"), Environment: map[string]string{LagEnv: "300ms"}}, false, 300 * time.Millisecond},
		{"bad lag", output.Params{ConfigArgument: filepath.Join(dir, "c"), Environment: map[string]string{LagEnv: "soon"}}, true, 0},
		{"negative lag", output.Params{ConfigArgument: filepath.Join(dir, "d"), Environment: map[string]string{LagEnv: "-1s"}}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := NewOutput(tt.params)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && out.(*Output).lag != tt.lag {
				t.Errorf("lag %v, want %v", out.(*Output).lag, tt.lag)
			}
		})
	}
}

func BenchmarkOutputAdd(b *testing.B) {
	s := knownStream()
	o, _, _ := testOutput(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		o.AddMetricSamples(s.samples)
	}
	b.ReportMetric(float64(b.N*len(s.samples))/b.Elapsed().Seconds(), "samples/s")
}

// TestOutputPercentileEdges checks percentiles of small and awkward samples
// against the exact nearest-rank values: a single value, identical values,
// values on the histogram's bucket bounds, below its zero bucket and far
// apart.
func TestOutputPercentileEdges(t *testing.T) {
	gamma := 1 + series.Precision
	bounds := make([]float64, 0, 40)
	for i := 0; i < 40; i++ {
		bounds = append(bounds, 1e-3*math.Pow(gamma, float64(i*7))) // exactly on a bucket's upper bound
	}
	tests := []struct {
		name string
		vals []float64
	}{
		{"one value", []float64{42}},
		{"identical", []float64{7, 7, 7, 7, 7}},
		{"on bucket bounds", bounds},
		{"below the zero bucket", []float64{0, 1e-4, 5e-4, 1e-3, 0}},
		{"zeros and one slow", []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 3_600_000}},
		{"two far apart", []float64{0.5, 30_000}},
		{"hundred steps", func() []float64 {
			v := make([]float64, 100)
			for i := range v {
				v[i] = float64(100 - i) // descending: order must not matter
			}
			return v
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := metrics.NewRegistry()
			m := reg.MustNewMetric("http_req_duration", metrics.Trend, metrics.Time)
			o, path, _ := testOutput(t)
			var batch []metrics.SampleContainer
			for _, v := range tt.vals {
				batch = append(batch, metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: m, Tags: reg.RootTagSet()}, Time: t0, Value: v})
			}
			o.AddMetricSamples(batch)
			if err := o.Stop(); err != nil {
				t.Fatal(err)
			}
			pts := readPoints(t, path)
			if len(pts) != 1 {
				t.Fatalf("%d points, want 1", len(pts))
			}
			checkPoint(t, tt.name, pts[0], tt.vals)
		})
	}
}
