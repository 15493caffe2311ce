package matrix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// Gate is a measured matrix held against the expected one: what the
// renderers show (Report), the file the expectation came from, and the
// cells it has no expectation for.
type Gate struct {
	Report
	// File names the expected matrix as the messages say it
	// ("scenarios/matrix.expected.json").
	File string
	// Unexpected names the cells the expectation of the matrix's profile
	// lacks: they gate nothing.
	Unexpected []string
}

// NewGate holds m against expected (nil: no expected file), read from file.
// A profile the file has an expectation for is gated by it; a profile it
// has none for is compared with resilient's, for contrast, and not gated;
// without either there is no comparison.
func NewGate(m *Matrix, expected *Expected, file string) Gate {
	g := Gate{Report: Report{Matrix: m}, File: file}
	resilient := mockstore.ProfileResilient
	switch {
	case expected != nil && len(expected.Profiles[m.Profile]) > 0:
		g.Against, g.Gated = "the expected matrix of "+m.Profile+" ("+file+")", true
		g.Regressions, g.Unexpected = Compare(m, expected, m.Profile)
	case expected != nil && len(expected.Profiles[resilient]) > 0:
		g.Against = "the expected matrix of " + resilient + " (" + file + ")"
		g.Regressions, _ = Compare(m, expected, resilient)
	}
	return g
}

// WriteTable writes the matrix as the terminal shows it: the table
// (WriteText), then how many cells ran and how long they took.
func (g Gate) WriteTable(w io.Writer) error {
	if err := WriteText(w, g.Report); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d cells in %s; ~ marks a grade near a threshold, ! one worse than expected\n",
		len(g.Matrix.Cells), g.Matrix.Elapsed.Round(time.Second))
	return err
}

// File is one file of a matrix's report: where it goes and what writes it.
type File struct {
	Path  string
	Write func(io.Writer) error
}

// Files are the files of the gate's report: matrix.html, matrix.md and
// matrix.json in dir, and the Markdown again at markdown when it is set.
func (g Gate) Files(dir, markdown string) []File {
	files := []File{
		{filepath.Join(dir, "matrix.html"), func(w io.Writer) error { return WriteHTML(w, g.Report) }},
		{filepath.Join(dir, "matrix.md"), func(w io.Writer) error { return WriteMarkdown(w, g.Report) }},
		{filepath.Join(dir, "matrix.json"), func(w io.Writer) error { return WriteJSON(w, g.Report) }},
	}
	if markdown != "" {
		files = append(files, File{markdown, func(w io.Writer) error { return WriteMarkdown(w, g.Report) }})
	}
	return files
}

// WriteErrors writes a line for each cell that could not be judged, with
// where its files are, and reports whether every cell was judged.
func (g Gate) WriteErrors(w io.Writer) bool {
	ok := true
	for _, cell := range g.Matrix.Cells {
		if cell.Err != "" {
			fmt.Fprintf(w, "ERROR %s: %s; files in %s\n", cell.Name(), firstLine(cell.Err), cell.Dir)
			ok = false
		}
	}
	return ok
}

// WriteVerdict writes what the gate decides: PASS, or FAIL naming every
// journey worse than expected; "not gated" when there was no expectation
// to gate on (with the contrast, if any); and the cells the expectation
// lacks. It reports whether the gate passed: false only for a regression
// that is gated.
func (g Gate) WriteVerdict(w io.Writer) bool {
	passed := true
	switch {
	case g.Against == "":
		fmt.Fprintf(w, "not gated: %s has no expected matrix\n", g.File)
	case !g.Gated:
		fmt.Fprintf(w, "not gated: %s has no expected matrix of %s; %d journeys are worse than resilient's (contrast):\n",
			g.File, g.Matrix.Profile, len(g.Regressions))
		for _, r := range g.Regressions {
			fmt.Fprintf(w, "  %s\n", r)
		}
	case len(g.Regressions) > 0:
		fmt.Fprintf(w, "FAIL: %d journeys worse than %s:\n", len(g.Regressions), g.Against)
		for _, r := range g.Regressions {
			fmt.Fprintf(w, "  %s\n", r)
		}
		passed = false
	default:
		fmt.Fprintf(w, "PASS: no journey worse than %s\n", g.Against)
	}
	if len(g.Unexpected) > 0 {
		fmt.Fprintf(w, "not gated: %s has no expectation for %s (add it with --update-expected)\n",
			g.File, strings.Join(g.Unexpected, ", "))
	}
	return passed
}

// ExpectedAbout heads an expected matrix file written afresh.
const ExpectedAbout = "The expected resilience matrix that `gameday matrix` gates on: per profile, per link × fault, " +
	"the grade each journey must reach at least. \"a|b\": borderline, either passes (the gate holds it to the worse). " +
	"Refresh with `gameday matrix --update-expected`."

// Updated returns the expected file with m's grades as its profile's
// expectation (Update), headed by ExpectedAbout when it had no heading.
func Updated(expected *Expected, m *Matrix) []byte {
	e := Update(expected, m)
	if e.About == "" {
		e.About = ExpectedAbout
	}
	return e.Marshal()
}

// Line is a cell's grades in one line, as it ends: "login ok · browse
// degraded~ · …", or its error.
func Line(c Cell) string {
	if c.Err != "" {
		return "error: " + firstLine(c.Err)
	}
	parts := make([]string, 0, len(c.Journeys))
	for _, j := range c.Journeys {
		s := j.Journey + " " + j.Grade.String()
		if j.Near != "" {
			s += "~"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " · ")
}

// WriteJSON writes the measured matrix with its comparison as indented
// JSON, "->" unescaped.
func WriteJSON(w io.Writer, r Report) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(map[string]any{
		"matrix": r.Matrix, "compared_with": r.Against, "gated": r.Gated, "regressions": r.Regressions,
	}); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}
