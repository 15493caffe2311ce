package series

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Precision bounds the relative error of Quantile for values of 0.025 ms and
// more. A Histogram keeps whole microseconds (at most half a microsecond off)
// in an HDR histogram of two significant figures, whose bucket of a value v
// is at most v/128 wide. A quantile is therefore off by at most the larger of
// v/128 (0.8%) and 0.5 µs: under 1% above 0.05 ms, under 2% above 0.025 ms,
// and at most half a microsecond below that.
const Precision = 0.02

const (
	// digits is the HDR histogram's significant figures. Two keep the error
	// under 1% where latencies are (tenths of a millisecond and up) with a
	// counts array of 3,328 slots (26 KB); three would give 0.1% for no use
	// to a judge of percentiles, with 23,552 slots (184 KB) and eight times
	// as many non-empty buckets to store per second.
	digits = 2
	// maxMicros is the largest value recorded as it is: 1 hour. Larger
	// values are recorded as 1 hour (Max and Sum stay exact), so quantiles
	// saturate there.
	maxMicros = 3_600_000_000
)

// Histogram is the distribution of non-negative values (milliseconds for
// time trends) in an HDR histogram (github.com/HdrHistogram/hdrhistogram-go),
// with an exact count, sum, min and max beside it. Quantiles are within
// Precision (see there). The zero value is empty and ready to use. It is not
// safe for concurrent use.
//
// A full HDR counts array is 26 KB, and a run holds thousands of per-second
// histograms of a few dozen values each. So a histogram read from JSON, or
// merged only from such histograms, keeps its non-empty buckets alone (a few
// hundred bytes) and takes the full array when a value is added to it or
// when merging would make its list of buckets larger than a quarter of the
// array.
type Histogram struct {
	dense *hdr.Histogram // nil until needed; then the buckets live here
	// sparse holds the non-empty buckets, by increasing value, while dense is
	// nil. It is never modified in place, so histograms may share it.
	sparse []bucket
	n      uint64
	sum    float64
	min    float64
	max    float64
}

// bucket is one non-empty slot of the HDR counts array: the lowest value it
// holds, in microseconds, and how many values it holds.
type bucket struct {
	value int64
	count int64
}

func newHDR() *hdr.Histogram { return hdr.New(1, maxMicros, digits) }

// slotValues is the lowest value of each slot of the HDR counts array (as
// Export gives it), in the array's order, which is increasing. The library
// does not map a slot to its value, but its Distribution of a histogram
// holding one value in every slot lists them all in that order.
var slotValues = sync.OnceValue(func() []int64 {
	s := newHDR().Export()
	for i := range s.Counts {
		s.Counts[i] = 1
	}
	bars := hdr.Import(s).Distribution()
	v := make([]int64, len(bars))
	for i, b := range bars {
		v[i] = b.From
	}
	return v
})

// slotOf returns the index in slotValues of the slot holding us (>= 0).
func slotOf(us int64) int {
	v := slotValues()
	return sort.Search(len(v), func(i int) bool { return v[i] > us }) - 1
}

// maxSparse is the most buckets a histogram keeps as a list: at 16 bytes a
// bucket against 8 a slot, half the memory of the full array.
func maxSparse() int { return len(slotValues()) / 4 }

// scratch holds empty HDR histograms to compute quantiles of sparse ones.
var scratch = sync.Pool{New: func() any { return newHDR() }}

// micros converts a value in milliseconds (not negative, not NaN) to the
// microseconds recorded.
func micros(ms float64) int64 {
	us := math.Round(ms * 1000)
	if us >= maxMicros {
		return maxMicros
	}
	return int64(us)
}

// record adds count values of us to d. The values given are in range by
// construction, so a refusal is a bug.
func record(d *hdr.Histogram, us, count int64) {
	if err := d.RecordValues(us, count); err != nil {
		panic(fmt.Sprintf("series: record histogram value: %v", err))
	}
}

func recordAll(d *hdr.Histogram, bs []bucket) {
	for _, b := range bs {
		record(d, b.value, b.count)
	}
}

// materialize moves the buckets into a full HDR histogram and returns it.
func (h *Histogram) materialize() *hdr.Histogram {
	if h.dense == nil {
		h.dense = newHDR()
		recordAll(h.dense, h.sparse)
		h.sparse = nil
	}
	return h.dense
}

// buckets returns the non-empty buckets of h by increasing value.
func (h *Histogram) buckets() []bucket {
	if h.dense == nil {
		return h.sparse
	}
	slots := slotValues()
	var bs []bucket
	for i, c := range h.dense.Export().Counts {
		if c > 0 {
			bs = append(bs, bucket{value: slots[i], count: c})
		}
	}
	return bs
}

// Add records one value. NaN and negative values are recorded as zero.
func (h *Histogram) Add(v float64) {
	if math.IsNaN(v) || v <= 0 {
		v = 0 // also turns -0 into 0
	}
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if h.n == 0 || v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
	record(h.materialize(), micros(v), 1)
}

// Merge adds every value of o into h. A nil or empty o changes nothing.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.n == 0 {
		return
	}
	switch {
	case o.dense != nil:
		// Both have the same layout, so the library drops nothing.
		if dropped := h.materialize().Merge(o.dense); dropped != 0 {
			panic(fmt.Sprintf("series: merge histograms: %d values dropped", dropped))
		}
	case h.dense != nil:
		recordAll(h.dense, o.sparse)
	case h.n == 0:
		h.sparse = o.sparse // shared: never modified in place
	default:
		if merged, ok := mergeBuckets(h.sparse, o.sparse); ok {
			h.sparse = merged
		} else {
			recordAll(h.materialize(), o.sparse)
		}
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if h.n == 0 || o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// mergeBuckets returns the buckets of a and b together, or false when they
// are more than maxSparse.
func mergeBuckets(a, b []bucket) ([]bucket, bool) {
	n := 0
	union(a, b, func(bucket) { n++ })
	if n > maxSparse() {
		return nil, false
	}
	out := make([]bucket, 0, n)
	union(a, b, func(x bucket) { out = append(out, x) })
	return out, true
}

// union calls f with the buckets of a and b by increasing value, adding the
// counts of a bucket in both.
func union(a, b []bucket, f func(bucket)) {
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || len(a) > 0 && a[0].value < b[0].value:
			f(a[0])
			a = a[1:]
		case len(a) == 0 || b[0].value < a[0].value:
			f(b[0])
			b = b[1:]
		default:
			f(bucket{value: a[0].value, count: a[0].count + b[0].count})
			a, b = a[1:], b[1:]
		}
	}
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Sum returns the sum of the values recorded, exactly as added.
func (h *Histogram) Sum() float64 { return h.sum }

// Min returns the smallest value recorded (0 when empty).
func (h *Histogram) Min() float64 { return h.min }

// Max returns the largest value recorded (0 when empty).
func (h *Histogram) Max() float64 { return h.max }

// Quantile returns the value at quantile q in [0,1] by the nearest-rank
// definition (the ⌈q·n⌉-th smallest of n values), within Precision and
// clamped to [Min, Max]; the first and last ranks are Min and Max exactly.
// q at or below 0 gives Min, at or above 1 gives Max. It returns 0 for an
// empty histogram.
func (h *Histogram) Quantile(q float64) float64 {
	switch {
	case h.n == 0:
		return 0
	case !(q > 0):
		return h.min
	case q >= 1:
		return h.max
	}
	rank := math.Ceil(q * float64(h.n))
	switch {
	case rank <= 1:
		return h.min // the smallest value, known exactly
	case rank >= float64(h.n):
		return h.max
	}
	d := h.dense
	if d == nil {
		d = scratch.Get().(*hdr.Histogram)
		defer func() {
			d.Reset()
			scratch.Put(d)
		}()
		recordAll(d, h.sparse)
	}
	// The library takes a percentile and rounds percentile·n to the nearest
	// rank; asking for exactly rank/n makes that rank the nearest rank.
	us := d.ValueAtQuantile(100 * rank / float64(h.n))
	return min(max(float64(us)/1000, h.min), h.max)
}

// Buckets returns the number of non-empty buckets, a measure of the memory
// the histogram would take as a list of buckets.
func (h *Histogram) Buckets() int { return len(h.buckets()) }

// histJSON is the JSON form of a Histogram: its exact count, sum, min and
// max, and its non-empty HDR buckets as [lowest value in µs, count] pairs by
// increasing value. Digits names the bucket layout.
type histJSON struct {
	Digits int       `json:"digits"`
	N      uint64    `json:"n"`
	Sum    float64   `json:"sum"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Micros [][]int64 `json:"us,omitempty"`
}

// MarshalJSON writes the histogram with its non-empty buckets only.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	bs := h.buckets()
	j := histJSON{Digits: digits, N: h.n, Sum: h.sum, Min: h.min, Max: h.max, Micros: make([][]int64, len(bs))}
	flat := make([]int64, 2*len(bs))
	for i, b := range bs {
		p := flat[2*i : 2*i+2 : 2*i+2]
		p[0], p[1] = b.value, b.count
		j.Micros[i] = p
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote, keeping the buckets as a list
// until a value is added or a merge needs the full array. JSON null leaves h
// as it is. It returns an error, and leaves h as it is, for anything
// MarshalJSON could not have written: another bucket layout, buckets that are
// not HDR buckets, out of order or empty, counts that do not add up, or a
// min or max outside the first or last bucket.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var j histJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode histogram: %w", err)
	}
	bs, err := j.buckets()
	if err != nil {
		return fmt.Errorf("decode histogram: %w", err)
	}
	// Adding 0 turns -0 into 0, as Add does.
	*h = Histogram{sparse: bs, n: j.N, sum: j.Sum + 0, min: j.Min + 0, max: j.Max + 0}
	return nil
}

// buckets checks j and returns its buckets.
func (j *histJSON) buckets() ([]bucket, error) {
	if j.Digits != digits {
		return nil, fmt.Errorf("%d significant digits, want %d", j.Digits, digits)
	}
	if j.N == 0 {
		if len(j.Micros) > 0 || j.Sum != 0 || j.Min != 0 || j.Max != 0 {
			return nil, errors.New("an empty histogram with buckets, sum, min or max")
		}
		return nil, nil
	}
	if j.Min < 0 || j.Max < j.Min || j.Sum < 0 {
		return nil, fmt.Errorf("min %v, max %v, sum %v: want 0 <= min <= max and sum >= 0", j.Min, j.Max, j.Sum)
	}
	slots := slotValues()
	bs := make([]bucket, len(j.Micros))
	var total int64 // at most math.MaxInt64, as the library counts
	for i, p := range j.Micros {
		if len(p) != 2 {
			return nil, fmt.Errorf("bucket %v: want [value, count]", p)
		}
		v, c := p[0], p[1]
		if v < 0 || slots[slotOf(v)] != v {
			return nil, fmt.Errorf("bucket %v: %d µs is not the lowest value of a bucket", p, v)
		}
		if c <= 0 {
			return nil, fmt.Errorf("bucket %v: count not positive", p)
		}
		if i > 0 && v <= bs[i-1].value {
			return nil, fmt.Errorf("bucket %v: not after %d µs", p, bs[i-1].value)
		}
		if c > math.MaxInt64-total {
			return nil, errors.New("counts overflow")
		}
		total += c
		bs[i] = bucket{value: v, count: c}
	}
	if uint64(total) != j.N {
		return nil, fmt.Errorf("buckets hold %d values, n says %d", total, j.N)
	}
	if first := bs[0].value; slots[slotOf(micros(j.Min))] != first {
		return nil, fmt.Errorf("min %v outside the first bucket (%d µs)", j.Min, first)
	}
	if last := bs[len(bs)-1].value; slots[slotOf(micros(j.Max))] != last {
		return nil, fmt.Errorf("max %v outside the last bucket (%d µs)", j.Max, last)
	}
	return bs, nil
}
