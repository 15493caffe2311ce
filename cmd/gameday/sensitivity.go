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
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/gameday/gameday/internal/engine"
	"github.com/gameday/gameday/internal/report"
	"github.com/gameday/gameday/internal/scenario"
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
	var runnable []*scenario.Scenario
	for _, sc := range scs {
		if err := engine.CheckRuntime(sc, c.Runtime); err != nil {
			if len(c.Args) > 0 && !sc.Builtin {
				fmt.Fprintf(stderr, "gameday sensitivity: %v\n", err)
				return exitUsage
			}
			fmt.Fprintf(stdout, "skipped %s: %v\n", sc.Name, engine.ErrCrashInproc)
			continue
		}
		runnable = append(runnable, sc)
	}
	scs = runnable
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
	out := c.Out
	if out == "" {
		out = filepath.Join("reports", time.Now().Format("20060102-150405")+"-sensitivity")
	}
	total := 0
	for _, sc := range scs {
		total += len(engine.Cells(sc)) * c.Seeds
	}
	seeds := ""
	if c.Seeds > 1 {
		seeds = fmt.Sprintf(" (%d seeds each)", c.Seeds)
	}
	fmt.Fprintf(stdout, "sensitivity: %d scenarios, %d cells%s, %d at a time, files in %s\n", len(scs), total, seeds, c.Parallel, out)
	start := time.Now()
	var n atomic.Int64
	cells, err := engine.Sensitivity(ctx, scs, engine.Options{
		Runtime: c.Runtime, Seed: c.Seed, Quick: c.Quick, Dir: out, Logger: logger,
	}, c.Parallel, c.Seeds, func(cell engine.Cell) {
		fmt.Fprintf(stdout, "[%d/%d] %-32s %-28s%s %s (%s)\n", n.Add(1), total, cell.Scenario, cell.Variant, seedText(cell),
			engine.CellText(cell), cell.Elapsed.Round(time.Second))
	})
	fmt.Fprintln(stdout)
	writeMatrix(stdout, cells)
	fmt.Fprintf(stdout, "\n%d cells in %s\n", len(cells), time.Since(start).Round(time.Second))
	code := exitOK
	if c.JSON != "" {
		if werr := report.WriteJSON(c.JSON, map[string]any{"cells": cells}); werr != nil {
			fmt.Fprintf(stderr, "gameday sensitivity: %v\n", werr)
			code = exitFail
		}
	}
	if c.Markdown != "" {
		if werr := report.WriteFile(c.Markdown, func(w io.Writer) error { return writeMatrixMarkdown(w, cells) }); werr != nil {
			fmt.Fprintf(stderr, "gameday sensitivity: %v\n", werr)
			code = exitFail
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "gameday sensitivity: interrupted; %d of %d cells ran\n", len(cells), total)
		return exitInterrupted
	}
	if missed := engine.Missed(cells); len(missed) > 0 {
		fmt.Fprintf(stdout, "FAIL: %d of %d cells did not come out as they must:\n", len(missed), len(cells))
		for _, m := range missed {
			fmt.Fprintf(stdout, "  %s on %s%s: want %s, got %s", m.Scenario, m.Variant, seedText(m), m.Want, m.Got)
			if m.Err != "" {
				fmt.Fprintf(stdout, " (%s)", m.Err)
			}
			fmt.Fprintf(stdout, "; files in %s\n", m.Dir)
		}
		return exitFail
	}
	fmt.Fprintf(stdout, "PASS: every scenario passes on resilient and catches naive and each guarded feature off\n")
	return code
}

// writeMatrix writes the matrix as a table: a block per scenario, a row per
// variant (its seeds together).
func writeMatrix(w io.Writer, cells []engine.Cell) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tVARIANT\tWANT\tGOT\tCAUGHT BY / ERROR")
	for _, row := range engine.Rows(cells) {
		for i, g := range engine.Variants(row) {
			name := ""
			if i == 0 {
				name = g[0].Scenario
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, g[0].Variant, g[0].Want, groupGot(g, strings.ToUpper, " (MISSED)"), groupDetail(g))
		}
	}
	tw.Flush()
}

// writeMatrixMarkdown writes the matrix as a Markdown table.
func writeMatrixMarkdown(w io.Writer, cells []engine.Cell) error {
	fmt.Fprintln(w, "| scenario | variant | want | got | caught by |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, row := range engine.Rows(cells) {
		for i, g := range engine.Variants(row) {
			name := ""
			if i == 0 {
				name = "`" + g[0].Scenario + "`"
			}
			got := groupGot(g, func(s string) string { return "**" + s }, " (missed)**")
			_, err := fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", name, g[0].Variant, g[0].Want, got, strings.ReplaceAll(groupDetail(g), "|", "\\|"))
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// groupGot is what a variant's cells got: "fail", or with several seeds
// "fail ×5", "pass ×3, fail ×2". When any cell did not come out as it must
// the text is passed through mark and followed by missed.
func groupGot(g []engine.Cell, mark func(string) string, missed string) string {
	counts := map[string]int{}
	var order []string
	ok := true
	for _, c := range g {
		k := string(c.Got)
		if c.Err != "" {
			k = "error"
		}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
		ok = ok && c.OK()
	}
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = k
		if len(g) > 1 {
			parts[i] = fmt.Sprintf("%s ×%d", k, counts[k])
		}
	}
	s := strings.Join(parts, ", ")
	if !ok {
		s = mark(s) + missed
	}
	return s
}

// groupDetail is what caught a variant: the checks that failed, in the
// order they first did, each with how many of the seeds it caught when
// that is not all of them; or the first error.
func groupDetail(g []engine.Cell) string {
	counts := map[string]int{}
	var order []string
	for _, c := range g {
		if c.Err != "" {
			return firstLine(c.Err)
		}
		for _, f := range c.FailedBy {
			if counts[f] == 0 {
				order = append(order, f)
			}
			counts[f]++
		}
	}
	for i, f := range order {
		if counts[f] < len(g) {
			order[i] = fmt.Sprintf("%s (%d/%d)", f, counts[f], len(g))
		}
	}
	return strings.Join(order, ", ")
}

// seedText names a cell's seed when the matrix runs several.
func seedText(c engine.Cell) string {
	if c.Seed == nil {
		return ""
	}
	return fmt.Sprintf(" seed %d", *c.Seed)
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
		for _, src := range srcs {
			sc, err := src.Parse()
			if err != nil {
				fmt.Fprintln(stderr, err)
				ok = false
				continue
			}
			scs = append(scs, sc)
		}
	}
	return scs, ok
}
