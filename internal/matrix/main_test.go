package matrix

import (
	"os"
	"testing"

	"github.com/gameday/gameday/internal/engine"
	"github.com/gameday/gameday/internal/engine/enginetest"
	"github.com/gameday/gameday/mockstore"
)

// TestMain makes this test binary the load child when the engine starts it
// for a cell's load, as the harness starts its own binary.
func TestMain(m *testing.M) { enginetest.Main(m) }

// engineOptions runs the load child as this test binary, on profile.
func engineOptions(tb testing.TB, profile string) engine.Options {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	feats, err := mockstore.Profile(profile)
	if err != nil {
		tb.Fatal(err)
	}
	return engine.Options{
		Features: feats, Profile: profile, Dir: tb.TempDir(), Load: []string{exe},
	}
}
