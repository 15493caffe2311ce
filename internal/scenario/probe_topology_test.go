package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProbePlaceholdersOfTopology: on a system of its own an http probe
// names its services ({service.NAME}, direct) and its entries
// ({entry.NAME}, through the client's link); the storefront's placeholders
// are refused there with the allowed ones, and the storefront keeps its
// own besides the new forms.
func TestProbePlaceholdersOfTopology(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"shop.topology.yaml": shopTopology,
		"journeys.yaml":      "journeys: [{name: j, steps: [{name: s, url: /}]}]\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const shop = "topology: shop.topology.yaml\nload: {journeys: journeys.yaml, duration: 60s}\nchecks:\n"
	const storefront = "load: {duration: 60s}\nchecks:\n"
	for _, tc := range []struct {
		name, src string
		want      string // "" accepted; else in the error
	}{
		{"entry", shop + "  - {probe: http, url: \"{entry.api}/healthz\", every: 1s, expect: status == 200}\n", ""},
		{"service", shop + "  - {probe: http, url: \"{service.db}/x\", when: after, expect: status == 200}\n", ""},
		{"toxiproxy", shop + "  - {probe: http, url: \"{toxiproxy}/proxies\", when: after, expect: status == 200}\n", ""},
		{"storefront's gateway elsewhere", shop + "  - {probe: http, url: \"{gateway}/healthz\", when: after, expect: status == 200}\n",
			`t.yaml:4:25: url: unknown placeholder "{gateway}" (allowed: {toxiproxy}, {entry.api}, {service.api}, {service.db})`},
		{"no such service", shop + "  - {probe: http, url: \"{service.wallet}/x\", when: after, expect: status == 200}\n",
			`unknown placeholder "{service.wallet}"`},
		{"entry that is no entry", shop + "  - {probe: http, url: \"{entry.db}/x\", when: after, expect: status == 200}\n",
			`unknown placeholder "{entry.db}"`},
		{"storefront keeps its own", storefront + "  - {probe: http, url: \"{gateway}/healthz\", when: after, expect: status == 200}\n", ""},
		{"storefront's service", storefront + "  - {probe: http, url: \"{service.wallet}/healthz\", when: after, expect: status == 200}\n", ""},
		{"storefront's entry", storefront + "  - {probe: http, url: \"{entry.gateway}/healthz\", when: after, expect: status == 200}\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(filepath.Join(dir, "t.yaml"), []byte(tc.src))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("accepted, or not Errors: %v", err)
			}
			if got := strings.ReplaceAll(err.Error(), filepath.Join(dir, "t.yaml"), "t.yaml"); !strings.Contains(got, tc.want) {
				t.Errorf("got %s\nwant %s", got, tc.want)
			}
		})
	}
}
