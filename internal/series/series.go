// Package series is the per-second time series a load run produces and the
// judge reads: one Point per (second, metric, tag set), each carrying a
// mergeable histogram so that percentiles over any window are right, not
// averages of per-second percentiles.
package series

import (
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
