// Package envtest holds what the tests of several packages need of a
// storefront's environment: skipping without a Docker engine, and listing
// what carries a label. (A test binary standing in for the load child is
// enginetest's.)
package envtest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/gameday/gameday/internal/env"
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
