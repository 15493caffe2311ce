package matrix

import (
	"bytes"
	"strings"
	"testing"
)

// cellOf is a measured cell whose journeys have the grades given, in
// journey order.
func cellOf(link string, f Fault, grades ...Grade) Cell {
	c := Cell{Link: link, Fault: f}
	for i, g := range grades {
		c.Journeys = append(c.Journeys, Judgement{Journey: Journeys()[i], Grade: g, Reason: "measured " + string(g)})
	}
	return c
}

// TestGate: a profile with an expectation is gated by it, one without is
// contrasted with resilient's and not gated, no file gates nothing; a cell
// that could not run fails; a cell the file does not name is said.
func TestGate(t *testing.T) {
	expected, err := ParseExpected("expected.json", []byte(`{"profiles": {"resilient": [
	  {"link": "gateway->wallet", "fault": "reset", "grades": {"login": "ok", "browse": "ok", "cart": "ok", "wallet": "ok|degraded", "checkout": "ok"}}
	]}}`))
	if err != nil {
		t.Fatal(err)
	}
	asExpected := cellOf("gateway->wallet", FaultReset, OK, OK, OK, Degraded, OK)
	worse := cellOf("gateway->wallet", FaultReset, OK, OK, Degraded, Broken, NoData)
	tests := []struct {
		name     string
		profile  string
		expected *Expected
		cells    []Cell
		passed   bool
		judged   bool
		want     []string
	}{
		{"as expected", "resilient", expected, []Cell{asExpected}, true, true,
			[]string{"PASS: no journey worse than the expected matrix of resilient (expected.json)"}},
		{"worse than expected", "resilient", expected, []Cell{worse}, false, true, []string{
			"FAIL: 3 journeys worse than the expected matrix of resilient",
			"gateway->wallet × reset: wallet broken, want ok|degraded (measured broken)",
		}},
		{"a cell that could not run", "resilient", expected, []Cell{{Link: "gateway->wallet", Fault: FaultReset, Err: "load failed\nmore", Dir: "/tmp/x"}},
			false, false, []string{"ERROR gateway->wallet × reset: load failed; files in /tmp/x", "wallet no data, want ok|degraded"}},
		{"a cell the file does not name", "resilient", expected, []Cell{asExpected, cellOf("client->gateway", FaultDown, Broken, Broken, NoData, NoData, NoData)},
			true, true, []string{"PASS", "not gated: expected.json has no expectation for client->gateway × down"}},
		{"naive, for contrast", "naive", expected, []Cell{worse}, true, true,
			[]string{"not gated: expected.json has no expected matrix of naive; 3 journeys are worse than resilient's (contrast)"}},
		{"no expected file", "resilient", nil, []Cell{worse}, true, true, []string{"not gated: expected.json has no expected matrix"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGate(&Matrix{Profile: tt.profile, Shape: DefaultShape, Cells: tt.cells}, tt.expected, "expected.json")
			var out bytes.Buffer
			judged := g.WriteErrors(&out)
			passed := g.WriteVerdict(&out)
			if passed != tt.passed || judged != tt.judged {
				t.Errorf("passed %t, judged %t; want %t, %t\n%s", passed, judged, tt.passed, tt.judged, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("does not say %q:\n%s", w, out.String())
				}
			}
			if len(g.Files("out", "")) != 3 || len(g.Files("out", "summary.md")) != 4 {
				t.Error("want matrix.html, matrix.md, matrix.json and the --markdown copy")
			}
		})
	}
}

func TestLineAndUpdated(t *testing.T) {
	c := cellOf("gateway->wallet", FaultReset, OK, Degraded)
	c.Journeys[1].Near = OK
	if got := Line(c); got != "login ok · browse degraded~" {
		t.Errorf("Line = %q", got)
	}
	if got := Line(Cell{Err: "load failed\nmore"}); got != "error: load failed" {
		t.Errorf("Line of an error = %q", got)
	}
	b := Updated(nil, &Matrix{Profile: "resilient", Cells: []Cell{cellOf("gateway->wallet", FaultReset, OK, OK, OK, Broken, NoData)}})
	e, err := ParseExpected("x", b)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := e.Cell("resilient", "gateway->wallet", FaultReset); !ok || c.Grades["wallet"] != "broken" || e.About != ExpectedAbout {
		t.Errorf("written:\n%s", b)
	}
}
