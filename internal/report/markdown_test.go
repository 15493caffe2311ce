package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/judge"
)

func TestMarkdownGolden(t *testing.T) {
	pass := Suite{Name: "session-store-outage", Profile: "resilient", Features: "session_fallback=on", Elapsed: 75 * time.Second,
		Verdicts: []judge.Verdict{{Check: "no_lost_session", Status: judge.Pass, Want: "no session lost to a store error", Measured: true}}}
	var b bytes.Buffer
	if err := Markdown(&b, append([]Suite{pass}, suites()...)); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.golden.md", b.Bytes())
}

func TestMarkdownEscapes(t *testing.T) {
	s := Suite{Name: "a|b <img src=x>", Profile: "naive", Verdicts: []judge.Verdict{
		{Check: "p95 | <= 400ms", Status: judge.Fail, Want: "p95 <= 400ms | *now*",
			Evidence: judge.Evidence{Count: 1, First: "order [o1](http://x) charged\ntwice"}},
	}}
	var b bytes.Buffer
	if err := Markdown(&b, []Suite{s}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, bad := range []string{"<img", "[o1](", "*now*", "charged\ntwice"} {
		if strings.Contains(strings.ReplaceAll(md, `\`+bad[:1], ""), bad) {
			t.Errorf("the summary holds %q unescaped:\n%s", bad, md)
		}
	}
	// Every table row keeps its four or five cells: no pipe got through.
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := len(strings.Split(strings.ReplaceAll(line, `\|`, ""), "|")) - 2
		if cells != 4 && cells != 5 {
			t.Errorf("table row with %d cells: %s", cells, line)
		}
	}
}

func TestMarkdownNothing(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, nil); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); !strings.Contains(got, "UNKNOWN") || !strings.Contains(got, "0 of 0 scenarios") {
		t.Errorf("a summary of nothing passes: %q", got)
	}
}
