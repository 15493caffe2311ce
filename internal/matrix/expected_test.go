package matrix

import (
	"slices"
	"strings"
	"testing"

	"github.com/gameday/gameday/scenarios"
)

// graded returns a cell of link × f whose journeys have grades, in
// Journeys order ("ok~degraded" sets Near).
func graded(link string, f Fault, grades ...string) Cell {
	c := Cell{Link: link, Fault: f}
	for i, g := range grades {
		grade, near, _ := strings.Cut(g, "~")
		c.Journeys = append(c.Journeys, Judgement{Journey: Journeys()[i], Grade: Grade(grade), Near: Grade(near), Reason: "because " + grade})
	}
	return c
}

const expectedText = `{
  "about": "test",
  "profiles": {
    "resilient": [
      {"link": "gateway->wallet", "fault": "reset", "grades": {"login": "ok", "browse": "ok", "cart": "ok", "wallet": "ok|degraded", "checkout": "ok"}},
      {"link": "auth->sessions", "fault": "latency", "grades": {"login": "broken", "browse": "degraded", "cart": "broken"}}
    ]
  }
}
`

func TestParseExpected(t *testing.T) {
	e, err := ParseExpected("x.json", []byte(expectedText))
	if err != nil {
		t.Fatal(err)
	}
	c, ok := e.Cell("resilient", "gateway->wallet", FaultReset)
	if !ok || c.Grades["wallet"].Worst() != Degraded || !c.Grades["wallet"].Borderline() || c.Grades["login"].Borderline() {
		t.Errorf("cell %+v", c)
	}
	if _, ok := e.Cell("naive", "gateway->wallet", FaultReset); ok {
		t.Error("a profile the file does not name has cells")
	}

	bad := []struct {
		name, text, want string
	}{
		{"not JSON", `{"profiles": [`, "x.json"},
		{"unknown field", `{"profile": {}}`, "unknown field"},
		{"unknown link", `{"profiles": {"resilient": [{"link": "gateway->walet", "fault": "reset", "grades": {}}]}}`, "gateway->wallet"},
		{"unknown fault", `{"profiles": {"resilient": [{"link": "gateway->wallet", "fault": "crash", "grades": {}}]}}`, "http_5xx"},
		{"unknown journey", `{"profiles": {"resilient": [{"link": "gateway->wallet", "fault": "reset", "grades": {"pay": "ok"}}]}}`, "checkout"},
		{"unknown grade", `{"profiles": {"resilient": [{"link": "gateway->wallet", "fault": "reset", "grades": {"cart": "fine"}}]}}`, "ok, degraded, broken"},
		{"no data is never expected", `{"profiles": {"resilient": [{"link": "gateway->wallet", "fault": "reset", "grades": {"cart": "ok|no_data"}}]}}`, "no_data is never expected"},
		{"a grade twice", `{"profiles": {"resilient": [{"link": "gateway->wallet", "fault": "reset", "grades": {"cart": "ok|degraded|ok"}}]}}`, "ok twice"},
		{"a cell twice", `{"profiles": {"resilient": [{"link": "gateway->wallet", "fault": "reset", "grades": {}}, {"link": "gateway->wallet", "fault": "reset", "grades": {}}]}}`, "twice"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseExpected("x.json", []byte(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v; want one that says %q", err, tt.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	e, err := ParseExpected("x.json", []byte(expectedText))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		cell       Cell
		want       []string // "journey got"
		unexpected bool
	}{
		{"as expected", graded("gateway->wallet", FaultReset, "ok", "ok", "ok", "ok", "ok"), nil, false},
		{"the worse of a borderline", graded("gateway->wallet", FaultReset, "ok", "ok", "ok", "degraded", "ok"), nil, false},
		{"worse than a borderline", graded("gateway->wallet", FaultReset, "ok", "ok", "ok", "broken", "ok"), []string{"wallet broken"}, false},
		{"several worse", graded("gateway->wallet", FaultReset, "degraded", "ok", "ok", "ok", "broken"), []string{"login degraded", "checkout broken"}, false},
		{"better is no regression", graded("auth->sessions", FaultLatency, "ok", "ok", "ok", "broken", "broken"), nil, false},
		{"no data where ok was expected", graded("gateway->wallet", FaultReset, "ok", "no_data", "ok", "ok", "ok"), []string{"browse no_data"}, false},
		{"no data ranks with broken", graded("auth->sessions", FaultLatency, "no_data", "degraded", "broken", "ok", "ok"), nil, false},
		{"a cell that could not run", Cell{Link: "gateway->wallet", Fault: FaultReset, Err: "load failed"},
			[]string{"login no_data", "browse no_data", "cart no_data", "wallet no_data", "checkout no_data"}, false},
		{"a cell the file does not name", graded("client->gateway", FaultDown, "broken", "broken", "broken", "broken", "broken"), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			regs, unexpected := Compare(&Matrix{Profile: "resilient", Cells: []Cell{tt.cell}}, e, "resilient")
			var got []string
			for _, r := range regs {
				got = append(got, r.Journey+" "+string(r.Got))
				if r.Link != tt.cell.Link || r.Fault != tt.cell.Fault || r.Reason == "" {
					t.Errorf("regression %+v", r)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("regressions %v; want %v", got, tt.want)
			}
			if (len(unexpected) > 0) != tt.unexpected {
				t.Errorf("unexpected cells %v", unexpected)
			}
		})
	}
	r := Regression{Link: "gateway->wallet", Fault: FaultReset, Journey: "wallet", Want: "ok|degraded", Got: Broken, Reason: "success 12% < 50%"}
	if s := r.String(); s != "gateway->wallet × reset: wallet broken, want ok|degraded (success 12% < 50%)" {
		t.Errorf("String() = %q", s)
	}
}

func TestUpdate(t *testing.T) {
	old, err := ParseExpected("x.json", []byte(expectedText))
	if err != nil {
		t.Fatal(err)
	}
	m := &Matrix{Profile: "resilient", Cells: []Cell{
		// wallet is still one of its borderline's grades: kept.
		graded("gateway->wallet", FaultReset, "ok", "degraded~ok", "ok", "ok", "broken"),
		graded("client->gateway", FaultDown, "broken", "broken", "broken", "broken~no_data", "no_data"), // no data: never written
		{Link: "auth->sessions", Fault: FaultLatency, Err: "load failed"},                               // left as it was
	}}
	e := Update(old, m)
	text := string(e.Marshal())
	want := `{
  "about": "test",
  "profiles": {
    "resilient": [
      {"link": "client->gateway", "fault": "down", "grades": {"login": "broken", "browse": "broken", "cart": "broken", "wallet": "broken"}},
      {"link": "auth->sessions", "fault": "latency", "grades": {"login": "broken", "browse": "degraded", "cart": "broken"}},
      {"link": "gateway->wallet", "fault": "reset", "grades": {"login": "ok", "browse": "ok|degraded", "cart": "ok", "wallet": "ok|degraded", "checkout": "broken"}}
    ]
  }
}
`
	if text != want {
		t.Errorf("updated file:\n%s\nwant:\n%s", text, want)
	}
	back, err := ParseExpected("x.json", []byte(text))
	if err != nil {
		t.Fatalf("the file Marshal writes does not parse: %v", err)
	}
	if string(back.Marshal()) != text {
		t.Error("Marshal of the parsed file differs")
	}
	// Update leaves its input alone.
	if c, _ := old.Cell("resilient", "gateway->wallet", FaultReset); c.Grades["checkout"] != "ok" {
		t.Errorf("Update changed its input: %+v", c)
	}
	// A new profile starts empty.
	n := Update(nil, &Matrix{Profile: "naive", Cells: []Cell{graded("gateway->wallet", FaultReset, "ok", "ok", "ok", "broken", "no_data")}})
	if c, ok := n.Cell("naive", "gateway->wallet", FaultReset); !ok || c.Grades["wallet"] != "broken" {
		t.Errorf("naive %+v", n)
	}
}

func TestAllowance(t *testing.T) {
	tests := []struct {
		a          Allowance
		worst      Grade
		borderline bool
	}{
		{"ok", OK, false},
		{"ok|degraded", Degraded, true},
		{"degraded|ok", Degraded, true},
		{"broken|no_data", Broken, true},
		{"ok|broken|degraded", Broken, true},
	}
	for _, tt := range tests {
		if tt.a.Worst() != tt.worst || tt.a.Borderline() != tt.borderline {
			t.Errorf("%s: worst %s, borderline %t", tt.a, tt.a.Worst(), tt.a.Borderline())
		}
	}
	if got := joinAllowance(Degraded, OK); got != "ok|degraded" {
		t.Errorf("joinAllowance = %s", got)
	}
}

// TestExpectedFile: the committed expected matrix parses — so it expects no
// data nowhere — and names every cell of the matrix on resilient, each with
// every journey, so that the gate judges every journey of every cell.
func TestExpectedFile(t *testing.T) {
	data, err := scenarios.FS.ReadFile(scenarios.ExpectedMatrixFile)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseExpected(scenarios.ExpectedMatrixFile, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range Links() {
		for _, f := range Faults() {
			c, ok := e.Cell("resilient", l, f)
			if !ok {
				t.Errorf("resilient %s: not in the file", CellName(l, f))
				continue
			}
			for _, j := range Journeys() {
				if _, ok := c.Grades[j]; !ok {
					t.Errorf("resilient %s: no grade for %s", c.Name(), j)
				}
			}
		}
	}
}
