package journeyfile

import (
	"errors"

	"github.com/gameday/gameday/internal/yamlpos"
)

// Error is one problem in a journey file, at a position when one is known
// (Line and Col 0 otherwise). Parse joins every problem of a file with
// errors.Join; errors.As with an *Error target finds the first.
type Error = yamlpos.Error

// join sorts problems by position and joins them; nil when there are none.
func join(problems []*Error) error {
	yamlpos.Sort(problems)
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}
