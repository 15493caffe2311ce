package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const shopTopology = `name: shop
services:
  - {name: api, kind: process, command: ./api, args: ["{addr}", "{link.db}"], health: {http: /healthz}}
  - {name: db, kind: process, command: ./db, args: ["{addr}"], health: {tcp: true}}
links:
  - {from: client, to: api}
  - {from: api, to: db}
`

// TestParseTopology: a scenario names its topology (a path relative to the
// scenario, or a built-in); its faults are held to that topology's links
// and services, and what needs the storefront is refused on another system.
func TestParseTopology(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("topo/shop.yaml", shopTopology)
	write("topo/broken.yaml", strings.Replace(shopTopology, "kind: process, command: ./db", "kind: proces, command: ./db", 1))
	write("journeys.yaml", "journeys: [{name: j, steps: [{name: s, url: /}]}]\n")
	walletProc := strings.Replace(string(readFile(t, "../../scenarios/topologies/storefront.yaml")), "{name: wallet, kind: builtin}",
		`{name: wallet, kind: process, command: ./w, args: ["{addr}"], health: {http: /healthz}}`, 1)
	write("topo/my-wallet.yaml", string(walletProc))

	const shopHead = "topology: topo/shop.yaml\nload: {journeys: journeys.yaml, duration: 60s}\n"
	tests := []struct {
		name, src string
		want      []string // "" for a valid file; else each problem, in order
		topo      string
	}{
		{"foreign", shopHead + "faults:\n  - {link: api->db, toxic: latency, latency: 1s, start: 10s, duration: 20s}\n  - {service: db, action: kill, at: 20s}\n" +
			"checks:\n  - {metric: http_reqs, window: run, count: '> 0'}\n", nil, "shop"},
		{"default", "load: {duration: 60s}\nchecks:\n  - invariant: money_conserved\n", nil, "storefront"},
		{"built-in by name", "topology: storefront\nload: {duration: 60s}\nfaults:\n  - {service: wallet, action: kill, at: 20s}\nchecks:\n  - invariant: money_conserved\n", nil, "storefront"},
		{"replaced wallet keeps the storefront's checks", "topology: topo/my-wallet.yaml\nload: {duration: 60s}\nchecks:\n  - invariant: money_conserved\n  - experience: errors_have_retry_after\n", nil, "storefront"},
		{"link of another topology", shopHead + "faults:\n  - {link: checkout->wallet, toxic: down, start: 10s, duration: 20s}\nchecks:\n  - {metric: http_reqs, window: run, count: '> 0'}\n",
			[]string{`t.yaml:4:12: unknown link "checkout->wallet" (allowed: client->api, api->db)`}, ""},
		{"crash of no service", shopHead + "faults:\n  - {service: wallet, action: kill, at: 20s}\nchecks:\n  - {metric: http_reqs, window: run, count: '> 0'}\n",
			[]string{`t.yaml:4:15: unknown service "wallet" (allowed: api, db)`}, ""},
		{"storefront checks on another system", shopHead + "checks:\n  - invariant: money_conserved\n  - experience: forced_logouts\n",
			[]string{"t.yaml:4:5: invariant checks judge the storefront from its own stores and audits, and topology shop is not the storefront (it has no service sessions, otp, wallet, auth, checkout, food, gateway)",
				"t.yaml:5:5: experience checks judge"}, ""},
		{"storefront journeys on another system", "topology: topo/shop.yaml\nload: {duration: 60s}\nchecks:\n  - {metric: http_reqs, window: run, count: '> 0'}\n",
			[]string{"t.yaml:2:7: load.journeys: the storefront's shoppers need the storefront, and topology shop is not the storefront"}, ""},
		{"maintenance without the gateway", shopHead + "faults:\n  - {maintenance: null, start: 10s, duration: 20s}\nchecks:\n  - {metric: http_reqs, window: run, count: '> 0'}\n",
			[]string{"t.yaml:4:6: maintenance is the storefront gateway's switch, and topology shop has no builtin gateway"}, ""},
		{"topology with problems", "topology: topo/broken.yaml\nload: {duration: 60s}\nchecks:\n  - invariant: money_conserved\n",
			[]string{"t.yaml:1:11: topology topo/broken.yaml has problems, each listed with its place in " + filepath.Join(dir, "topo/broken.yaml"),
				filepath.Join(dir, "topo/broken.yaml") + `:4:22: service db: unknown service kind "proces": did you mean "process"?`,
				filepath.Join(dir, "topo/broken.yaml") + `:7:21: link to "db": unknown service "db" (allowed: api)`}, ""},
		{"no such topology file", "topology: topo/none.yaml\nload: {duration: 60s}\nchecks:\n  - invariant: money_conserved\n",
			[]string{"t.yaml:1:11: topology: read topology: open " + filepath.Join(dir, "topo/none.yaml") + ": no such file or directory"}, ""},
		{"unknown built-in", "topology: storfront\nload: {duration: 60s}\nchecks:\n  - invariant: money_conserved\n",
			[]string{`t.yaml:1:11: topology: unknown built-in topology "storfront": did you mean "storefront"? (allowed: storefront), or the path of a topology file (.yaml), relative to the scenario`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := Parse(filepath.Join(dir, "t.yaml"), []byte(tt.src))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if sc.Topology == nil || sc.Topology.Name != tt.topo {
					t.Errorf("topology %+v, want %s", sc.Topology, tt.topo)
				}
				return
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("accepted, or not Errors: %v", err)
			}
			if len(es) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(es), len(tt.want), err)
			}
			for i := range min(len(es), len(tt.want)) {
				got := strings.ReplaceAll(es[i].Error(), filepath.Join(dir, "t.yaml"), "t.yaml")
				if !strings.Contains(got, tt.want[i]) {
					t.Errorf("problem %d:\n got %s\nwant %s", i, got, tt.want[i])
				}
			}
		})
	}
}
