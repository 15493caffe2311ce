package judge

import (
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/probe"
	"github.com/gameday/gameday/internal/scenario"
)

// healthProbe is a probe every 2 s of a 60 s load: it needs 15 runs.
func healthProbe(tb testing.TB, extra string) scenario.Check {
	tb.Helper()
	sc, err := scenario.Parse("t.yaml", []byte("load: {duration: 60s}\nchecks:\n  - {probe: http, url: \"{gateway}/healthz\", every: 2s, expect: status == 200"+extra+"}\n"))
	if err != nil {
		tb.Fatal(err)
	}
	return sc.Checks[0]
}

// runs returns n runs of c, one every 2 s from +2s; fail says which fail and how.
func runs(c scenario.Check, n int, fail map[int]probe.Result) []probe.Result {
	var out []probe.Result
	for i := range n {
		at := at(time.Duration(2*(i+1)) * time.Second)
		r := probe.Result{Check: c.Name, At: at, Took: 3 * time.Millisecond, OK: true, Answer: `200 {"service":"gateway"}`}
		if f, ok := fail[i]; ok {
			f.Check, f.At = c.Name, at
			r = f
		}
		out = append(out, r)
	}
	return out
}

func TestProbeVerdict(t *testing.T) {
	c := healthProbe(t, "")
	other := healthProbe(t, ", name: other")
	wrong := probe.Result{Answer: `503 {"error":{"code":"maintenance"}}`, Took: 5 * time.Millisecond}
	lost := probe.Result{Err: "GET: context deadline exceeded", Took: 2 * time.Second}
	lostFast := probe.Result{Err: "GET: connection refused", Took: time.Millisecond}
	tests := []struct {
		name   string
		check  scenario.Check
		runs   []probe.Result
		status Status
		got    float64
		reason string
		first  string
		worst  string
	}{
		{"every run held", c, runs(c, 29, nil), Pass, 0, "29 of 29 runs held", "", ""},
		{"failed with evidence", c, runs(c, 29, map[int]probe.Result{6: lostFast, 7: wrong, 8: lost, 9: wrong}), Fail, 4, "4 of 29 runs failed",
			"+14.0s: no answer: GET: connection refused (1ms)", "+18.0s: no answer: GET: context deadline exceeded (2s)"},
		{"a wrong answer, no lost one", c, runs(c, 20, map[int]probe.Result{3: wrong}), Fail, 1, "1 of 20 runs failed",
			`+8.0s: 503 {"error":{"code":"maintenance"}}; expect was false (5ms)`, `+8.0s: 503 {"error":{"code":"maintenance"}}; expect was false (5ms)`},
		{"within max", healthProbe(t, ", max: 2"), runs(healthProbe(t, ", max: 2"), 20, map[int]probe.Result{3: wrong, 4: wrong}), Pass, 2, "18 of 20 runs held", `+8.0s`, `+8.0s`},
		{"below least", c, runs(c, 14, nil), Unknown, 0, "the probe ran 14 times, fewer than the 15 it needs", "", ""},
		{"never ran", c, runs(other, 29, nil), Unknown, 0, "the probe never ran; it needs 15 runs", "", ""},
		{"failed below least is still a fail", c, runs(c, 3, map[int]probe.Result{0: lost}), Fail, 1, "1 of 3 runs failed", "+2.0s", "+2.0s"},
		{"least given", healthProbe(t, ", min_runs: 3"), runs(healthProbe(t, ", min_runs: 3"), 3, nil), Pass, 0, "3 of 3 runs held", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{Timeline: timeline(), Probes: append(tt.runs, runs(other, 5, map[int]probe.Result{0: lost})...)}
			v := Decide(r, tt.check)
			t.Log(v.String())
			if v.Status != tt.status || v.Got != tt.got || v.Reason != tt.reason || v.Kind != scenario.CheckProbe {
				t.Errorf("got %s %v %q; want %s %v %q", v.Status, v.Got, v.Reason, tt.status, tt.got, tt.reason)
			}
			if !strings.HasPrefix(v.Evidence.First, tt.first) || !strings.HasPrefix(v.Evidence.Worst, tt.worst) || (tt.first == "") != (v.Evidence.First == "") {
				t.Errorf("evidence first %q, worst %q; want %q, %q", v.Evidence.First, v.Evidence.Worst, tt.first, tt.worst)
			}
			n := 0
			for _, p := range tt.runs {
				if p.Check == tt.check.Name {
					n++
				}
			}
			if v.Evidence.Samples != int64(n) {
				t.Errorf("samples %d; want %d", v.Evidence.Samples, n)
			}
			if !strings.Contains(v.Want, "status == 200") || !strings.Contains(v.Want, "GET {gateway}/healthz every 2s") {
				t.Errorf("want %q", v.Want)
			}
		})
	}
}
