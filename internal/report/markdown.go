package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/gameday/gameday/internal/judge"
)

// Markdown writes a summary of the suites fit for a CI job summary or a
// pull-request comment (GitHub-flavoured Markdown): the outcome, a line per
// scenario, each scenario's verdict table, and every check that did not pass
// with its evidence. A scenario that passed has its table folded away. It
// returns the writer's error.
func Markdown(w io.Writer, suites []Suite) error {
	var b strings.Builder
	outcomes := make([]judge.Status, len(suites))
	passed := 0
	for i, s := range suites {
		outcomes[i] = s.Outcome()
		if outcomes[i] == judge.Pass {
			passed++
		}
	}
	fmt.Fprintf(&b, "## %s gameday: %s — %d of %d scenarios passed\n\n", mdIcon(overall(outcomes)), statusMark(overall(outcomes)), passed, len(suites))
	if len(suites) > 0 {
		b.WriteString("| | Scenario | Profile | Checks passed | Took |\n|---|---|---|---|---|\n")
		for i, s := range suites {
			fmt.Fprintf(&b, "| %s %s | %s | %s | %d of %d | %s |\n", mdIcon(outcomes[i]), statusMark(outcomes[i]),
				mdCell(s.Name), mdCell(s.Profile), passedOf(s), len(s.Verdicts), fmtDuration(s.Elapsed))
		}
	}
	for i, s := range suites {
		fmt.Fprintf(&b, "\n### %s %s", mdIcon(outcomes[i]), mdText(s.Name))
		if s.Profile != "" {
			fmt.Fprintf(&b, " (profile %s)", mdText(s.Profile))
		}
		b.WriteString("\n\n")
		if off := featuresOff(s.Features); len(off) > 0 {
			for i, f := range off {
				off[i] = mdCode(f)
			}
			fmt.Fprintf(&b, "Features off: %s\n\n", strings.Join(off, ", "))
		}
		if s.Err != "" {
			fmt.Fprintf(&b, "> **Error:** %s\n\n", mdText(oneLine(s.Err)))
		}
		if len(s.Verdicts) > 0 {
			fold := outcomes[i] == judge.Pass
			if fold {
				fmt.Fprintf(&b, "<details><summary>%d of %d checks passed</summary>\n\n", passedOf(s), len(s.Verdicts))
			}
			b.WriteString("| Status | Check | Got | Want |\n|---|---|---|---|\n")
			for _, v := range s.Verdicts {
				fmt.Fprintf(&b, "| %s %s | %s | %s | %s |\n", mdIcon(v.Status), statusMark(v.Status),
					mdCodeCell(v.Check), mdCell(v.GotText()), mdCell(v.Want))
			}
			if fold {
				b.WriteString("\n</details>\n")
			}
		}
		var bad []judge.Verdict
		for _, v := range s.Verdicts {
			if v.Status != judge.Pass {
				bad = append(bad, v)
			}
		}
		if len(bad) > 0 {
			b.WriteString("\n**Checks that did not pass**\n\n")
		}
		for _, v := range bad {
			fmt.Fprintf(&b, "- %s **%s** — got %s, want %s\n", mdIcon(v.Status), mdCode(v.Check), mdText(v.GotText()), mdText(v.Want))
			if v.Reason != "" {
				fmt.Fprintf(&b, "  - %s\n", mdText(oneLine(v.Reason)))
			}
			e := v.Evidence
			if e.Count > 0 {
				fmt.Fprintf(&b, "  - offending: %d of %d\n", e.Count, e.Samples)
			}
			if e.First != "" {
				fmt.Fprintf(&b, "  - first: %s\n", mdText(oneLine(e.First)))
			}
			if e.Worst != "" && e.Worst != e.First {
				fmt.Fprintf(&b, "  - worst: %s\n", mdText(oneLine(e.Worst)))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func passedOf(s Suite) int {
	n := 0
	for _, v := range s.Verdicts {
		if v.Status == judge.Pass {
			n++
		}
	}
	return n
}

// featuresOff names the features a name=on|off,... list turns off.
func featuresOff(features string) []string {
	var off []string
	for _, f := range strings.Split(features, ",") {
		if name, ok := strings.CutSuffix(f, "=off"); ok {
			off = append(off, name)
		}
	}
	return off
}

func mdIcon(s judge.Status) string {
	switch s {
	case judge.Pass:
		return "✅"
	case judge.Fail:
		return "❌"
	}
	return "⚠️"
}

// mdEscaper keeps text from the journal from turning into Markdown or HTML:
// a check named "p95{endpoint:checkout} <= 400ms" must read as written.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", `\<`, ">", `\>`, "|", `\|`, "~", `\~`,
)

// mdText escapes s for Markdown text.
func mdText(s string) string { return mdEscaper.Replace(s) }

// mdCode renders s as code, as a check's name reads best; a name holding a
// backtick falls back to text.
func mdCode(s string) string {
	if s == "" || strings.Contains(s, "`") {
		return mdText(oneLine(s))
	}
	return "`" + oneLine(s) + "`"
}

// mdCodeCell is mdCode for a table cell, where a pipe ends the cell even in
// code unless escaped.
func mdCodeCell(s string) string {
	if s == "" || strings.Contains(s, "`") {
		return mdCell(s)
	}
	return "`" + strings.ReplaceAll(oneLine(s), "|", `\|`) + "`"
}

// mdCell escapes s for a table cell, which must stay on one line.
func mdCell(s string) string {
	if s == "" {
		return " "
	}
	return mdText(oneLine(s))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
