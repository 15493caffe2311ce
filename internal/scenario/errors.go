package scenario

import "github.com/gameday/gameday/internal/yamlpos"

// Error is one problem in a scenario file, at a position when one is known
// (Line and Col 0 otherwise). It renders "file:line:col: msg".
type Error = yamlpos.Error

// Errors is every problem found in a scenario file, in file order. Parse
// returns it as the error; get it back with errors.As. errors.As with an
// *Error target finds the first problem.
type Errors = yamlpos.Errors
