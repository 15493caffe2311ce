package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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
	out := c.Out
	if out == "" {
		out = filepath.Join("reports", time.Now().Format("20060102-150405")+"-matrix-"+c.Profile)
	}
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
		fmt.Fprintf(stdout, "[%d/%d] %-34s %s (%s)\n", n, total, cell.Name(), cellLine(cell), cell.Elapsed.Round(time.Second))
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

// finishMatrix compares a measured matrix with the expected one, prints the
// table, writes the files into out (and --markdown's), writes the expected
// file when updatePath is set, and returns the exit code: 1 when a journey
// is worse than expected (each named on stdout), a cell could not be
// judged, or a file could not be written.
func finishMatrix(c matrixConfig, m *matrix.Matrix, expected *matrix.Expected, expectedName, updatePath, out string, stdout, stderr io.Writer) int {
	rep := matrix.Report{Matrix: m}
	var unexpected []string
	switch {
	case expected != nil && len(expected.Profiles[c.Profile]) > 0:
		rep.Against, rep.Gated = "the expected matrix of "+c.Profile+" ("+expectedName+")", true
		rep.Regressions, unexpected = matrix.Compare(m, expected, c.Profile)
	case expected != nil && len(expected.Profiles[mockstore.ProfileResilient]) > 0:
		rep.Against = "the expected matrix of " + mockstore.ProfileResilient + " (" + expectedName + ")"
		rep.Regressions, _ = matrix.Compare(m, expected, mockstore.ProfileResilient)
	}

	fmt.Fprintln(stdout)
	matrix.WriteText(stdout, rep)
	fmt.Fprintf(stdout, "\n%d cells in %s; ~ marks a grade near a threshold, ! one worse than expected\n", len(m.Cells), m.Elapsed.Round(time.Second))
	code := exitOK
	type file struct {
		path  string
		write func(io.Writer) error
	}
	files := []file{
		{filepath.Join(out, "matrix.html"), func(w io.Writer) error { return matrix.WriteHTML(w, rep) }},
		{filepath.Join(out, "matrix.md"), func(w io.Writer) error { return matrix.WriteMarkdown(w, rep) }},
		{filepath.Join(out, "matrix.json"), func(w io.Writer) error { return writeMatrixJSON(w, rep) }},
	}
	if c.Markdown != "" {
		files = append(files, file{c.Markdown, func(w io.Writer) error { return matrix.WriteMarkdown(w, rep) }})
	}
	for _, f := range files {
		if err := report.WriteFile(f.path, f.write); err != nil {
			fmt.Fprintf(stderr, "gameday matrix: %v\n", err)
			code = exitFail
		}
	}
	fmt.Fprintf(stdout, "matrix: %s\n", filepath.Join(out, "matrix.html"))

	for _, cell := range m.Cells {
		if cell.Err != "" {
			fmt.Fprintf(stdout, "ERROR %s: %s; files in %s\n", cell.Name(), firstLine(cell.Err), cell.Dir)
			code = exitFail
		}
	}
	if updatePath != "" {
		updated := matrix.Update(expected, m)
		if updated.About == "" {
			updated.About = expectedAbout
		}
		if err := report.WriteFile(updatePath, func(w io.Writer) error { _, err := w.Write(updated.Marshal()); return err }); err != nil {
			fmt.Fprintf(stderr, "gameday matrix: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "wrote the expected matrix of %s: %s\n", c.Profile, updatePath)
		return code
	}
	switch {
	case rep.Against == "":
		fmt.Fprintf(stdout, "not gated: %s has no expected matrix\n", expectedName)
	case !rep.Gated:
		fmt.Fprintf(stdout, "not gated: %s has no expected matrix of %s; %d journeys are worse than resilient's (contrast):\n",
			expectedName, c.Profile, len(rep.Regressions))
		for _, g := range rep.Regressions {
			fmt.Fprintf(stdout, "  %s\n", g)
		}
	case len(rep.Regressions) > 0:
		fmt.Fprintf(stdout, "FAIL: %d journeys worse than %s:\n", len(rep.Regressions), rep.Against)
		for _, g := range rep.Regressions {
			fmt.Fprintf(stdout, "  %s\n", g)
		}
		code = exitFail
	default:
		fmt.Fprintf(stdout, "PASS: no journey worse than %s\n", rep.Against)
	}
	if len(unexpected) > 0 {
		fmt.Fprintf(stdout, "not gated: %s has no expectation for %s (add it with --update-expected)\n",
			expectedName, strings.Join(unexpected, ", "))
	}
	return code
}

// expectedAbout heads an expected matrix file written afresh.
const expectedAbout = "The expected resilience matrix that `gameday matrix` gates on: per profile, per link × fault, " +
	"the grade each journey must reach at least. \"a|b\": borderline, either passes (the gate holds it to the worse). " +
	"Refresh with `gameday matrix --update-expected`."

// cellLine is a cell's grades in one line: "login ok · browse degraded~ · …".
func cellLine(c matrix.Cell) string {
	if c.Err != "" {
		return "error: " + firstLine(c.Err)
	}
	parts := make([]string, 0, len(c.Journeys))
	for _, j := range c.Journeys {
		s := j.Journey + " " + j.Grade.String()
		if j.Near != "" {
			s += "~"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " · ")
}

// writeMatrixJSON writes the measured matrix with its comparison, "->"
// unescaped.
func writeMatrixJSON(w io.Writer, rep matrix.Report) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(map[string]any{
		"matrix": rep.Matrix, "compared_with": rep.Against, "gated": rep.Gated, "regressions": rep.Regressions,
	}); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}
