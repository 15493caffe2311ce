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
// their own test binary (engine.Options.Load = [os.Executable()]): started
// with the child's arguments (--config FILE, never a test flag) the binary
// is the child (runner.Main); otherwise it runs the tests. Nothing is read
// from the environment, so tests that start children may run in parallel.
func Main(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "--config" {
		os.Exit(runner.Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
