package storefront_test

import (
	"slices"
	"testing"

	"github.com/gameday/gameday/internal/load/storefront"
	"github.com/gameday/gameday/internal/scenario"
)

// TestEnvNamesAsScenarios: the variables a scenario's load.env may set are
// exactly those the storefront's journeys read, so a file the parser accepts
// never fails in the load child, and none of the journeys' variables is
// refused by the parser.
func TestEnvNamesAsScenarios(t *testing.T) {
	got, want := slices.Sorted(slices.Values(scenario.StorefrontEnv)), slices.Sorted(slices.Values(storefront.EnvNames()))
	if !slices.Equal(got, want) {
		t.Errorf("scenario.StorefrontEnv %v; the storefront's journeys read %v", got, want)
	}
}
