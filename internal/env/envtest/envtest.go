// Package envtest holds what the tests of several packages need of a
// storefront's environment: skipping without a Docker engine, listing what
// carries a label, and letting a test binary stand in for the load child.
package envtest

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/load/runner"
)

// DockerOrSkip skips tb, saying why, when no Docker engine answers; any
// other failure to reach one fails it.
func DockerOrSkip(tb testing.TB) {
	tb.Helper()
	if err := env.CheckDocker(context.Background()); errors.Is(err, env.ErrNoDocker) {
		tb.Skipf("needs a Docker engine: %v", err)
	} else if err != nil {
		tb.Fatal(err)
	}
}

// Labelled returns the containers and networks labelled label ("key=value")
// that exist, as "container <names>" and "network <name>".
func Labelled(tb testing.TB, label string) []string {
	tb.Helper()
	c, err := client.New(client.FromEnv)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	f := client.Filters{}.Add("label", label)
	cs, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, ct := range cs.Items {
		out = append(out, "container "+strings.Join(ct.Names, ","))
	}
	ns, err := c.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		tb.Fatal(err)
	}
	for _, n := range ns.Items {
		out = append(out, "network "+n.Name)
	}
	return out
}

// Main is a TestMain for tests whose harness starts the load child as
// their own test binary (engine.Options.Load = [os.Executable()]): started
// with the child's arguments (--config FILE, never a test flag) the binary
// is the child (runner.Main); otherwise it runs the tests. Nothing is read
// from the environment, so tests that start children may run in parallel.
func Main(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "--config" {
		os.Exit(runner.Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
