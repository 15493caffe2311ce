// Package enginetest holds what the tests of packages that run the engine
// need: letting a test binary stand in for the load child, as the harness
// starts its own binary for the load.
package enginetest

import (
	"os"
	"testing"

	"github.com/gameday/gameday/internal/load/runner"
)

// Main is a TestMain for tests whose harness starts the load child as
// their own test binary: with childVar set to "1" the binary is the child
// (runner.Main with the arguments the harness gives it); otherwise it runs
// the tests.
func Main(m *testing.M, childVar string) {
	if os.Getenv(childVar) == "1" {
		os.Exit(runner.Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
