package env

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gameday/gameday/internal/topology"
)

// serveRestartDelay keeps a killed or restarted storefront service down as
// long as the docker runtime's does while its container starts again
// (2.3–2.7 s measured here for the wallet), so that a crash fault means the
// same outage in both runtimes: a `gameday serve` child alone is back in
// ~20 ms, less than one shopper's request apart. At 1 s the gateway's
// retries (retry_budget) hid the outage, and wallet-crash passed with
// honest_errors off in-process while it failed in containers.
const serveRestartDelay = 2500 * time.Millisecond

// serveSpec runs svc, a builtin service of topo, as `gameday serve`, a
// child process, configured as in every runtime (Configure, Builtin.Args)
// with its store in the run directory (so that it survives a crash) and
// its audit on a second address. serve is the command that runs `gameday
// serve` (nil: this executable's).
func serveSpec(topo *topology.Topology, svc topology.Service, opts Options, serve []string) ProcessSpec {
	return ProcessSpec{
		Health:       Health{HTTP: "/healthz"}, // the service's own health answer, on its API
		RestartDelay: serveRestartDelay,
		Audit:        true,
		Command: func(w Wiring) (Command, error) {
			cmd := serve
			if len(cmd) == 0 {
				exe, err := os.Executable()
				if err != nil {
					return Command{}, err
				}
				cmd = []string{exe, "serve"}
			}
			cfg, err := Configure(topo, svc, opts, w.Dir, func(l topology.Link) string { return w.Links[l.To] })
			if err != nil {
				return Command{}, err
			}
			args := append(cmd[1:len(cmd):len(cmd)], svc.Builtin, "--listen", w.Addr, "--audit-listen", w.AuditAddr, "--log-level", "warn")
			return Command{Path: cmd[0], Args: append(args, cfg.Args()...)}, nil
		},
	}
}

// topologySpec runs svc, a process service of topo, as its file says: its
// command, args and env with the placeholders resolved from the wiring
// ({port}, {addr}, {dir}, {link.NAME}, and {audit_addr} when it serves the
// storefront's audits), in its directory (relative to the topology file's),
// checked as its health says.
func topologySpec(topo *topology.Topology, svc topology.Service) ProcessSpec {
	return ProcessSpec{
		Health: Health{HTTP: svc.Health.HTTP, TCP: svc.Health.TCP},
		Audit:  svc.ServesAudit(),
		Command: func(w Wiring) (Command, error) {
			// {dir} must name the run directory from the service's own
			// working directory too, which is not the harness's.
			runDir, err := filepath.Abs(w.Dir)
			if err != nil {
				return Command{}, fmt.Errorf("service %s: run directory: %w", svc.Name, err)
			}
			v, err := topology.ValuesFor(w.Addr, w.AuditAddr, runDir, w.Links)
			if err != nil {
				return Command{}, err
			}
			x, err := svc.Expand(v)
			if err != nil {
				return Command{}, fmt.Errorf("service %s: %w", svc.Name, err)
			}
			dir := x.Dir
			if !filepath.IsAbs(dir) {
				base := "."
				if topo.File != "" {
					base = filepath.Dir(topo.File)
				}
				if dir, err = filepath.Abs(filepath.Join(base, dir)); err != nil {
					return Command{}, fmt.Errorf("service %s: directory: %w", svc.Name, err)
				}
			}
			return Command{Path: x.Command, Args: x.Args, Env: x.Env, Dir: dir}, nil
		},
	}
}
