package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/gameday/gameday/internal/env"
)

// runClean is `gameday clean`: it removes the containers and networks that
// earlier docker runs left behind (a run killed with SIGKILL cannot clean
// up), found by their label, and names each on stdout. Runs whose process
// is still alive on this host are spared; images are kept. Exit codes: 0
// done (nothing to remove included), 2 bad usage, 3 no Docker engine
// answers or something could not be removed.
func runClean(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gameday clean", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: gameday clean\n\nRemoves every container and network labelled %s=1 whose run's process is gone.\n", env.DockerLabel)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, "clean", false, stderr); !ok {
		return code
	}
	removed, err := env.DockerClean(ctx)
	for _, r := range removed {
		fmt.Fprintf(stdout, "removed %s\n", r)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gameday clean: %v\n", err)
		return exitEnvironment
	}
	if len(removed) == 0 {
		fmt.Fprintln(stdout, "nothing to remove")
	}
	return exitOK
}
