package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/gameday/gameday/internal/journal"
	"github.com/gameday/gameday/internal/report"
)

// reportConfig is what `gameday report` reads from its flags.
type reportConfig struct {
	Out      string   // directory for the HTML; "" beside the one journal file
	Summary  string   // Markdown summary file; "" none
	Journals []string // journal files
}

func (c *reportConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Out, "out", "", "directory for the HTML reports (default: the journal file's directory)")
	fs.StringVar(&c.Summary, "summary", "", "write a Markdown summary of every scenario (for a CI job summary or PR comment) to this file")
}

// Validate checks the flags and resolves the output directory.
func (c *reportConfig) Validate() error {
	switch {
	case len(c.Journals) == 0:
		return errors.New("name at least one journal: a run's journal.json or a --json file")
	case c.Out == "" && len(c.Journals) > 1:
		return errors.New("name --out to gather the reports of several journal files")
	case c.Out == "":
		c.Out = filepath.Dir(c.Journals[0])
	}
	return nil
}

// runReport is `gameday report`: the HTML reports, an index of several, and
// the Markdown summary, rendered again from journals. Exit codes: 0 written,
// 2 bad usage or a journal that cannot be read, 1 a report that could not be
// written.
func runReport(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gameday report [--out DIR] [--summary FILE] <journal.json>...")
		fmt.Fprintln(stderr, "Renders report.html (and index.html for several scenarios) and a Markdown summary from journals.")
		fs.PrintDefaults()
	}
	var c reportConfig
	c.register(fs)
	if code, ok := parseFlags(fs, args, "", true, stderr); !ok {
		return code
	}
	c.Journals = fs.Args()
	if err := c.Validate(); err != nil {
		fmt.Fprintf(stderr, "gameday report: %v\n", err)
		return exitUsage
	}

	var js []*journal.Run
	for _, path := range c.Journals {
		got, err := report.ReadJournalFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "gameday report: %v\n", err)
			return exitUsage
		}
		js = append(js, got...)
	}
	code := exitOK
	fail := func(err error) {
		fmt.Fprintf(stderr, "gameday report: %v\n", err)
		code = exitFail
	}
	idx := report.NewIndexFile(filepath.Join(c.Out, "index.html"), len(js) > 1)
	names := report.DirNames{}
	suites := make([]report.Suite, len(js))
	for i, j := range js {
		report.Describe(j)
		suites[i] = report.SuiteOf(j)
		dir := c.Out
		if len(js) > 1 {
			dir = filepath.Join(c.Out, names.Next(j.Scenario))
		}
		path, err := report.WriteHTML(dir, j)
		if err != nil {
			fail(err)
			continue
		}
		fmt.Fprintf(stdout, "report:  %s\n", path)
		idx.Add(path, j)
	}
	if path, err := idx.Write(); err != nil {
		fail(err)
	} else if path != "" {
		fmt.Fprintf(stdout, "index:   %s\n", path)
	}
	if c.Summary != "" {
		if err := report.WriteMarkdown(c.Summary, suites); err != nil {
			fail(err)
		} else {
			fmt.Fprintf(stdout, "summary: %s\n", c.Summary)
		}
	}
	return code
}
