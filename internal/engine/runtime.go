package engine

import (
	"context"
	"errors"
	"fmt"
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

// ErrCrashInproc is why a scenario with crash faults cannot run in-process:
// a service there is no process of its own that could be killed.
var ErrCrashInproc = errors.New("crash faults need --runtime docker (in-process, a service is no process of its own to kill)")

// CheckRuntime returns nil when sc can run in runtime ("" is inproc). It
// refuses an unknown runtime, a topology with a service the runtime cannot
// run (topology.CheckRuntime), and a scenario with crash faults in a
// runtime whose services cannot crash; the error wraps ErrScenario and names the
// first crash fault.
func CheckRuntime(sc *scenario.Scenario, runtime string) error {
	if sc.Topology != nil && (runtime == "" || runtime == RuntimeInproc || runtime == RuntimeDocker) {
		if err := topology.CheckRuntime(sc.Topology, runtime); err != nil {
			return fmt.Errorf("%w: %w", ErrScenario, err)
		}
	}
	switch runtime {
	case "", RuntimeInproc:
		for _, f := range sc.Faults {
			if f.Kind == scenario.FaultCrash {
				return fmt.Errorf("%w: %s:%d: %s: %w", ErrScenario, sc.File, f.Pos.Line, f, ErrCrashInproc)
			}
		}
		return nil
	case RuntimeDocker:
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

// newInjector returns the injector for e: one that crashes e's services
// when e can (env.Crasher).
func newInjector(e env.Env) *Injector {
	in := NewInjector(e.Info())
	if c, ok := e.(env.Crasher); ok {
		in.crasher = c
	}
	return in
}
