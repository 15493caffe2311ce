package sensitivity

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Line is a cell as it ends, in one line of progress: "[3/20] scenario
// variant seed 7 ok: fail by no_double_charge (41s)".
func Line(n, total int, c Cell) string {
	return fmt.Sprintf("[%d/%d] %-32s %-28s%s %s (%s)", n, total, c.Scenario, c.Variant, seedText(c),
		CellText(c), c.Elapsed.Round(time.Second))
}

// WriteTable writes the matrix as a table: a block per scenario, a row per
// variant (its seeds together).
func WriteTable(w io.Writer, cells []Cell) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tVARIANT\tWANT\tGOT\tCAUGHT BY / ERROR")
	for _, row := range Rows(cells) {
		for i, g := range Variants(row) {
			name := ""
			if i == 0 {
				name = g[0].Scenario
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, g[0].Variant, g[0].Want, groupGot(g, strings.ToUpper, " (MISSED)"), groupDetail(g))
		}
	}
	tw.Flush()
}

// WriteMarkdown writes the matrix as a Markdown table.
func WriteMarkdown(w io.Writer, cells []Cell) error {
	fmt.Fprintln(w, "| scenario | variant | want | got | caught by |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, row := range Rows(cells) {
		for i, g := range Variants(row) {
			name := ""
			if i == 0 {
				name = "`" + g[0].Scenario + "`"
			}
			got := groupGot(g, func(s string) string { return "**" + s }, " (missed)**")
			_, err := fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", name, g[0].Variant, g[0].Want, got, strings.ReplaceAll(groupDetail(g), "|", "\\|"))
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteJSON writes every cell as indented JSON: {"cells": [...]}.
func WriteJSON(w io.Writer, cells []Cell) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(map[string]any{"cells": cells})
}

// WriteOutcome writes whether every cell came out as it must: a PASS line,
// or FAIL with each cell that did not, what it wanted and got, and where
// its files are. It reports whether every cell did.
func WriteOutcome(w io.Writer, cells []Cell) bool {
	missed := Missed(cells)
	if len(missed) == 0 {
		fmt.Fprintf(w, "PASS: every scenario passes on resilient and catches naive and each guarded feature off\n")
		return true
	}
	fmt.Fprintf(w, "FAIL: %d of %d cells did not come out as they must:\n", len(missed), len(cells))
	for _, m := range missed {
		fmt.Fprintf(w, "  %s on %s%s: want %s, got %s", m.Scenario, m.Variant, seedText(m), m.Want, m.Got)
		if m.Err != "" {
			fmt.Fprintf(w, " (%s)", m.Err)
		}
		fmt.Fprintf(w, "; files in %s\n", m.Dir)
	}
	return false
}

// groupGot is what a variant's cells got: "fail", or with several seeds
// "fail ×5", "pass ×3, fail ×2". When any cell did not come out as it must
// the text is passed through mark and followed by missed.
func groupGot(g []Cell, mark func(string) string, missed string) string {
	counts := map[string]int{}
	var order []string
	ok := true
	for _, c := range g {
		k := string(c.Got)
		if c.Err != "" {
			k = "error"
		}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
		ok = ok && c.OK()
	}
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = k
		if len(g) > 1 {
			parts[i] = fmt.Sprintf("%s ×%d", k, counts[k])
		}
	}
	s := strings.Join(parts, ", ")
	if !ok {
		s = mark(s) + missed
	}
	return s
}

// groupDetail is what caught a variant: the checks that failed, in the
// order they first did, each with how many of the seeds it caught when
// that is not all of them; or the first error.
func groupDetail(g []Cell) string {
	counts := map[string]int{}
	var order []string
	for _, c := range g {
		if c.Err != "" {
			return firstLine(c.Err)
		}
		for _, f := range c.FailedBy {
			if counts[f] == 0 {
				order = append(order, f)
			}
			counts[f]++
		}
	}
	for i, f := range order {
		if counts[f] < len(g) {
			order[i] = fmt.Sprintf("%s (%d/%d)", f, counts[f], len(g))
		}
	}
	return strings.Join(order, ", ")
}

// seedText names a cell's seed when the matrix runs several.
func seedText(c Cell) string {
	if c.Seed == nil {
		return ""
	}
	return fmt.Sprintf(" seed %d", *c.Seed)
}
