package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gameday/gameday/internal/engine"
	"github.com/gameday/gameday/internal/matrix"
	"github.com/gameday/gameday/internal/report"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/scenarios"
)

// matrixConfig is what `gameday matrix` reads from its flags.
type matrixConfig struct {
	Profile        string
	Quick          bool
	Links          string
	Faults         string
	Out            string
	Markdown       string
	Expected       string // "": the built-in scenarios/matrix.expected.json
	UpdateExpected bool
	Parallel       int
	Verbose        bool

	links  []string
	faults []matrix.Fault
	feats  mockstore.Features
}

func (c *matrixConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Profile, "profile", mockstore.ProfileResilient, "resilience profile: resilient or naive")
	fs.BoolVar(&c.Quick, "quick", false, "shorter cells (3 s baseline, 6 s fault): a first look, noisier than the gate's")
	fs.StringVar(&c.Links, "links", "", "comma-separated links to break (default: every link)")
	fs.StringVar(&c.Faults, "faults", "", "comma-separated faults: latency, down, timeout, reset, http_5xx (default: every one)")
	fs.StringVar(&c.Out, "out", "", "directory for matrix.html, matrix.md, matrix.json and the cells' files (default reports/<time>-matrix-<profile>/)")
	fs.StringVar(&c.Markdown, "markdown", "", "also write the matrix as Markdown to this file (a CI job summary)")
	fs.StringVar(&c.Expected, "expected", "", "expected matrix file (default: the built-in "+scenarios.ExpectedMatrixFile+")")
	fs.BoolVar(&c.UpdateExpected, "update-expected", false, "write the measured grades into the expected file (--expected, default scenarios/"+scenarios.ExpectedMatrixFile+") instead of gating")
	fs.IntVar(&c.Parallel, "parallel", 2, "cells run at once, each in its own storefront")
	fs.BoolVar(&c.Verbose, "v", false, "log what the harness and the services do to stderr")
}

// Validate checks the flags and resolves the links, faults and features.
func (c *matrixConfig) Validate() error {
	var err error
	if c.feats, err = mockstore.Profile(c.Profile); err != nil {
		return fmt.Errorf("--profile: %w", err)
	}
	if c.links, err = matrix.ParseLinks(c.Links); err != nil {
		return fmt.Errorf("--links: %w", err)
	}
	if c.faults, err = matrix.ParseFaults(c.Faults); err != nil {
		return fmt.Errorf("--faults: %w", err)
	}
	if c.Parallel < 1 || c.Parallel > 16 {
		return fmt.Errorf("--parallel %d: want 1 to 16", c.Parallel)
	}
	return nil
}

// expectedPath is the file --update-expected writes.
func (c *matrixConfig) expectedPath() (string, error) {
	if c.Expected != "" {
		return c.Expected, nil
	}
	if fi, err := os.Stat("scenarios"); err != nil || !fi.IsDir() {
		return "", errors.New("--update-expected: name the file with --expected (there is no scenarios/ directory here)")
	}
	return filepath.Join("scenarios", scenarios.ExpectedMatrixFile), nil
}

// loadExpected reads the expected matrix: --expected's file, or the
// built-in one. A missing --update-expected target is an empty file.
func (c *matrixConfig) loadExpected() (*matrix.Expected, string, error) {
	if c.Expected == "" {
		b, err := fs.ReadFile(scenarios.FS, scenarios.ExpectedMatrixFile)
		if err != nil {
			return nil, "", fmt.Errorf("read the built-in expected matrix: %w", err)
		}
		e, err := matrix.ParseExpected("scenarios/"+scenarios.ExpectedMatrixFile, b)
		return e, "scenarios/" + scenarios.ExpectedMatrixFile, err
	}
	b, err := os.ReadFile(c.Expected)
	if errors.Is(err, fs.ErrNotExist) && c.UpdateExpected {
		return nil, c.Expected, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read expected matrix: %w", err)
	}
	e, err := matrix.ParseExpected(c.Expected, b)
	return e, c.Expected, err
}

// runMatrix is `gameday matrix`: a short run per link × fault, a grade per
// shopper journey, the matrix as a table, HTML and Markdown; exit 1 naming
// every journey of every cell worse than the expected matrix.
//
// The expected file holds an expectation per profile. The committed one
// holds resilient's only: a profile it has none for (naive) is compared
// with resilient's for contrast, and that comparison gates nothing.
func runMatrix(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("matrix", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: gameday matrix [flags]")
		fmt.Fprintln(stderr, "\nRuns one short cell per link × fault and grades each shopper journey ok, degraded or")
		fmt.Fprintln(stderr, "broken. Exit 1 names every journey worse than the expected matrix of the profile;")
		fmt.Fprintln(stderr, "a profile the file has no expectation for is shown against resilient's, not gated.")
		fmt.Fprintln(stderr, "\n"+matrix.Thresholds()+".")
		fset.PrintDefaults()
	}
	var c matrixConfig
	c.register(fset)
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "gameday matrix: unexpected argument %q (links and faults are flags: --links, --faults)\n", fset.Arg(0))
		return exitUsage
	}
	if err := c.Validate(); err != nil {
		fmt.Fprintf(stderr, "gameday matrix: %v\n", err)
		return exitUsage
	}
	expected, expectedName, err := c.loadExpected()
	if err != nil {
		fmt.Fprintf(stderr, "gameday matrix: %v\n", err)
		return exitUsage
	}
	updatePath := ""
	if c.UpdateExpected {
		if updatePath, err = c.expectedPath(); err != nil {
			fmt.Fprintf(stderr, "gameday matrix: %v\n", err)
			return exitUsage
		}
	}

	level := slog.LevelWarn
	if c.Verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	out := report.NewLayout(c.Out, time.Now()).Dir("matrix-" + c.Profile)
	shape := matrix.DefaultShape
	if c.Quick {
		shape = matrix.QuickShape
	}
	total := len(c.links) * len(c.faults)
	fmt.Fprintf(stdout, "matrix: %s, %d cells (%d links × %d faults), %d at a time, files in %s\n",
		c.Profile, total, len(c.links), len(c.faults), c.Parallel, out)
	m, runErr := matrix.Run(ctx, matrix.Options{
		Links: c.links, Faults: c.faults, Shape: shape, Parallel: c.Parallel,
		Engine: engine.Options{Features: c.feats, Profile: c.Profile, Dir: out, Logger: logger},
	}, func(cell matrix.Cell, n, total int) {
		fmt.Fprintf(stdout, "[%d/%d] %-34s %s (%s)\n", n, total, cell.Name(), matrix.Line(cell), cell.Elapsed.Round(time.Second))
	})
	if m == nil {
		fmt.Fprintf(stderr, "gameday matrix: %v\n", runErr)
		return exitUsage
	}

	if runErr != nil {
		// What ran is still written, for a look at it.
		finishMatrix(c, m, expected, expectedName, "", out, stdout, stderr)
		fmt.Fprintf(stderr, "gameday matrix: interrupted; %d of %d cells ran\n", len(m.Cells), total)
		return exitInterrupted
	}
	return finishMatrix(c, m, expected, expectedName, updatePath, out, stdout, stderr)
}

// finishMatrix holds a measured matrix against the expected one (see
// matrix.Gate), prints the table, writes the files into out (and
// --markdown's), writes the expected file when updatePath is set, and
// returns the exit code: 1 when a journey is worse than expected (each named
// on stdout), a cell could not be judged, or a file could not be written.
func finishMatrix(c matrixConfig, m *matrix.Matrix, expected *matrix.Expected, expectedName, updatePath, out string, stdout, stderr io.Writer) int {
	g := matrix.NewGate(m, expected, expectedName)
	fmt.Fprintln(stdout)
	_ = g.WriteTable(stdout)
	code := exitOK
	for _, f := range g.Files(out, c.Markdown) {
		if err := report.WriteFile(f.Path, f.Write); err != nil {
			fmt.Fprintf(stderr, "gameday matrix: %v\n", err)
			code = exitFail
		}
	}
	fmt.Fprintf(stdout, "matrix: %s\n", filepath.Join(out, "matrix.html"))
	if !g.WriteErrors(stdout) {
		code = exitFail
	}
	if updatePath != "" {
		updated := matrix.Updated(expected, m)
		if err := report.WriteFile(updatePath, func(w io.Writer) error { _, err := w.Write(updated); return err }); err != nil {
			fmt.Fprintf(stderr, "gameday matrix: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "wrote the expected matrix of %s: %s\n", c.Profile, updatePath)
		return code
	}
	if !g.WriteVerdict(stdout) {
		code = exitFail
	}
	return code
}
