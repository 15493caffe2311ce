package matrix

import (
	"os"
	"testing"

	"github.com/gameday/gameday/internal/engine"
	"github.com/gameday/gameday/internal/engine/enginetest"
	"github.com/gameday/gameday/mockstore"
)

// childVar makes this test binary run as the load child: the engine starts it for each
// cell's load, as the harness starts its own binary.
const childVar = "GAMEDAY_MATRIX_TEST_LOAD"

func TestMain(m *testing.M) { enginetest.Main(m, childVar) }

// engineOptions runs the load child as this test binary, on profile.
func engineOptions(tb testing.TB, profile string) engine.Options {
	tb.Helper()
	tb.Setenv(childVar, "1")
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
