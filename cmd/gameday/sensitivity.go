package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/engine"
	"github.com/gameday/gameday/internal/report"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/internal/sensitivity"
	"github.com/gameday/gameday/internal/topology"
)

// sensitivityConfig is what `gameday sensitivity` reads from its flags.
type sensitivityConfig struct {
	Runtime  string
	Quick    bool
	Seed     *int64
	Seeds    int
	Out      string
	Parallel int
	JSON     string
	Markdown string
	Verbose  bool
	Args     []string
}

func (c *sensitivityConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Runtime, "runtime", engine.RuntimeInproc, "where the storefront runs: "+strings.Join(engine.Runtimes(), ", "))
	fs.BoolVar(&c.Quick, "quick", false, "compress each timeline for fast feedback")
	fs.Func("seed", "seed for the storefront's data (default: each scenario's own)", func(s string) error {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return errors.New("want an integer")
		}
		c.Seed = &n
		return nil
	})
	fs.IntVar(&c.Seeds, "seeds", 1, "run every cell this many times, with the seed, the seed+1, ...: a cell must come out as it must with each")
	fs.StringVar(&c.Out, "out", "", "directory for the cells' files (default reports/<time>-sensitivity/)")
	fs.IntVar(&c.Parallel, "parallel", 2, "cells run at once, each in its own storefront")
	fs.StringVar(&c.JSON, "json", "", "write every cell as JSON to this file")
	fs.StringVar(&c.Markdown, "markdown", "", "write the matrix as a Markdown table to this file")
	fs.BoolVar(&c.Verbose, "v", false, "log what the harness and the services do to stderr")
}

// Validate checks the flags.
func (c *sensitivityConfig) Validate() error {
	if !slices.Contains(engine.Runtimes(), c.Runtime) {
		return fmt.Errorf("--runtime %q: allowed values: %s", c.Runtime, strings.Join(engine.Runtimes(), ", "))
	}
	if c.Parallel < 1 || c.Parallel > 16 {
		return fmt.Errorf("--parallel %d: want 1 to 16", c.Parallel)
	}
	if c.Seeds < 1 || c.Seeds > 20 {
		return fmt.Errorf("--seeds %d: want 1 to 20", c.Seeds)
	}
	return nil
}

// runSensitivity is `gameday sensitivity`: every scenario named (default:
// every built-in) runs on the resilient profile, where it must pass, on the
// naive profile and with each feature it guards turned off, where it must
// fail. A cell that does not come out so fails the command (exit 1): that
// scenario does not check what it claims to.
func runSensitivity(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sensitivity", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gameday sensitivity [flags] [scenario file | directory | built-in name]...")
		fmt.Fprintln(stderr, "\nRuns each scenario on resilient (must pass), naive and with each guarded feature")
		fmt.Fprintln(stderr, "off (must fail). Without arguments: every built-in scenario. Exit 1 when a cell")
		fmt.Fprintln(stderr, "does not come out so.")
		fs.PrintDefaults()
	}
	var c sensitivityConfig
	c.register(fs)
	if code, ok := parseFlags(fs, args, "", true, stderr); !ok {
		return code
	}
	c.Args = fs.Args()
	if err := c.Validate(); err != nil {
		fmt.Fprintf(stderr, "gameday sensitivity: %v\n", err)
		return exitUsage
	}
	if len(c.Args) == 0 {
		c.Args = scenario.Builtins()
	}
	scs, ok := loadScenarios(c.Args, "sensitivity", stderr)
	if !ok {
		return exitUsage
	}
	for _, sc := range scs {
		if err := engine.CheckRuntime(sc, c.Runtime); err != nil {
			fmt.Fprintf(stderr, "gameday sensitivity: %v\n", err)
			return exitUsage
		}
	}
	for _, sc := range scs {
		if len(sc.Guards) == 0 {
			fmt.Fprintf(stderr, "gameday sensitivity: %s guards no feature: nothing to prove (add guards: [...])\n", sc.File)
			return exitUsage
		}
	}
	level := slog.LevelWarn
	if c.Verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	out := report.NewLayout(c.Out, time.Now()).Dir("sensitivity")
	total := 0
	for _, sc := range scs {
		total += len(sensitivity.Cells(sc)) * c.Seeds
	}
	seeds := ""
	if c.Seeds > 1 {
		seeds = fmt.Sprintf(" (%d seeds each)", c.Seeds)
	}
	fmt.Fprintf(stdout, "sensitivity: %d scenarios, %d cells%s, %d at a time, files in %s\n", len(scs), total, seeds, c.Parallel, out)
	start := time.Now()
	n := 0
	cells, err := sensitivity.Run(ctx, scs, engine.Options{
		Runtime: c.Runtime, Seed: c.Seed, Quick: c.Quick, Dir: out, Logger: logger,
	}, c.Parallel, c.Seeds, func(cell sensitivity.Cell) {
		n++
		fmt.Fprintln(stdout, sensitivity.Line(n, total, cell))
	})
	fmt.Fprintln(stdout)
	sensitivity.WriteTable(stdout, cells)
	fmt.Fprintf(stdout, "\n%d cells in %s\n", len(cells), time.Since(start).Round(time.Second))
	code := exitOK
	if c.JSON != "" {
		if werr := report.WriteFile(c.JSON, func(w io.Writer) error { return sensitivity.WriteJSON(w, cells) }); werr != nil {
			fmt.Fprintf(stderr, "gameday sensitivity: %v\n", werr)
			code = exitFail
		}
	}
	if c.Markdown != "" {
		if werr := report.WriteFile(c.Markdown, func(w io.Writer) error { return sensitivity.WriteMarkdown(w, cells) }); werr != nil {
			fmt.Fprintf(stderr, "gameday sensitivity: %v\n", werr)
			code = exitFail
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "gameday sensitivity: interrupted; %d of %d cells ran\n", len(cells), total)
		return exitInterrupted
	}
	if !sensitivity.WriteOutcome(stdout, cells) {
		return exitFail
	}
	return code
}

// loadScenarios reads and validates every scenario args name (files,
// directories, built-in names), writing each problem to stderr; ok is false
// when there was any.
func loadScenarios(args []string, cmd string, stderr io.Writer) (scs []*scenario.Scenario, ok bool) {
	ok = true
	for _, arg := range args {
		srcs, err := scenario.Find(arg)
		if err != nil {
			fmt.Fprintf(stderr, "gameday %s: %v\n", cmd, err)
			ok = false
			continue
		}
		companions := 0
		for _, src := range srcs {
			if kind := companionKind(src); kind != "" {
				companions++
				// A directory may hold a scenario's topology and journeys
				// beside it; a file named alone must be a scenario.
				if filepath.Clean(src.File) == filepath.Clean(arg) {
					fmt.Fprintf(stderr, "gameday %s: %s is a %s file, not a scenario: name the scenario that uses it\n", cmd, arg, kind)
					ok = false
				}
				continue
			}
			sc, err := src.Parse()
			if err != nil {
				fmt.Fprintln(stderr, err)
				ok = false
				continue
			}
			scs = append(scs, sc)
		}
		if companions == len(srcs) && filepath.Clean(srcs[0].File) != filepath.Clean(arg) {
			// Nothing to run is not a pass.
			fmt.Fprintf(stderr, "gameday %s: %s: no scenario in the directory, only the topology and journey files scenarios use\n", cmd, arg)
			ok = false
		}
	}
	return scs, ok
}

// companionKind returns "topology" or "journey" when src is a file that a
// scenario uses rather than a scenario, and "" otherwise.
func companionKind(src scenario.Source) string {
	switch {
	case src.Builtin:
		return ""
	case topology.IsTopology(src.File, src.Data):
		return "topology"
	case isJourneyFile(src.File, src.Data):
		return "journey"
	}
	return ""
}
