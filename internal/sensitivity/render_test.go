package sensitivity

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/gameday/gameday/internal/judge"
)

func seeded(c Cell, seed int64) Cell {
	c.Seed = &seed
	return c
}

// TestWriteTableSeeds: with several seeds a variant is one line; a variant
// that came out as it must with some seeds and not with others is marked
// missed, and a check that caught it with only some seeds says how many.
func TestWriteTableSeeds(t *testing.T) {
	res := Cell{Scenario: "s", Variant: VariantResilient, Want: judge.Pass, Got: judge.Pass}
	naive := Cell{Scenario: "s", Variant: VariantNaive, Want: judge.Fail, Got: judge.Fail, FailedBy: []string{"forced_logouts"}}
	naiveMore := naive
	naiveMore.FailedBy = []string{"forced_logouts", "no_lost_sessions"}
	off := Cell{Scenario: "s", Variant: "session_fallback=off", Want: judge.Fail, Got: judge.Fail, FailedBy: []string{"forced_logouts"}}
	flaky := off
	flaky.Got, flaky.FailedBy = judge.Pass, nil
	cells := []Cell{
		seeded(res, 1), seeded(res, 2), seeded(res, 3),
		seeded(naive, 1), seeded(naiveMore, 2), seeded(naive, 3),
		seeded(off, 1), seeded(flaky, 2), seeded(off, 3),
	}
	var table, md bytes.Buffer
	WriteTable(&table, cells)
	if err := WriteMarkdown(&md, cells); err != nil {
		t.Fatal(err)
	}
	// Columns are set apart by two spaces or more: read them as " | ".
	cols := regexp.MustCompile(` {2,}`)
	lines := strings.Split(cols.ReplaceAllString(strings.TrimSpace(table.String()), " | "), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header and 3 variant lines:\n%s", table.String())
	}
	for i, want := range []string{
		"resilient | pass | pass ×3",
		"naive | fail | fail ×3 | forced_logouts, no_lost_sessions (1/3)",
		"session_fallback=off | fail | FAIL ×2, PASS ×1 (MISSED) | forced_logouts (2/3)",
	} {
		if !strings.Contains(lines[i+1], want) {
			t.Errorf("line %d %q lacks %q", i+1, lines[i+1], want)
		}
	}
	if !strings.Contains(md.String(), "| session_fallback=off | fail | **fail ×2, pass ×1 (missed)** | forced_logouts (2/3) |") {
		t.Errorf("markdown:\n%s", md.String())
	}

	// One seed: the table reads as it always did.
	table.Reset()
	WriteTable(&table, []Cell{res, naive, flaky})
	if got := cols.ReplaceAllString(table.String(), " | "); !strings.Contains(got, "session_fallback=off | fail | PASS (MISSED)") || strings.Contains(got, "×") {
		t.Errorf("one seed:\n%s", got)
	}
}
