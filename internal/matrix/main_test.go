package matrix

import (
	"os"
	"testing"

	"github.com/gameday/gameday/internal/engine"
	"github.com/gameday/gameday/internal/env/envtest"
	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/mockstore"
)

// childVar makes this test binary run as k6: the engine starts it for each
// cell's load, as the harness starts its own binary.
const childVar = "GAMEDAY_MATRIX_TEST_K6"

func TestMain(m *testing.M) { envtest.Main(m, childVar) }

// engineOptions runs k6 as this test binary, on profile.
func engineOptions(tb testing.TB, profile string) engine.Options {
	tb.Helper()
	tb.Setenv(childVar, "1")
	tb.Setenv(load.LagEnv, "300ms")
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	feats, err := mockstore.Profile(profile)
	if err != nil {
		tb.Fatal(err)
	}
	return engine.Options{
		Features: feats, Profile: profile, Dir: tb.TempDir(), K6: []string{exe},
		Scripts: os.DirFS("../../scenarios"),
	}
}
