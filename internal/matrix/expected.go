package matrix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gameday/gameday/mockstore"
)

// Expected is an expected matrix file: per profile, per cell, the grade
// each journey must reach at least. Grades may be joined, "ok|degraded": the
// journey is borderline, measured either way by runs that differ only by
// chance (the machine's load, how many shoppers had logged in when the
// fault began), and the gate holds it to the worst of them. A profile,
// cell or journey the file does not name is not gated.
type Expected struct {
	// About says what the file is, for whoever opens it.
	About    string                    `json:"about,omitempty"`
	Profiles map[string][]ExpectedCell `json:"profiles"`
}

// ExpectedCell is one cell of an expected matrix.
type ExpectedCell struct {
	Link   string               `json:"link"`
	Fault  Fault                `json:"fault"`
	Grades map[string]Allowance `json:"grades"` // by journey
}

// Allowance is what an expected matrix allows a journey: one grade, or
// several separated by "|" for a borderline journey.
type Allowance string

// Grades returns the grades a allows.
func (a Allowance) Grades() []Grade {
	var out []Grade
	for _, s := range strings.Split(string(a), "|") {
		out = append(out, Grade(strings.TrimSpace(s)))
	}
	return out
}

// Worst returns the worst grade a allows: the one the gate holds the
// journey to.
func (a Allowance) Worst() Grade {
	var w Grade
	for _, g := range a.Grades() {
		if w == "" || g.rank() > w.rank() {
			w = g
		}
	}
	return w
}

// Borderline reports whether a allows more than one grade.
func (a Allowance) Borderline() bool { return len(a.Grades()) > 1 }

// allows reports whether g is one of a's grades.
func (a Allowance) allows(g Grade) bool { return slices.Contains(a.Grades(), g) }

// ParseExpected reads an expected matrix file. name is for the errors,
// which name the profile, cell and journey of a bad entry.
func ParseExpected(name string, data []byte) (*Expected, error) {
	var e Expected
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for profile, cells := range e.Profiles {
		seen := map[string]bool{}
		for _, c := range cells {
			at := fmt.Sprintf("%s: profile %s, cell %s", name, profile, CellName(c.Link, c.Fault))
			if _, ok := mockstore.LinkByName(c.Link); !ok {
				return nil, fmt.Errorf("%s: unknown link %q: allowed values: %s", at, c.Link, strings.Join(Links(), ", "))
			}
			if !slices.Contains(Faults(), c.Fault) {
				return nil, fmt.Errorf("%s: unknown fault %q: allowed values: %s", at, c.Fault, joinFaults(Faults()))
			}
			if seen[c.Name()] {
				return nil, fmt.Errorf("%s: given twice", at)
			}
			seen[c.Name()] = true
			for j, a := range c.Grades {
				if !slices.Contains(Journeys(), j) {
					return nil, fmt.Errorf("%s: unknown journey %q: allowed values: %s", at, j, strings.Join(Journeys(), ", "))
				}
				gs := a.Grades()
				for _, g := range gs {
					if !g.Valid() || g == NoData {
						return nil, fmt.Errorf("%s, journey %s: unknown grade %q: allowed values: %s (joined by | for a borderline journey; %s is never expected: a cell's load gives every journey enough to grade)",
							at, j, string(g), strings.Join(expectedGradeNames(), ", "), string(NoData))
					}
				}
				for i, g := range gs {
					if slices.Contains(gs[:i], g) {
						return nil, fmt.Errorf("%s, journey %s: %q names %s twice", at, j, a, g)
					}
				}
			}
		}
	}
	return &e, nil
}

// expectedGradeNames are the grades an expected matrix may allow: every
// grade but NoData.
func expectedGradeNames() []string {
	var out []string
	for _, g := range Grades() {
		if g != NoData {
			out = append(out, string(g))
		}
	}
	return out
}

// Name is the cell's name, "gateway->wallet × reset".
func (c ExpectedCell) Name() string { return CellName(c.Link, c.Fault) }

// Cell returns the expected cell of link × f for profile.
func (e *Expected) Cell(profile, link string, f Fault) (ExpectedCell, bool) {
	if e == nil {
		return ExpectedCell{}, false
	}
	for _, c := range e.Profiles[profile] {
		if c.Link == link && c.Fault == f {
			return c, true
		}
	}
	return ExpectedCell{}, false
}

// Regression is a journey of a cell that came out worse than expected.
type Regression struct {
	Link    string    `json:"link"`
	Fault   Fault     `json:"fault"`
	Journey string    `json:"journey"`
	Want    Allowance `json:"want"`
	Got     Grade     `json:"got"`
	Reason  string    `json:"reason"` // the judgement's, or the cell's error
}

// Name is the regression's cell, "gateway->wallet × reset".
func (r Regression) Name() string { return CellName(r.Link, r.Fault) }

// String says it in one line: "gateway->wallet × reset: wallet broken, want ok (success 12% < 50%)".
func (r Regression) String() string {
	return fmt.Sprintf("%s: %s %s, want %s (%s)", r.Name(), r.Journey, r.Got, r.Want, r.Reason)
}

// Compare returns every journey of m's cells that is worse than e expects
// of profile, in matrix order, and the cells e has no expectation for. A
// cell whose run failed has every journey NoData, which is worse than any
// expected grade but broken: an error never passes the gate.
func Compare(m *Matrix, e *Expected, profile string) (regs []Regression, unexpected []string) {
	for _, c := range m.Cells {
		ec, ok := e.Cell(profile, c.Link, c.Fault)
		if !ok {
			unexpected = append(unexpected, c.Name())
			continue
		}
		for _, j := range Journeys() {
			want, ok := ec.Grades[j]
			if !ok {
				continue
			}
			got, reason := c.Grade(j), c.Err
			if jd, ok := c.Judgement(j); ok {
				reason = jd.Reason
			}
			if got.rank() > want.Worst().rank() {
				regs = append(regs, Regression{Link: c.Link, Fault: c.Fault, Journey: j, Want: want, Got: got, Reason: reason})
			}
		}
	}
	return regs, unexpected
}

// Update returns a copy of e (nil: empty) with m's cells as m.Profile's
// expectation: each journey's measured grade, joined with the grade it was
// near (Judgement.Near). When the file already allowed the grade measured,
// what it allowed is kept too, so that runs add up what they saw (a
// borderline is learnt, never forgotten by the next run); when the grade
// moved out of it, the measurement replaces it. Cells m did not run keep
// their expectation; a cell that could not be judged (Err), or a journey
// measured NoData, is left as it was: no data is never expected.
func Update(e *Expected, m *Matrix) *Expected {
	out := &Expected{Profiles: map[string][]ExpectedCell{}}
	if e != nil {
		out.About = e.About
		for p, cs := range e.Profiles {
			for _, c := range cs {
				cc := c
				cc.Grades = map[string]Allowance{}
				for j, a := range c.Grades {
					cc.Grades[j] = a
				}
				out.Profiles[p] = append(out.Profiles[p], cc)
			}
		}
	}
	cells := out.Profiles[m.Profile]
	for _, c := range m.Cells {
		if c.Err != "" {
			continue
		}
		i := slices.IndexFunc(cells, func(ec ExpectedCell) bool { return ec.Link == c.Link && ec.Fault == c.Fault })
		if i < 0 {
			cells = append(cells, ExpectedCell{Link: c.Link, Fault: c.Fault, Grades: map[string]Allowance{}})
			i = len(cells) - 1
		}
		for _, jd := range c.Journeys {
			if jd.Grade == NoData {
				continue // never expected: the gate keeps failing on it until the cell gives enough
			}
			gs := []Grade{jd.Grade}
			if jd.Near != "" && jd.Near != NoData {
				gs = append(gs, jd.Near)
			}
			if old, ok := cells[i].Grades[jd.Journey]; ok && old.allows(jd.Grade) {
				gs = append(gs, old.Grades()...)
			}
			cells[i].Grades[jd.Journey] = joinAllowance(gs...)
		}
	}
	sortCells(cells)
	out.Profiles[m.Profile] = cells
	return out
}

// joinAllowance writes grades as an allowance, each once, best first.
func joinAllowance(gs ...Grade) Allowance {
	var out []string
	for _, g := range Grades() { // best first
		if slices.Contains(gs, g) {
			out = append(out, string(g))
		}
	}
	return Allowance(strings.Join(out, "|"))
}

// sortCells puts cells in matrix order: by link, then by fault.
func sortCells(cs []ExpectedCell) {
	idx := func(list []string, s string) int {
		if i := slices.Index(list, s); i >= 0 {
			return i
		}
		return len(list)
	}
	links := Links()
	faults := make([]string, 0, len(Faults()))
	for _, f := range Faults() {
		faults = append(faults, string(f))
	}
	sort.SliceStable(cs, func(a, b int) bool {
		la, lb := idx(links, cs[a].Link), idx(links, cs[b].Link)
		if la != lb {
			return la < lb
		}
		return idx(faults, string(cs[a].Fault)) < idx(faults, string(cs[b].Fault))
	})
}

// Marshal writes e as the file's text: one cell a line, journeys in visit
// order, profiles sorted, so that a change to the file reads as a change
// to the cells it touches.
func (e *Expected) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("{\n")
	if e.About != "" {
		fmt.Fprintf(&b, "  \"about\": %s,\n", quote(e.About))
	}
	b.WriteString("  \"profiles\": {")
	profiles := make([]string, 0, len(e.Profiles))
	for p := range e.Profiles {
		profiles = append(profiles, p)
	}
	sort.Strings(profiles)
	for pi, p := range profiles {
		if pi > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n    %s: [", quote(p))
		for ci, c := range e.Profiles[p] {
			if ci > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "\n      {\"link\": %s, \"fault\": %s, \"grades\": {", quote(c.Link), quote(string(c.Fault)))
			first := true
			for _, j := range Journeys() {
				a, ok := c.Grades[j]
				if !ok {
					continue
				}
				if !first {
					b.WriteString(", ")
				}
				first = false
				fmt.Fprintf(&b, "%s: %s", quote(j), quote(string(a)))
			}
			b.WriteString("}}")
		}
		b.WriteString("\n    ]")
	}
	b.WriteString("\n  }\n}\n")
	return b.Bytes()
}

// quote writes s as a JSON string, "->" as it is (json.Marshal would
// escape the ">").
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
