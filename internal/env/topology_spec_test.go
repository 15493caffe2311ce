package env

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gameday/gameday/internal/topology"
)

// TestTopologySpecDir: a process service runs in its own directory (the
// topology file's), so {dir} must name the run directory absolutely even
// when the harness was given a relative one (gameday run's default,
// reports/...); otherwise the service opens its stores in the wrong place.
func TestTopologySpecDir(t *testing.T) {
	src := []byte(`name: shop
services:
  - {name: api, kind: process, command: ./api, args: [-db, "{dir}/api.db", -up, "{link.db}"], health: {http: /healthz}}
  - {name: db, kind: process, command: ./db, args: ["{addr}"], dir: sub, health: {tcp: true}}
links:
  - {from: client, to: api}
  - {from: api, to: db}
`)
	file := filepath.Join(t.TempDir(), "shop.topology.yaml")
	topo, err := topology.Parse(file, src)
	if err != nil {
		t.Fatal(err)
	}
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, runDir, want string }{
		{"relative", filepath.Join("reports", "run-1"), filepath.Join(cwd, "reports", "run-1", "api.db")},
		{"absolute", "/var/run-2", "/var/run-2/api.db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, _ := topo.Service("api")
			cmd, err := topologySpec(topo, svc).Command(Wiring{Service: "api", Addr: "127.0.0.1:1", Dir: tc.runDir,
				Links: map[string]string{"db": "http://127.0.0.1:2"}})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"-db", tc.want, "-up", "http://127.0.0.1:2"}
			if !slices.Equal(cmd.Args, want) || cmd.Dir != filepath.Dir(file) {
				t.Errorf("args %q in %s, want %q in %s", cmd.Args, cmd.Dir, want, filepath.Dir(file))
			}
		})
	}
}
