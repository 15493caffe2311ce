package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/internal/topology"
)

// Runtimes a storefront runs in.
const (
	RuntimeInproc = "inproc" // every service in this process; the default
	RuntimeDocker = "docker" // a container per service, through testcontainers-go
)

// Runtimes returns the runtimes, the default first.
func Runtimes() []string { return []string{RuntimeInproc, RuntimeDocker} }

// CheckRuntime returns nil when sc can run in runtime ("" is inproc). It
// refuses an unknown runtime and a topology with a service the runtime
// cannot run (topology.CheckRuntime); the error wraps ErrScenario. Both
// runtimes run crash faults: in-process, a service a scenario crashes runs
// as a child process (see crashed).
func CheckRuntime(sc *scenario.Scenario, runtime string) error {
	if sc.Topology != nil && (runtime == "" || runtime == RuntimeInproc || runtime == RuntimeDocker) {
		if err := topology.CheckRuntime(sc.Topology, runtime); err != nil {
			return fmt.Errorf("%w: %w", ErrScenario, err)
		}
	}
	switch runtime {
	case "", RuntimeInproc, RuntimeDocker:
		return nil
	}
	return fmt.Errorf("%w: runtime %q: allowed values: %s", ErrScenario, runtime, strings.Join(Runtimes(), ", "))
}

// StartEnv starts the storefront in runtime ("" is inproc) and returns once
// it is ready; see env.StartInproc and env.StartDocker. Without a Docker
// engine, the docker runtime's error wraps env.ErrNoDocker.
func StartEnv(ctx context.Context, runtime string, opts env.Options) (env.Env, error) {
	switch runtime {
	case "", RuntimeInproc:
		return started(env.StartInproc(ctx, opts))
	case RuntimeDocker:
		return started(env.StartDocker(ctx, opts))
	}
	return nil, fmt.Errorf("runtime %q: allowed values: %s", runtime, strings.Join(Runtimes(), ", "))
}

// started returns e as an env.Env, or nil with err: a nil *env.Inproc in
// an interface would not be nil.
func started[E env.Env](e E, err error) (env.Env, error) {
	if err != nil {
		return nil, err
	}
	return e, nil
}

// startEnvFor is what Run starts: sc's environment in runtime, once sc can run
// there (CheckRuntime's error otherwise, before anything starts).
func startEnvFor(ctx context.Context, sc *scenario.Scenario, runtime string, opts env.Options) (env.Env, error) {
	if err := CheckRuntime(sc, runtime); err != nil {
		return nil, err
	}
	return StartEnv(ctx, runtime, opts)
}

// crashed returns the services sc's crash faults name, each once, in the
// order they first appear: in-process, those run as child processes
// (env.Options.Crashable).
func crashed(sc *scenario.Scenario) []string {
	var out []string
	for _, f := range sc.Faults {
		if f.Kind == scenario.FaultCrash && !slices.Contains(out, f.Service) {
			out = append(out, f.Service)
		}
	}
	return out
}

// newInjector returns the injector for e: one that crashes e's services
// when e can (env.Crasher).
func newInjector(e env.Env) *Injector {
	in := NewInjector(e.Info())
	if c, ok := e.(env.Crasher); ok {
		in.crasher = c
	}
	return in
}
