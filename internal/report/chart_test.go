package report

import (
	"math"
	"slices"
	"testing"
)

func TestNiceCeil(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{0, 1}, {0.3, 1}, {1, 1}, {1.2, 2}, {2, 2}, {2.1, 2.5}, {3, 5}, {7, 10}, {131, 200}, {201, 250}, {1000, 1000}, {1001, 2000},
	}
	for _, tt := range tests {
		if got := niceCeil(tt.in); got != tt.want {
			t.Errorf("niceCeil(%v) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestTicks(t *testing.T) {
	tests := []struct {
		name string
		got  []float64
		want []float64
	}{
		{"linear 200", linearTicks(200), []float64{0, 50, 100, 150, 200}},
		{"linear 250", linearTicks(250), []float64{0, 50, 100, 150, 200, 250}},
		{"linear 1", linearTicks(1), []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{"linear 5000", linearTicks(5000), []float64{0, 1000, 2000, 3000, 4000, 5000}},
		{"log 1..100", logTicks(1, 100, true), []float64{1, 2, 5, 10, 20, 50, 100}},
		{"log 1..100 coarse", logTicks(1, 100, false), []float64{1, 10, 100}},
		{"log 0.1..10000", logTicks(0.1, 10000, true), []float64{0.1, 1, 10, 100, 1000, 10000}},
		{"time 0..41", timeTicks(0, 41, 10), []float64{0, 5, 10, 15, 20, 25, 30, 35, 40}},
		{"time 0..41 small", timeTicks(0, 41, 5), []float64{0, 10, 20, 30, 40}},
		{"time -1..8", timeTicks(-1, 8, 10), []float64{-1, 0, 1, 2, 3, 4, 5, 6, 7, 8}},
		{"time -0.5..30", timeTicks(-0.5, 30, 10), []float64{0, 5, 10, 15, 20, 25, 30}},
		{"time 0..600", timeTicks(0, 600, 10), []float64{0, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600}},
	}
	for _, tt := range tests {
		round := make([]float64, len(tt.got))
		for i, v := range tt.got {
			round[i] = math.Round(v*1e6) / 1e6
		}
		if !slices.Equal(round, tt.want) {
			t.Errorf("%s: %v; want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestAxis(t *testing.T) {
	lin := axis{lo: 0, hi: 200, from: 210, to: 10}
	if got := lin.pos(100); got != 110 {
		t.Errorf("linear pos(100) = %v; want 110", got)
	}
	lg := axis{lo: 1, hi: 1000, from: 300, to: 0, log: true}
	for v, want := range map[float64]float64{1: 300, 10: 200, 1000: 0, 0.5: 300} {
		if got := lg.pos(v); math.Abs(got-want) > 1e-9 {
			t.Errorf("log pos(%v) = %v; want %v", v, got, want)
		}
	}
}

func TestFormats(t *testing.T) {
	tests := []struct{ got, want string }{
		{fmtOffset(0), "0s"}, {fmtOffset(45), "45s"}, {fmtOffset(90), "1m30s"},
		{fmtMillis(0.1), "0.1ms"}, {fmtMillis(20), "20ms"}, {fmtMillis(1000), "1s"}, {fmtMillis(2500), "2.5s"},
		{fmtMillisShort(8.34), "8.3ms"}, {fmtMillisShort(26.4), "26ms"}, {fmtMillisShort(1234), "1.23s"},
		{percent(0), "0%"}, {percent(1), "100%"}, {percent(0.9876), "98.8%"}, {percent(0.0004), "0.04%"},
		{groupThousands(0), "0"}, {groupThousands(999), "999"}, {groupThousands(1000), "1,000"}, {groupThousands(-1234567), "-1,234,567"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: %q; want %q", i, tt.got, tt.want)
		}
	}
}
