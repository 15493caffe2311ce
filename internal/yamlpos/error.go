package yamlpos

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a file, at a position when one is known (Line and
// Col 0 otherwise).
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

// Error renders "file:line:col: msg", leaving out what is unknown.
func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Sort orders problems by position, line then column, keeping the order in
// which they were found among problems at the same position.
func Sort(es []*Error) {
	slices.SortStableFunc(es, func(a, b *Error) int {
		if c := cmp.Compare(a.Line, b.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Col, b.Col)
	})
}

// Allowed renders a list of allowed values: "(allowed: a, b, c)".
func Allowed(values []string) string {
	return "(allowed: " + strings.Join(values, ", ") + ")"
}

// Unknown renders the message for a value that is not one of values, with a
// suggestion when one is close: `unknown toxic "latncy": did you mean
// "latency"? (allowed: ...)`.
func Unknown(what, got string, values []string) string {
	if s := Suggest(got, values); s != "" {
		return fmt.Sprintf("unknown %s %q: did you mean %q? %s", what, got, s, Allowed(values))
	}
	return fmt.Sprintf("unknown %s %q %s", what, got, Allowed(values))
}

// Suggest returns the value closest to got when it is close enough to be a
// likely typo (a case slip counts as one), and "" otherwise.
func Suggest(got string, values []string) string {
	best, bestD := "", -1
	g := strings.ToLower(got)
	for _, v := range values {
		d := editDistance(g, strings.ToLower(v))
		if bestD < 0 || d < bestD {
			best, bestD = v, d
		}
	}
	if bestD < 0 || bestD == 0 && best == got {
		return ""
	}
	limit := min(1+len([]rune(got))/4, 3)
	if bestD > limit || bestD >= len([]rune(best)) {
		return ""
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b, in
// runes: insertions, deletions, substitutions and swaps of neighbours.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 200 || len(rb) > 200 {
		return max(len(ra), len(rb)) // not a typo; keep the work bounded
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// Errors is every problem found in a file, in file order: what a parser
// returns as its error. errors.As with an *Error target finds the first.
type Errors []*Error

// Error renders one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, so that errors.As reaches each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
