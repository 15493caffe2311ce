package load

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/series"
)

// epoch is a fixed second, so that tests do not depend on the clock.
var epoch = time.Unix(1_700_000_000, 0)

// decodeSeries reads JSON lines of points, each of which must be one
// series.Point.
func decodeSeries(tb testing.TB, b []byte) []series.Point {
	tb.Helper()
	var pts []series.Point
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var p series.Point
		if err := dec.Decode(&p); err != nil {
			tb.Fatalf("series line %q: %v", sc.Text(), err)
		}
		pts = append(pts, p)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("read series: %v", err)
	}
	return pts
}

// exactRank is the nearest-rank quantile of sorted values.
func exactRank(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func relNear(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)
}

// TestSeriesRecorderPoints feeds known samples of every kind under several
// tag sets into two seconds, and checks each point against the exact
// figures: counts, sums, extremes, and percentiles of known distributions
// within 2%.
func TestSeriesRecorderPoints(t *testing.T) {
	login := Tags{Endpoint: "login", Journey: "login", Status: "2xx"}
	loginFailed := Tags{Endpoint: "login", Journey: "login", Status: "5xx", Code: "unavailable"}
	step := Tags{Journey: "browse", Name: "open catalogue"}
	r := rand.New(rand.NewPCG(7, 11))
	dists := map[string]func() float64{
		"uniform 1..1000":  func() float64 { return 1 + 999*r.Float64() },
		"log-normal":       func() float64 { return math.Exp(3 + r.NormFloat64()) },
		"bimodal 5 or 800": func() float64 { return []float64{5, 800}[r.IntN(2)] * (1 + 0.1*r.Float64()) },
	}

	type want struct {
		kind string
		vals []float64
	}
	exact := map[string]*want{}
	var buf bytes.Buffer
	rec := NewSeriesRecorder(&buf)
	add := func(at time.Time, metric, kind string, tags Tags, v float64) {
		rec.Add(at, metric, kind, tags, v)
		k := fmt.Sprintf("%d %s %v", at.Unix(), metric, tags.Map())
		if exact[k] == nil {
			exact[k] = &want{kind: kind}
		}
		exact[k].vals = append(exact[k].vals, v)
	}
	tagSets := []Tags{login, loginFailed, step}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range dists {
			if !yield(n) {
				return
			}
		}
	})
	for sec := range 2 {
		for i := range 3000 {
			at := epoch.Add(time.Duration(sec)*time.Second + time.Duration(i)*time.Second/3000)
			tags := tagSets[i%len(tagSets)]
			d := dists[names[(i/3+sec)%len(names)]] // each tag set gets each distribution
			add(at, MetricReqs, series.KindCounter, tags, 1)
			add(at, MetricReqFailed, series.KindRate, tags, boolValue(tags.Status == "5xx" || i%7 == 0))
			add(at, MetricReqDuration, series.KindTrend, tags, d())
			add(at, "queue_depth", series.KindGauge, Tags{}, float64(i%50))
		}
	}
	if err := rec.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	pts := decodeSeries(t, buf.Bytes())
	if int64(len(pts)) != rec.Points() || len(pts) != len(exact) {
		t.Fatalf("%d points written, Points() %d, want %d (one per second, metric and tag set)", len(pts), rec.Points(), len(exact))
	}
	for _, p := range pts {
		k := fmt.Sprintf("%d %s %v", p.T, p.Metric, p.Tags)
		w := exact[k]
		if w == nil {
			t.Errorf("%s: a point for no sample", k)
			continue
		}
		delete(exact, k) // a second point for the same series fails above
		if p.Kind != w.kind || p.Count != int64(len(w.vals)) {
			t.Errorf("%s: kind %s count %d, want %s %d", k, p.Kind, p.Count, w.kind, len(w.vals))
		}
		sorted := slices.Sorted(slices.Values(w.vals))
		var sum, nonZero float64
		for _, v := range w.vals {
			sum += v
			if v != 0 {
				nonZero++
			}
		}
		switch p.Kind {
		case series.KindCounter:
			if p.Sum != sum {
				t.Errorf("%s: sum %v, want %v", k, p.Sum, sum)
			}
		case series.KindRate:
			if p.Sum != nonZero {
				t.Errorf("%s: %v non-zero, want %v", k, p.Sum, nonZero)
			}
		case series.KindGauge:
			if last := w.vals[len(w.vals)-1]; p.Max != last {
				t.Errorf("%s: gauge %v, want the last value %v", k, p.Max, last)
			}
		case series.KindTrend:
			if p.Min != sorted[0] || p.Max != sorted[len(sorted)-1] || !relNear(p.Sum, sum, 1e-9) {
				t.Errorf("%s: min %v max %v sum %v, want %v %v %v", k, p.Min, p.Max, p.Sum, sorted[0], sorted[len(sorted)-1], sum)
			}
			if p.Hist == nil || p.Hist.Count() != uint64(len(w.vals)) {
				t.Fatalf("%s: histogram %v, want one of %d values", k, p.Hist, len(w.vals))
			}
			for _, q := range []struct {
				q   float64
				got float64
			}{{0.50, p.P50}, {0.95, p.P95}, {0.99, p.P99}, {0.90, p.Hist.Quantile(0.90)}} {
				if want := exactRank(sorted, q.q); !relNear(q.got, want, 0.02) {
					t.Errorf("%s: p%v %v, want %v within 2%%", k, 100*q.q, q.got, want)
				}
			}
		}
	}
	for k := range exact {
		t.Errorf("%s: samples but no point", k)
	}
}

// TestSeriesRecorderFormat pins the JSON line of each kind: the format of
// series.jsonl that the judge reads. Tags are split by every field, and a
// series without tags has no "tags" key.
func TestSeriesRecorderFormat(t *testing.T) {
	var buf bytes.Buffer
	rec := NewSeriesRecorder(&buf)
	at := epoch.Add(300 * time.Millisecond)
	rec.Add(at, MetricReqs, series.KindCounter, Tags{Endpoint: "login", Status: "2xx"}, 1)
	rec.Add(at, MetricReqs, series.KindCounter, Tags{Endpoint: "login", Status: "2xx"}, 1)
	rec.Add(at, MetricReqs, series.KindCounter, Tags{Endpoint: "login", Status: "5xx", Code: "unavailable"}, 1)
	rec.Add(at, MetricReqFailed, series.KindRate, Tags{Endpoint: "login", Status: "5xx", Code: "unavailable"}, 1)
	rec.Add(at, MetricReqFailed, series.KindRate, Tags{Endpoint: "login", Status: "5xx", Code: "unavailable"}, 0)
	rec.Add(at, MetricIterations, series.KindCounter, Tags{}, 1)
	rec.Add(at, "queue_depth", series.KindGauge, Tags{Journey: "cart", Name: "add"}, 4)
	rec.Add(at, "queue_depth", series.KindGauge, Tags{Journey: "cart", Name: "add"}, 2)
	rec.Add(at, MetricReqDuration, series.KindTrend, Tags{Endpoint: "me"}, 12)
	rec.Add(at, "bad", series.KindCounter, Tags{}, math.NaN())
	rec.Add(at, "bad", series.KindCounter, Tags{}, math.Inf(1))
	if err := rec.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	want := []string{
		`{"t":1700000000,"metric":"http_req_duration","kind":"trend","tags":{"endpoint":"me"},"count":1,"sum":12,`,
		`{"t":1700000000,"metric":"http_req_failed","kind":"rate","tags":{"code":"unavailable","endpoint":"login","status":"5xx"},"count":2,"sum":1,"max":1}`,
		`{"t":1700000000,"metric":"http_reqs","kind":"counter","tags":{"endpoint":"login","status":"2xx"},"count":2,"sum":2,"min":1,"max":1}`,
		`{"t":1700000000,"metric":"http_reqs","kind":"counter","tags":{"code":"unavailable","endpoint":"login","status":"5xx"},"count":1,"sum":1,"min":1,"max":1}`,
		`{"t":1700000000,"metric":"iterations","kind":"counter","count":1,"sum":1,"min":1,"max":1}`,
		`{"t":1700000000,"metric":"queue_depth","kind":"gauge","tags":{"journey":"cart","name":"add"},"count":2,"sum":6,"min":2,"max":2}`,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.Bytes())
	}
	for i, w := range want {
		if !bytes.HasPrefix(lines[i], []byte(w)) || (w[len(w)-1] == '}' && len(lines[i]) != len(w)) {
			t.Errorf("line %d:\n%s\nwant\n%s", i+1, lines[i], w)
		}
	}
	// Every line reads back as a series.Point and writes out the same.
	for i, p := range decodeSeries(t, buf.Bytes()) {
		again, err := json.Marshal(&p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, lines[i]) {
			t.Errorf("line %d read back and written again:\n%s\nwant\n%s", i+1, again, lines[i])
		}
	}
}

// TestSeriesRecorderFlushes checks when seconds are written: once over by
// the slack, in order, each once; a late sample comes out as an extra point
// for its second and is counted; Close writes the rest and holds nothing.
func TestSeriesRecorderFlushes(t *testing.T) {
	var buf bytes.Buffer
	var batches [][]series.Point
	rec := NewSeriesRecorder(&buf, WithFlushSlack(100*time.Millisecond),
		WithOnFlush(func(pts []series.Point) { batches = append(batches, pts) }))
	sec := func(s int, ms int) time.Time {
		return epoch.Add(time.Duration(s)*time.Second + time.Duration(ms)*time.Millisecond)
	}
	rec.Add(sec(0, 0), MetricReqs, series.KindCounter, Tags{}, 1)
	rec.Add(sec(0, 999), MetricReqs, series.KindCounter, Tags{}, 1)
	rec.Add(sec(1, 0), MetricReqs, series.KindCounter, Tags{}, 1)
	rec.Add(sec(2, 500), MetricReqs, series.KindCounter, Tags{}, 1)

	steps := []struct {
		now     time.Time
		written []string // second:count of the points written by now
	}{
		{sec(1, 99), nil}, // second 0 is over, not yet by the slack
		{sec(1, 100), []string{"0:2"}},
		{sec(2, 50), []string{"0:2"}},
		{sec(2, 100), []string{"0:2", "1:1"}},
		{sec(2, 200), []string{"0:2", "1:1"}}, // nothing twice
	}
	written := func() []string {
		var out []string
		for _, p := range decodeSeries(t, buf.Bytes()) {
			out = append(out, fmt.Sprintf("%d:%d", p.T-epoch.Unix(), p.Count))
		}
		return out
	}
	for _, s := range steps {
		rec.flushDue(s.now)
		if got := written(); !slices.Equal(got, s.written) {
			t.Fatalf("at +%v written %v, want %v", s.now.Sub(epoch), got, s.written)
		}
	}
	rec.Add(sec(0, 500), MetricReqs, series.KindCounter, Tags{}, 1) // late
	rec.Add(sec(2, 900), MetricReqs, series.KindCounter, Tags{}, 1)
	if rec.Late() != 1 {
		t.Errorf("Late() %d, want 1", rec.Late())
	}
	rec.flushDue(sec(2, 300))
	if got, want := written(), []string{"0:2", "1:1", "0:1"}; !slices.Equal(got, want) {
		t.Errorf("after a late sample written %v, want %v", got, want)
	}
	if err := rec.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, want := written(), []string{"0:2", "1:1", "0:1", "2:2"}; !slices.Equal(got, want) {
		t.Errorf("after Close written %v, want %v", got, want)
	}
	if rec.Points() != 4 || len(batches) != 4 {
		t.Errorf("Points() %d in %d batches, want 4 in 4", rec.Points(), len(batches))
	}
	if n := rec.table.pending(); n != 0 {
		t.Errorf("%d seconds held after Close, want 0", n)
	}
	rec.Add(sec(3, 0), MetricReqs, series.KindCounter, Tags{}, 1)
	if err := rec.Close(); err != nil || rec.table.pending() != 0 {
		t.Errorf("after Close: Add held %d seconds, second Close %v; want nothing held, nil", rec.table.pending(), err)
	}
}

// TestSeriesRecorderStart checks the periodic writes on the real clock: a
// second long over is written at the next tick, without Close.
func TestSeriesRecorderStart(t *testing.T) {
	flushed := make(chan []series.Point, 1)
	var buf lockedBuffer
	rec := NewSeriesRecorder(&buf, WithFlushInterval(5*time.Millisecond),
		WithOnFlush(func(pts []series.Point) { flushed <- pts }))
	rec.Start()
	rec.Start() // once only
	t.Cleanup(func() { _ = rec.Close() })
	rec.Add(time.Now().Add(-2*time.Second), MetricIterations, series.KindCounter, Tags{}, 1)
	select {
	case pts := <-flushed:
		if len(pts) != 1 || pts[0].Metric != MetricIterations {
			t.Errorf("flushed %+v, want the one iterations point", pts)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no flush 10s after a sample for a second long over")
	}
	if got := len(decodeSeries(t, buf.Bytes())); got != 1 {
		t.Errorf("%d points in the writer, want 1", got)
	}
}

// lockedBuffer is a bytes.Buffer a test reads while a recorder writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

// TestSeriesRecorderWriteError checks that a write error comes back from
// Close, and that memory is still let go of.
func TestSeriesRecorderWriteError(t *testing.T) {
	disk := errors.New("disk full")
	rec := NewSeriesRecorder(failingWriter{disk})
	rec.Add(epoch, MetricReqs, series.KindCounter, Tags{}, 1)
	rec.flushDue(epoch.Add(5 * time.Second))
	rec.Add(epoch.Add(6*time.Second), MetricReqs, series.KindCounter, Tags{}, 1)
	err := rec.Close()
	if !errors.Is(err, disk) {
		t.Fatalf("Close: %v, want %v", err, disk)
	}
	if rec.Points() != 0 || rec.table.pending() != 0 {
		t.Errorf("Points() %d, %d seconds held, want 0, 0", rec.Points(), rec.table.pending())
	}
}

// TestSeriesRecorderConcurrent has many goroutines record while the
// recorder writes seconds out, and checks that every sample is in exactly
// one point (run with -race).
func TestSeriesRecorderConcurrent(t *testing.T) {
	var buf lockedBuffer
	rec := NewSeriesRecorder(&buf, WithFlushInterval(time.Millisecond), WithFlushSlack(0))
	rec.Start()
	const writers, each = 16, 2000
	var wg sync.WaitGroup
	base := time.Now().Add(-3 * time.Second) // seconds the flusher writes out as they fill
	for w := range writers {
		wg.Go(func() {
			tags := Tags{Endpoint: []string{"login", "cart", "checkout"}[w%3], Status: "2xx"}
			for i := range each {
				at := base.Add(time.Duration(i) * 2 * time.Millisecond)
				rec.Add(at, MetricReqs, series.KindCounter, tags, 1)
				rec.Add(at, MetricReqDuration, series.KindTrend, tags, float64(1+i%100))
			}
		})
	}
	wg.Wait()
	if err := rec.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var reqs, durations int64
	for _, p := range decodeSeries(t, buf.Bytes()) {
		switch p.Metric {
		case MetricReqs:
			reqs += int64(p.Sum)
		case MetricReqDuration:
			durations += p.Count
		}
	}
	if reqs != writers*each || durations != writers*each {
		t.Errorf("%d requests and %d durations in the points, want %d each", reqs, durations, writers*each)
	}
}

// TestSecondTableBounded feeds many samples into one second: what is held
// is one cell with a histogram, not the samples.
func TestSecondTableBounded(t *testing.T) {
	tab := newSecondTable()
	r := rand.New(rand.NewPCG(1, 2))
	tags := Tags{Endpoint: "products"}
	for range 200_000 {
		tab.add(epoch, MetricReqDuration, series.KindTrend, tags, 1+5000*r.Float64())
	}
	if n := len(tab.seconds[epoch.Unix()]); n != 1 {
		t.Fatalf("%d cells, want 1", n)
	}
	c := tab.seconds[epoch.Unix()][seriesKey{MetricReqDuration, tags}]
	if c.count != 200_000 || c.hist.Count() != 200_000 {
		t.Errorf("cell of %d samples, histogram of %d, want 200000", c.count, c.hist.Count())
	}
	if got := tab.take(epoch.Unix() + 1); len(got) != 1 || tab.pending() != 0 {
		t.Errorf("took %d seconds, %d held, want 1 and 0", len(got), tab.pending())
	}
}

// BenchmarkSeriesRecorderAdd measures Add from many goroutines at once, as
// virtual users record: per request a count, a rate and a duration, over a
// few tag sets, on the clock, while the recorder writes seconds out.
func BenchmarkSeriesRecorderAdd(b *testing.B) {
	rec := NewSeriesRecorder(discard{})
	rec.Start()
	b.Cleanup(func() { _ = rec.Close() })
	tagSets := []Tags{
		{Endpoint: "login", Journey: "login", Status: "2xx"},
		{Endpoint: "products", Journey: "browse", Status: "2xx"},
		{Endpoint: "cart", Journey: "cart", Status: "2xx"},
		{Endpoint: "checkout", Journey: "checkout", Status: "5xx", Code: "unavailable"},
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			tags := tagSets[i%len(tagSets)]
			now := time.Now()
			switch i % 3 {
			case 0:
				rec.Add(now, MetricReqs, series.KindCounter, tags, 1)
			case 1:
				rec.Add(now, MetricReqFailed, series.KindRate, tags, 0)
			default:
				rec.Add(now, MetricReqDuration, series.KindTrend, tags, float64(i%400)+0.5)
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
