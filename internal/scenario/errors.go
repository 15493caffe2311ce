package scenario

import (
	"strings"

	"github.com/gameday/gameday/internal/yamlpos"
)

// Error is one problem in a scenario file, at a position when one is known
// (Line and Col 0 otherwise). It renders "file:line:col: msg".
type Error = yamlpos.Error

// Errors is every problem found in a scenario file, in file order. Parse
// returns it as the error; get it back with errors.As. errors.As with an
// *Error target finds the first problem.
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
