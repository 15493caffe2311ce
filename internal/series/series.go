// Package series is the per-second time series a load run produces and the
// judge reads: one Point per (second, metric, tag set), each carrying a
// mergeable histogram so that percentiles over any window are right, not
// averages of per-second percentiles.
package series

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Metric kinds, as k6 has them.
const (
	KindCounter = "counter" // Sum is the total added in the second
	KindGauge   = "gauge"   // Max holds the last value seen
	KindRate    = "rate"    // Count samples, Sum of them non-zero
	KindTrend   = "trend"   // Hist holds the distribution (milliseconds for time trends)
)

// Point is one metric over one second for one tag set.
type Point struct {
	T      int64             `json:"t"` // unix second the samples fell in
	Metric string            `json:"metric"`
	Kind   string            `json:"kind"`
	Tags   map[string]string `json:"tags,omitempty"`
	Count  int64             `json:"count"` // samples
	Sum    float64           `json:"sum"`
	Min    float64           `json:"min,omitempty"`
	Max    float64           `json:"max,omitempty"`
	P50    float64           `json:"p50,omitempty"` // trends only
	P95    float64           `json:"p95,omitempty"`
	P99    float64           `json:"p99,omitempty"`
	Hist   *Histogram        `json:"hist,omitempty"` // trends only
}

// TagKey renders tags as a stable "k=v,k=v" string (sorted by key).
func TagKey(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(tags[k])
	}
	return b.String()
}

// Histogram is a log-bucketed distribution of non-negative values with a
// relative error of at most Precision/2 for any quantile, exact min and max,
// and memory bounded by the range of values (about 1,400 buckets span
// 1 µs to 1 hour in milliseconds), never by the number of samples.
// The zero value is empty and ready to use.
type Histogram struct {
	counts map[int32]uint64
	zeros  uint64 // values <= smallest
	n      uint64
	sum    float64
	min    float64
	max    float64
}

// Precision is the growth factor between bucket bounds minus one.
const Precision = 0.02

const smallest = 1e-3 // values at or below this count as zero-bucket values

var logGamma = math.Log1p(Precision)

func bucketOf(v float64) int32 {
	return int32(math.Ceil(math.Log(v/smallest) / logGamma))
}

// bucketValue is the representative value of bucket i: the geometric middle
// of its bounds (smallest*γ^(i-1), smallest*γ^i].
func bucketValue(i int32) float64 {
	return smallest * math.Exp((float64(i)-0.5)*logGamma)
}

// Add records one value. NaN and negative values are recorded as zero.
func (h *Histogram) Add(v float64) {
	if math.IsNaN(v) || v < 0 {
		v = 0
	}
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if h.n == 0 || v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
	if v <= smallest {
		h.zeros++
		return
	}
	if h.counts == nil {
		h.counts = make(map[int32]uint64)
	}
	h.counts[bucketOf(v)]++
}

// Merge adds every value of o into h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if h.n == 0 || o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
	h.zeros += o.zeros
	if len(o.counts) > 0 && h.counts == nil {
		h.counts = make(map[int32]uint64, len(o.counts))
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Sum returns the sum of the values recorded.
func (h *Histogram) Sum() float64 { return h.sum }

// Min returns the smallest value (0 when empty).
func (h *Histogram) Min() float64 { return h.min }

// Max returns the largest value (0 when empty).
func (h *Histogram) Max() float64 { return h.max }

// Quantile returns the value at quantile q in [0,1] by the nearest-rank
// definition, within Precision/2 relative error and clamped to [Min, Max].
// It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	if q <= 0 {
		return h.min
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(math.Ceil(q * float64(h.n))) // 1-based nearest rank
	if rank < 1 {
		rank = 1
	}
	if rank <= h.zeros {
		return h.min
	}
	seen := h.zeros
	idx := make([]int32, 0, len(h.counts))
	for i := range h.counts {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, i := range idx {
		seen += h.counts[i]
		if seen >= rank {
			return math.Min(math.Max(bucketValue(i), h.min), h.max)
		}
	}
	return h.max
}

// Buckets returns the number of non-empty buckets (a measure of its memory).
func (h *Histogram) Buckets() int { return len(h.counts) }

type histJSON struct {
	N       uint64     `json:"n"`
	Sum     float64    `json:"sum"`
	Min     float64    `json:"min"`
	Max     float64    `json:"max"`
	Zeros   uint64     `json:"zeros,omitempty"`
	Buckets [][2]int64 `json:"b,omitempty"` // [index, count], sorted by index
}

// MarshalJSON writes the histogram compactly.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	j := histJSON{N: h.n, Sum: h.sum, Min: h.min, Max: h.max, Zeros: h.zeros}
	for i, c := range h.counts {
		j.Buckets = append(j.Buckets, [2]int64{int64(i), int64(c)})
	}
	slices.SortFunc(j.Buckets, func(a, b [2]int64) int { return int(a[0] - b[0]) })
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var j histJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*h = Histogram{n: j.N, sum: j.Sum, min: j.Min, max: j.Max, zeros: j.Zeros}
	var total uint64 = j.Zeros
	for _, bc := range j.Buckets {
		if bc[1] < 0 || bc[0] < math.MinInt32 || bc[0] > math.MaxInt32 {
			return fmt.Errorf("histogram bucket %v out of range", bc)
		}
		if h.counts == nil {
			h.counts = make(map[int32]uint64, len(j.Buckets))
		}
		h.counts[int32(bc[0])] += uint64(bc[1])
		total += uint64(bc[1])
	}
	if total != h.n {
		return fmt.Errorf("histogram counts %d values, says %d", total, h.n)
	}
	return nil
}
