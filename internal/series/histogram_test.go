package series

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// quantiles are the quantiles the accuracy tests check.
var quantiles = []float64{0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999}

// maxError is the bound Precision documents for a quantile whose exact value
// is want (milliseconds, at most 1 hour): the larger of want/128 and half a
// microsecond.
func maxError(want float64) float64 { return max(want/128, 0.0005) + 1e-12 }

// nearestRank is the exact quantile q of sorted values (nearest rank).
func nearestRank(sorted []float64, q float64) float64 {
	r := int(math.Ceil(q * float64(len(sorted))))
	return sorted[max(r, 1)-1]
}

// distributions are known samples (milliseconds), each from its own seed.
func distributions() []struct {
	name string
	vals []float64
} {
	r := rand.New(rand.NewPCG(7, 11))
	gen := func(n int, f func() float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = f()
		}
		return v
	}
	return []struct {
		name string
		vals []float64
	}{
		{"uniform 1 ms to 5 s", gen(20_000, func() float64 { return 1 + 5000*r.Float64() })},
		{"lognormal around 40 ms", gen(20_000, func() float64 { return math.Exp(math.Log(40) + 0.8*r.NormFloat64()) })},
		{"exponential mean 20 ms", gen(20_000, func() float64 { return 20 * r.ExpFloat64() })},
		{"fast with a slow 5%", gen(20_000, func() float64 {
			if r.Float64() < 0.05 {
				return 2000 + 500*r.Float64()
			}
			return 2 + r.Float64()
		})},
		{"tens of microseconds", gen(5_000, func() float64 { return 0.02 + 0.28*r.Float64() })},
		{"1 µs to 1 hour", gen(20_000, func() float64 { return math.Exp(r.Float64()*math.Log(3.6e9)) / 1000 })},
		{"below a microsecond", []float64{0, 1e-4, 5e-4, 1e-3, 0}},
		{"one value", []float64{42}},
		{"identical", []float64{7, 7, 7, 7, 7}},
		{"zeros and one hour", []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 3_600_000}},
		{"hundred steps, descending", func() []float64 {
			v := make([]float64, 100)
			for i := range v {
				v[i] = float64(100 - i)
			}
			return v
		}()},
	}
}

// dense returns a histogram of vals built by Add.
func dense(vals []float64) *Histogram {
	h := new(Histogram)
	for _, v := range vals {
		h.Add(v)
	}
	return h
}

// sparse returns a histogram of vals read back from JSON.
func sparse(tb testing.TB, vals []float64) *Histogram {
	tb.Helper()
	return roundTrip(tb, dense(vals))
}

func roundTrip(tb testing.TB, h *Histogram) *Histogram {
	tb.Helper()
	b, err := json.Marshal(h)
	if err != nil {
		tb.Fatal(err)
	}
	out := new(Histogram)
	if err := json.Unmarshal(b, out); err != nil {
		tb.Fatalf("%s: %v", b, err)
	}
	return out
}

func TestHistogramQuantileAccuracy(t *testing.T) {
	for _, d := range distributions() {
		t.Run(d.name, func(t *testing.T) {
			sorted := slices.Sorted(slices.Values(d.vals))
			hd, hs := dense(d.vals), sparse(t, d.vals)
			if hs.dense != nil {
				t.Fatal("a histogram read from JSON holds the full array")
			}
			for _, q := range quantiles {
				want := nearestRank(sorted, q)
				got := hd.Quantile(q)
				if math.Abs(got-want) > maxError(want) {
					t.Errorf("p%v = %v, exact %v: off by %v, more than %v", q*100, got, want, got-want, maxError(want))
				}
				if want >= 0.025 && math.Abs(got-want) > Precision*want {
					t.Errorf("p%v = %v, exact %v: off by more than Precision", q*100, got, want)
				}
				if s := hs.Quantile(q); s != got {
					t.Errorf("p%v read from JSON = %v, as added = %v", q*100, s, got)
				}
			}
			if hd.Quantile(0) != sorted[0] || hd.Quantile(1) != sorted[len(sorted)-1] {
				t.Errorf("p0, p100 = %v, %v; want min, max %v, %v", hd.Quantile(0), hd.Quantile(1), sorted[0], sorted[len(sorted)-1])
			}
		})
	}
}

func TestHistogramAdd(t *testing.T) {
	var h Histogram
	for _, v := range []float64{math.NaN(), -3, math.Copysign(0, -1), 5, 7_200_000} {
		h.Add(v)
	}
	if h.Count() != 5 || h.Sum() != 7_200_005 || h.Min() != 0 || h.Max() != 7_200_000 {
		t.Errorf("count %d sum %v min %v max %v, want 5, 7200005, 0, 7200000", h.Count(), h.Sum(), h.Min(), h.Max())
	}
	if math.Signbit(h.Min()) {
		t.Error("min is -0")
	}
	// NaN, -3 and -0 are zeros: three of five values.
	if q := h.Quantile(0.6); q != 0 {
		t.Errorf("p60 = %v, want 0", q)
	}
	if q := h.Quantile(0.8); math.Abs(q-5) > maxError(5) {
		t.Errorf("p80 = %v, want 5", q)
	}
	// Two hours is recorded as one hour, but the top rank is the exact max.
	if q := h.Quantile(0.99); q != 7_200_000 {
		t.Errorf("p99 = %v, want the max 7200000", q)
	}
	if h.Buckets() != 3 {
		t.Errorf("%d buckets, want 3 (zero, 5 ms, 1 hour)", h.Buckets())
	}
}

func TestHistogramZero(t *testing.T) {
	var h Histogram
	h.Merge(nil)
	h.Merge(&Histogram{})
	if h.Count() != 0 || h.Sum() != 0 || h.Min() != 0 || h.Max() != 0 || h.Quantile(0.5) != 0 || h.Buckets() != 0 {
		t.Errorf("empty histogram: count %d sum %v min %v max %v p50 %v buckets %d", h.Count(), h.Sum(), h.Min(), h.Max(), h.Quantile(0.5), h.Buckets())
	}
	if h.dense != nil {
		t.Error("an empty histogram holds the full array")
	}
	b, err := json.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"digits":2,"n":0,"sum":0,"min":0,"max":0}`; string(b) != want {
		t.Errorf("empty histogram is %s, want %s", b, want)
	}
	if g := roundTrip(t, &h); g.Count() != 0 || g.Buckets() != 0 {
		t.Errorf("empty histogram read back with %d values", g.Count())
	}
	x := dense([]float64{1, 2})
	x.Merge(&h)
	if x.Count() != 2 || x.Min() != 1 {
		t.Errorf("merging an empty histogram changed count or min: %d, %v", x.Count(), x.Min())
	}
}

// TestHistogramJSONForm pins the JSON form: non-empty HDR buckets as
// [lowest value in µs, count].
func TestHistogramJSONForm(t *testing.T) {
	h := dense([]float64{1, 1, 2.5})
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"digits":2,"n":3,"sum":4.5,"min":1,"max":2.5,"us":[[1000,2],[2496,1]]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if b2, _ := json.Marshal(roundTrip(t, h)); string(b2) != want {
		t.Errorf("read back and written again: %s", b2)
	}
}

func TestHistogramJSONRoundTrip(t *testing.T) {
	for _, d := range distributions() {
		t.Run(d.name, func(t *testing.T) {
			h := dense(d.vals)
			g := roundTrip(t, h)
			if g.Count() != h.Count() || g.Sum() != h.Sum() || g.Min() != h.Min() || g.Max() != h.Max() || g.Buckets() != h.Buckets() {
				t.Errorf("read back: count %d sum %v min %v max %v buckets %d; written: %d %v %v %v %d",
					g.Count(), g.Sum(), g.Min(), g.Max(), g.Buckets(), h.Count(), h.Sum(), h.Min(), h.Max(), h.Buckets())
			}
			if !slices.Equal(g.buckets(), h.buckets()) {
				t.Error("buckets differ after a round trip")
			}
			for _, q := range quantiles {
				if g.Quantile(q) != h.Quantile(q) {
					t.Errorf("p%v: read back %v, written %v", q*100, g.Quantile(q), h.Quantile(q))
				}
			}
		})
	}
}

func TestHistogramJSONRefused(t *testing.T) {
	tests := []struct{ name, in string }{
		{"not JSON", `{"digits":2,`},
		{"an array", `[]`},
		{"a string", `"p95"`},
		{"no layout (the old form)", `{"n":1,"sum":1,"min":1,"max":1,"b":[[349,1]]}`},
		{"three digits", `{"digits":3,"n":3,"sum":4.5,"min":1,"max":2.5,"us":[[1000,2],[2496,1]]}`},
		{"n too large", `{"digits":2,"n":4,"sum":4.5,"min":1,"max":2.5,"us":[[1000,2],[2496,1]]}`},
		{"n too small", `{"digits":2,"n":2,"sum":4.5,"min":1,"max":2.5,"us":[[1000,2],[2496,1]]}`},
		{"no buckets", `{"digits":2,"n":3,"sum":4.5,"min":1,"max":2.5}`},
		{"zero count", `{"digits":2,"n":3,"sum":4.5,"min":1,"max":2.5,"us":[[1000,0],[1504,1],[2496,2]]}`},
		{"negative count", `{"digits":2,"n":1,"sum":4.5,"min":1,"max":2.5,"us":[[1000,2],[2496,-1]]}`},
		{"fractional count", `{"digits":2,"n":3,"sum":4.5,"min":1,"max":2.5,"us":[[1000,1.5],[2496,1.5]]}`},
		{"out of order", `{"digits":2,"n":3,"sum":4.5,"min":1,"max":2.5,"us":[[2496,1],[1000,2]]}`},
		{"repeated bucket", `{"digits":2,"n":3,"sum":4.5,"min":1,"max":2.5,"us":[[1000,1],[1000,1],[2496,1]]}`},
		{"not a bucket's lowest value", `{"digits":2,"n":3,"sum":4.5,"min":1,"max":2.5,"us":[[1001,2],[2496,1]]}`},
		{"negative value", `{"digits":2,"n":3,"sum":4.5,"min":1,"max":2.5,"us":[[-4,2],[2496,1]]}`},
		{"beyond the range", `{"digits":2,"n":3,"sum":4.5,"min":1,"max":2.5,"us":[[1000,2],[1099511627776,1]]}`},
		{"pair of three", `{"digits":2,"n":3,"sum":4.5,"min":1,"max":2.5,"us":[[1000,2,0],[2496,1]]}`},
		{"pair of one", `{"digits":2,"n":3,"sum":4.5,"min":1,"max":2.5,"us":[[1000],[2496,1]]}`},
		{"min above max", `{"digits":2,"n":3,"sum":4.5,"min":3,"max":2.5,"us":[[1000,2],[2496,1]]}`},
		{"negative min", `{"digits":2,"n":3,"sum":4.5,"min":-1,"max":2.5,"us":[[1000,2],[2496,1]]}`},
		{"negative sum", `{"digits":2,"n":3,"sum":-4.5,"min":1,"max":2.5,"us":[[1000,2],[2496,1]]}`},
		{"min outside the first bucket", `{"digits":2,"n":3,"sum":4.5,"min":0.5,"max":2.5,"us":[[1000,2],[2496,1]]}`},
		{"max outside the last bucket", `{"digits":2,"n":3,"sum":4.5,"min":1,"max":9,"us":[[1000,2],[2496,1]]}`},
		{"empty with buckets", `{"digits":2,"n":0,"sum":0,"min":0,"max":0,"us":[[1000,2]]}`},
		{"empty with a sum", `{"digits":2,"n":0,"sum":1,"min":0,"max":0}`},
		{"counts overflow", `{"digits":2,"n":9223372036854775808,"sum":4.5,"min":1,"max":2.5,"us":[[1000,9223372036854775807],[2496,1]]}`},
		{"sum out of float range", `{"digits":2,"n":3,"sum":1e400,"min":1,"max":2.5,"us":[[1000,2],[2496,1]]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := dense([]float64{9})
			before, _ := json.Marshal(h)
			if err := h.UnmarshalJSON([]byte(tt.in)); err == nil {
				t.Fatalf("%s accepted", tt.in)
			}
			if after, _ := json.Marshal(h); string(after) != string(before) {
				t.Errorf("a refused input changed the histogram: %s, was %s", after, before)
			}
			var p Point
			if err := json.Unmarshal([]byte(`{"t":1,"metric":"m","kind":"trend","hist":`+tt.in+`}`), &p); err == nil {
				t.Errorf("a point holding %s accepted", tt.in)
			}
		})
	}
}

func TestHistogramJSONNull(t *testing.T) {
	h := dense([]float64{3})
	if err := h.UnmarshalJSON([]byte("null")); err != nil || h.Count() != 1 {
		t.Errorf("null: err %v, count %d; want no error and the histogram unchanged", err, h.Count())
	}
	var p Point
	if err := json.Unmarshal([]byte(`{"t":1,"hist":null}`), &p); err != nil || p.Hist != nil {
		t.Errorf("point with a null histogram: err %v, hist %v", err, p.Hist)
	}
}

// TestHistogramMerge checks that merging parts, each as added or as read
// back from JSON, gives the histogram of all their values, and that merges
// of histograms read from JSON keep a list of buckets while it is short.
func TestHistogramMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	type part func(testing.TB, []float64) *Histogram
	asAdded := func(_ testing.TB, v []float64) *Histogram { return dense(v) }
	tests := []struct {
		name       string
		parts      int
		vals       func() float64
		into, from part
		wantDense  bool
	}{
		{"added into added", 6, lognormal(r), asAdded, asAdded, true},
		{"read into added", 6, lognormal(r), asAdded, sparse, true},
		{"added into read", 6, lognormal(r), sparse, asAdded, true},
		{"read into read, few buckets", 6, lognormal(r), sparse, sparse, false},
		{"read into read, too many buckets", 6, func() float64 { return 1 + 5000*r.Float64() }, sparse, sparse, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := make([][]float64, tt.parts)
			var all []float64
			for i := range parts {
				n := 60
				if tt.wantDense && i == 0 {
					n = 20_000 // with the rest, more buckets than a list keeps
				}
				for range n {
					parts[i] = append(parts[i], tt.vals())
				}
				all = append(all, parts[i]...)
			}
			want := dense(all)
			for _, start := range []string{"empty", "first part"} {
				var got *Histogram
				rest := parts
				if start == "empty" {
					got = new(Histogram)
				} else {
					got, rest = tt.into(t, parts[0]), parts[1:]
				}
				for _, p := range rest {
					got.Merge(tt.from(t, p))
				}
				checkSame(t, start, got, want)
				if start == "first part" && (got.dense != nil) != tt.wantDense {
					t.Errorf("%s: holds the full array %v, want %v", start, got.dense != nil, tt.wantDense)
				}
			}
		})
	}
}

func TestHistogramMergeItself(t *testing.T) {
	vals := []float64{1, 2, 2, 3, 40, 500}
	for _, c := range []struct {
		name string
		h    *Histogram
	}{{"as added", dense(vals)}, {"read from JSON", sparse(t, vals)}} {
		c.h.Merge(c.h)
		checkSame(t, c.name, c.h, dense(append(vals, vals...)))
	}
}

func lognormal(r *rand.Rand) func() float64 {
	return func() float64 { return math.Exp(math.Log(40) + 0.3*r.NormFloat64()) }
}

// checkSame reports where got differs from want.
func checkSame(tb testing.TB, name string, got, want *Histogram) {
	tb.Helper()
	if got.Count() != want.Count() || got.Min() != want.Min() || got.Max() != want.Max() {
		tb.Errorf("%s: count %d min %v max %v, want %d %v %v", name, got.Count(), got.Min(), got.Max(), want.Count(), want.Min(), want.Max())
	}
	if math.Abs(got.Sum()-want.Sum()) > 1e-9*want.Sum() {
		tb.Errorf("%s: sum %v, want %v", name, got.Sum(), want.Sum())
	}
	if !slices.Equal(got.buckets(), want.buckets()) {
		tb.Errorf("%s: buckets differ (%d, want %d)", name, got.Buckets(), want.Buckets())
	}
	for _, q := range quantiles {
		if got.Quantile(q) != want.Quantile(q) {
			tb.Errorf("%s: p%v %v, want %v", name, q*100, got.Quantile(q), want.Quantile(q))
		}
	}
}

// TestHistogramStaysSparse checks that a histogram read from JSON takes the
// full array only when a value is added to it, and that one merged from it
// shares its buckets without changing them.
func TestHistogramStaysSparse(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	vals := make([]float64, 50)
	for i := range vals {
		vals[i] = lognormal(r)()
	}
	h := sparse(t, vals)
	before, _ := json.Marshal(h)
	_ = h.Quantile(0.95)
	_ = h.Buckets()
	if h.dense != nil {
		t.Fatal("reading a histogram made it take the full array")
	}
	var sum Histogram
	sum.Merge(h)
	sum.Merge(sparse(t, vals[:10]))
	if sum.dense != nil {
		t.Error("merging two short lists of buckets took the full array")
	}
	sum.Add(1)
	if sum.dense == nil {
		t.Error("Add kept a list of buckets")
	}
	if after, _ := json.Marshal(h); string(after) != string(before) {
		t.Errorf("merging h into another changed h:\n%s\nwas\n%s", after, before)
	}
}

// TestSlotValues checks what the package assumes of the library's bucket
// layout: the slot values are the library's buckets in increasing order,
// each a bucket of its own, and slot i of Export's counts holds the values
// of bucket i.
func TestSlotValues(t *testing.T) {
	v := slotValues()
	d := newHDR()
	if len(v) != len(d.Export().Counts) {
		t.Fatalf("%d slot values for %d slots", len(v), len(d.Export().Counts))
	}
	for i, us := range v {
		if err := d.RecordValues(us, int64(i+1)); err != nil {
			t.Fatalf("slot %d: %v", i, err)
		}
	}
	for i, c := range d.Export().Counts {
		if c != int64(i+1) {
			t.Fatalf("slot %d holds %d values, want %d: the values of slot %d (%d µs) went elsewhere", i, c, i+1, i, v[i])
		}
	}
	d.Reset()
	if v[0] != 0 {
		t.Errorf("first slot holds %d, want 0", v[0])
	}
	for i := 1; i < len(v); i++ {
		if v[i] <= v[i-1] || d.ValuesAreEquivalent(v[i-1], v[i]) || !d.ValuesAreEquivalent(v[i-1], v[i]-1) {
			t.Fatalf("slots %d and %d (%d, %d µs) are not adjacent buckets", i-1, i, v[i-1], v[i])
		}
	}
	if err := d.RecordValue(maxMicros); err != nil {
		t.Errorf("the library refuses 1 hour: %v", err)
	}
	if bs := (&Histogram{dense: d}).buckets(); len(bs) != 1 || bs[0].value != v[slotOf(maxMicros)] {
		t.Errorf("1 hour recorded in bucket %v, want the one at %d µs", bs, v[slotOf(maxMicros)])
	}
}

// TestDecodedMemory measures the heap held by 6,000 histograms of 50 values
// each read from JSON, as the judge holds a run's points.
func TestDecodedMemory(t *testing.T) {
	const hists, values = 6000, 50
	docs := encodedHistograms(t, hists, values)
	slotValues() // the shared layout is not the histograms' memory
	hs := make([]*Histogram, hists)

	held := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f()
		runtime.GC()
		runtime.ReadMemStats(&after)
		return after.HeapAlloc - before.HeapAlloc
	}
	sparseBytes := held(func() {
		for i, b := range docs {
			if err := json.Unmarshal(b, &hs[i]); err != nil {
				t.Fatal(err)
			}
		}
	})
	var buckets int
	for _, h := range hs {
		buckets += h.Buckets()
	}
	const sample = 100 // the full arrays of all 6,000 would take a while under -race
	denseBytes := held(func() {
		for _, h := range hs[:sample] {
			h.materialize()
		}
	}) / sample * hists
	runtime.KeepAlive(hs)
	runtime.KeepAlive(docs) // freed during the measures, they would hide what the histograms hold
	per := sparseBytes / hists
	t.Logf("%d histograms of %d values (%.1f buckets each) read from JSON hold %.2f MB, %d bytes each; as full HDR arrays they would hold about %.0f MB",
		hists, values, float64(buckets)/hists, float64(sparseBytes)/1e6, per, float64(denseBytes+sparseBytes)/1e6)
	if per > 2048 {
		t.Errorf("%d bytes a histogram read from JSON, want at most 2 KB", per)
	}
}

// encodedHistograms returns n histograms of values lognormal values each as
// JSON, as a run's per-second points carry them.
func encodedHistograms(tb testing.TB, n, values int) [][]byte {
	tb.Helper()
	r := rand.New(rand.NewPCG(9, 9))
	docs := make([][]byte, n)
	for i := range docs {
		var h Histogram
		for range values {
			h.Add(math.Exp(math.Log(40) + 0.8*r.NormFloat64()))
		}
		b, err := json.Marshal(&h)
		if err != nil {
			tb.Fatal(err)
		}
		docs[i] = b
	}
	return docs
}

func FuzzHistogramJSON(f *testing.F) {
	for _, d := range distributions() {
		b, err := json.Marshal(dense(d.vals[:min(len(d.vals), 200)]))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`null`, `{}`, `{"digits":2,"n":0,"sum":0,"min":0,"max":0}`,
		`{"digits":2,"n":3,"sum":4.5,"min":1,"max":2.5,"us":[[1000,2],[2496,1]]}`,
		`{"digits":2,"n":3,"sum":-0,"min":-0,"max":2.5,"us":[[0,2],[2496,1]]}`,
		`{"digits":2,"n":1,"sum":1,"min":1e300,"max":1e300,"us":[[3590324224,1]]}`,
		`{"n":1,"sum":1,"min":1,"max":1,"b":[[349,1]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Histogram
		if err := h.UnmarshalJSON(data); err != nil {
			return
		}
		// Whatever was accepted writes back to itself...
		b, err := json.Marshal(&h)
		if err != nil {
			t.Fatalf("accepted %q, cannot write it: %v", data, err)
		}
		var again Histogram
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("accepted %q, refuses what it wrote %s: %v", data, b, err)
		}
		if b2, _ := json.Marshal(&again); string(b2) != string(b) {
			t.Fatalf("written %s, read back and written %s", b, b2)
		}
		// ...agrees with its full array...
		var d Histogram
		d.Merge(&h)
		d.materialize()
		if bd, _ := json.Marshal(&d); string(bd) != string(b) {
			t.Fatalf("as a list %s, as the full array %s", b, bd)
		}
		var total uint64
		for _, bk := range h.buckets() {
			total += uint64(bk.count)
		}
		if total != h.Count() {
			t.Fatalf("buckets hold %d, count %d", total, h.Count())
		}
		for _, q := range quantiles {
			v := h.Quantile(q)
			if v != d.Quantile(q) {
				t.Fatalf("p%v: %v as a list, %v as the full array", q*100, v, d.Quantile(q))
			}
			if v < h.Min() || v > h.Max() {
				t.Fatalf("p%v = %v outside [%v, %v]", q*100, v, h.Min(), h.Max())
			}
		}
		// ...and takes more values.
		h.Add(1)
		h.Merge(&again)
		if h.Count() != 2*again.Count()+1 {
			t.Fatalf("count %d after adding one and itself to %d", h.Count(), again.Count())
		}
	})
}

func BenchmarkHistogramAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 4096)
	for i := range vals {
		vals[i] = math.Exp(math.Log(40) + 0.8*r.NormFloat64())
	}
	var h Histogram
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Add(vals[i%len(vals)])
	}
}

func BenchmarkHistogramMerge(b *testing.B) {
	docs := encodedHistograms(b, 6000, 50)
	read := make([]*Histogram, len(docs))
	for i, d := range docs {
		read[i] = new(Histogram)
		if err := json.Unmarshal(d, read[i]); err != nil {
			b.Fatal(err)
		}
	}
	added := make([]*Histogram, 100)
	for i := range added {
		added[i] = new(Histogram)
		added[i].Merge(read[i])
		added[i].materialize()
	}
	b.Run("added into added", func(b *testing.B) {
		var h Histogram
		h.Add(1)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			h.Merge(added[i%len(added)])
		}
	})
	b.Run("read into added", func(b *testing.B) {
		var h Histogram
		h.Add(1)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			h.Merge(read[i%len(read)])
		}
	})
	b.Run("two read into empty", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			var h Histogram
			h.Merge(read[i%len(read)])
			h.Merge(read[(i+1)%len(read)])
		}
	})
	b.Run("6000 read into one", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var h Histogram
			for _, r := range read {
				h.Merge(r)
			}
		}
	})
}

func BenchmarkHistogramQuantile(b *testing.B) {
	r := rand.New(rand.NewPCG(4, 4))
	vals := make([]float64, 20_000)
	for i := range vals {
		vals[i] = math.Exp(math.Log(40) + 0.8*r.NormFloat64())
	}
	for _, c := range []struct {
		name string
		h    *Histogram
	}{
		{"added, 20000 values", dense(vals)},
		{"read, 50 values", sparse(b, vals[:50])},
		{"read, 20000 values", sparse(b, vals)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.h.Quantile(0.95)
			}
		})
	}
}

func BenchmarkHistogramJSON(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	vals := make([]float64, 20_000)
	for i := range vals {
		vals[i] = math.Exp(math.Log(40) + 0.8*r.NormFloat64())
	}
	for _, c := range []struct {
		name string
		h    *Histogram
	}{
		{"added, 50 values", dense(vals[:50])},
		{"read, 50 values", sparse(b, vals[:50])},
		{"added, 20000 values", dense(vals)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				buf, err := json.Marshal(c.h)
				if err != nil {
					b.Fatal(err)
				}
				var h Histogram
				if err := json.Unmarshal(buf, &h); err != nil {
					b.Fatal(err)
				}
				size = len(buf)
			}
			b.ReportMetric(float64(size), "json-bytes")
		})
	}
}
