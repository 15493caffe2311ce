package matrix

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what the renderers show: a measured matrix and how it compares
// with an expected one.
type Report struct {
	Matrix *Matrix
	// Against names what the matrix was compared with ("the expected matrix
	// of resilient"); "" when it was not.
	Against string
	// Gated is true when Regressions fail the gate; false when the
	// comparison is a contrast only (a profile the expected file has no
	// expectation for, compared with resilient's).
	Gated       bool
	Regressions []Regression
}

// regression returns the regression of link × f's journey, if any.
func (r Report) regression(link string, f Fault, journey string) (Regression, bool) {
	for _, g := range r.Regressions {
		if g.Link == link && g.Fault == f && g.Journey == journey {
			return g, true
		}
	}
	return Regression{}, false
}

// Thresholds says the grades' thresholds in one line.
func Thresholds() string {
	return fmt.Sprintf("ok: success ≥ %s and p95 ≤ %g × baseline + %s · degraded: success ≥ %s · "+
		"broken: less, or fewer than %s of the journeys that reached it ended (stuck) · no data: not reached",
		percent(OKSuccess), OKLatencyFactor, millis(OKLatencySlack), percent(DegradedSuccess), percent(HungShare))
}

// describe says what a cell of sh is, in one line.
func describe(sh Shape) string {
	return fmt.Sprintf("Each cell: %d shopper visits/s, %s of baseline, then one fault on one link for %s, "+
		"judged from %s after it began until it was removed.", sh.Rate, sh.Baseline, sh.Fault, Settle)
}

// entry is one journey of one cell as the tables show it.
type entry struct {
	Grade      Grade
	Class      string // the grade as a CSS class
	Text       string // "ok", "degraded~", "error"
	Title      string // the reason and the numbers
	Regression string // "want ok" when worse than expected
	Near       bool
}

func (r Report) entry(c Cell, journey string) entry {
	e := entry{Grade: c.Grade(journey)}
	e.Class, e.Text = string(e.Grade), e.Grade.String()
	if c.Err != "" {
		e.Text, e.Title = "error", c.Err
	} else if j, ok := c.Judgement(journey); ok {
		e.Title = j.Reason + fmt.Sprintf(" · %d of %d journeys ok", j.Succeeded, j.Journeys)
		if j.Reached >= 0 {
			e.Title += fmt.Sprintf(", %d reached it", j.Reached)
		}
		e.Title += fmt.Sprintf(" · p95 %s (baseline %s)", millis(j.P95), millis(j.BaseP95))
		if j.Near != "" {
			e.Near = true
			e.Text += "~"
			e.Title += " · near " + j.Near.String()
		}
	}
	if g, ok := r.regression(c.Link, c.Fault, journey); ok {
		e.Regression = "want " + string(g.Want)
	}
	return e
}

// WriteText writes the matrix as a terminal table: a row per cell, a
// column per journey; "~" marks a grade near a threshold, "!" one worse
// than expected.
func WriteText(w io.Writer, r Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "LINK\tFAULT")
	for _, j := range Journeys() {
		fmt.Fprint(tw, "\t"+strings.ToUpper(j))
	}
	fmt.Fprintln(tw)
	last := ""
	for _, c := range r.Matrix.Cells {
		link := c.Link
		if link == last {
			link = ""
		}
		last = c.Link
		fmt.Fprintf(tw, "%s\t%s", link, c.Fault)
		for _, j := range Journeys() {
			e := r.entry(c, j)
			if e.Regression != "" {
				e.Text += "!"
			}
			fmt.Fprint(tw, "\t"+e.Text)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// WriteMarkdown writes the matrix as Markdown (a CI job summary, a PR
// comment): the thresholds, a table, and the journeys worse than
// expected.
func WriteMarkdown(w io.Writer, r Report) error {
	m := r.Matrix
	var b strings.Builder
	fmt.Fprintf(&b, "### Resilience matrix: %s\n\n", m.Profile)
	fmt.Fprintf(&b, "%s  \n%s. `~` marks a grade near a threshold: another run may give the next one.\n\n", describe(m.Shape), Thresholds())
	b.WriteString("| link | fault |")
	for _, j := range Journeys() {
		b.WriteString(" " + j + " |")
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(Journeys())) + "\n")
	last := ""
	for _, c := range m.Cells {
		link := "`" + c.Link + "`"
		if c.Link == last {
			link = ""
		}
		last = c.Link
		fmt.Fprintf(&b, "| %s | %s |", link, c.Fault)
		for _, j := range Journeys() {
			e := r.entry(c, j)
			text := e.Text
			if e.Regression != "" {
				text = fmt.Sprintf("**%s** (%s)", text, e.Regression)
			}
			b.WriteString(" " + text + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	errs := 0
	for _, c := range m.Cells {
		if c.Err != "" {
			fmt.Fprintf(&b, "- `%s`: error: %s\n", c.Name(), firstLine(c.Err))
			errs++
		}
	}
	if errs > 0 {
		b.WriteString("\n")
	}
	switch {
	case r.Against == "":
	case len(r.Regressions) == 0:
		fmt.Fprintf(&b, "No journey is worse than %s.\n", r.Against)
	default:
		verb := "worse than"
		if !r.Gated {
			verb = "worse than (for contrast, not gated)"
		}
		fmt.Fprintf(&b, "**%s %s %s:**\n\n", journeys(len(r.Regressions)), verb, r.Against)
		for _, g := range r.Regressions {
			fmt.Fprintf(&b, "- `%s`: %s %s, want %s (%s)\n", g.Name(), g.Journey, g.Got, g.Want, g.Reason)
		}
	}
	fmt.Fprintf(&b, "\n%d cells in %s.\n", len(m.Cells), m.Elapsed.Round(time.Second))
	_, err := io.WriteString(w, b.String())
	return err
}

// journeys says n journeys: "1 journey", "2 journeys".
func journeys(n int) string {
	if n == 1 {
		return "1 journey"
	}
	return fmt.Sprintf("%d journeys", n)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

//go:embed matrix.html.tmpl
var htmlText string

var htmlTmpl = template.Must(template.New("matrix").Parse(htmlText))

// htmlRow is one cell of the HTML table.
type htmlRow struct {
	Link    string
	Span    int // rows the link cell spans; 0 for a row that continues a link
	Fault   Fault
	Entries []entry
	Err     string
}

// WriteHTML writes the matrix as one self-contained HTML page: inline CSS,
// a coloured cell per journey with its numbers on hover, the journeys
// worse than expected outlined and listed.
func WriteHTML(w io.Writer, r Report) error {
	m := r.Matrix
	var rows []htmlRow
	for i, c := range m.Cells {
		row := htmlRow{Link: c.Link, Fault: c.Fault, Err: c.Err}
		if i == 0 || m.Cells[i-1].Link != c.Link {
			for _, d := range m.Cells[i:] {
				if d.Link != c.Link {
					break
				}
				row.Span++
			}
		}
		for _, j := range Journeys() {
			row.Entries = append(row.Entries, r.entry(c, j))
		}
		rows = append(rows, row)
	}
	return htmlTmpl.Execute(w, map[string]any{
		"Report": r, "Matrix": m, "Rows": rows, "Journeys": Journeys(),
		"Worse": journeys(len(r.Regressions)), "Describe": describe(m.Shape), "Thresholds": Thresholds(), "Elapsed": m.Elapsed.Round(time.Second).String(),
	})
}
