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
	"github.com/gameday/gameday/internal/scenario"
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
	idx := newHTMLIndex(filepath.Join(c.Out, "index.html"), len(js) > 1)
	names := map[string]int{}
	suites := make([]report.Suite, len(js))
	for i, j := range js {
		describe(j)
		suites[i] = report.SuiteOf(j)
		dir := c.Out
		if len(js) > 1 {
			dir = filepath.Join(c.Out, uniqueName(names, j.Scenario))
		}
		path, err := writeHTMLReport(dir, j)
		if err != nil {
			fail(err)
			continue
		}
		fmt.Fprintf(stdout, "report:  %s\n", path)
		idx.add(path, j)
	}
	if err := idx.write(stdout); err != nil {
		fail(err)
	}
	if err := writeSummary(c.Summary, suites, stdout); err != nil {
		fail(err)
	}
	return code
}

// uniqueName is the directory name of a scenario's report among several:
// the scenario's name made safe for a path, numbered when it comes again.
func uniqueName(seen map[string]int, name string) string {
	name = unsafeName.ReplaceAllString(name, "_")
	seen[name]++
	if n := seen[name]; n > 1 {
		return fmt.Sprintf("%s-%d", name, n)
	}
	return name
}

// describe fills in the description of a journal that does not record it,
// from the scenario file it names or the built-in of its name, when that
// scenario still has the journal's name; it leaves it empty otherwise.
func describe(j *journal.Run) {
	if j.Description != "" {
		return
	}
	var scs []*scenario.Scenario
	if srcs, err := scenario.Find(j.File); err == nil && len(srcs) == 1 {
		if sc, err := srcs[0].Parse(); err == nil {
			scs = append(scs, sc)
		}
	}
	if sc, err := scenario.Builtin(j.Scenario); err == nil {
		scs = append(scs, sc)
	}
	for _, sc := range scs {
		if sc.Name == j.Scenario {
			j.Description = sc.Description
			return
		}
	}
}

// writeHTMLReport writes dir/report.html and returns its path.
func writeHTMLReport(dir string, j *journal.Run) (string, error) {
	path := filepath.Join(dir, "report.html")
	return path, writeFile(path, func(w io.Writer) error { return report.HTML(w, j) })
}

// writeSummary writes the Markdown summary to path, when there is one.
func writeSummary(path string, suites []report.Suite, stdout io.Writer) error {
	if path == "" {
		return nil
	}
	if err := writeFile(path, func(w io.Writer) error { return report.Markdown(w, suites) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "summary: %s\n", path)
	return nil
}

// htmlIndex gathers the reports of several scenarios for the page that
// links them.
type htmlIndex struct {
	path    string // "" when there is no index to write
	entries []report.Entry
}

// newHTMLIndex returns an index to be written at path when several is true,
// and one that writes nothing otherwise.
func newHTMLIndex(path string, several bool) *htmlIndex {
	if !several {
		path = ""
	}
	return &htmlIndex{path: path}
}

// add links the report at reportPath.
func (x *htmlIndex) add(reportPath string, j *journal.Run) {
	if x.path == "" {
		return
	}
	href, err := filepath.Rel(filepath.Dir(x.path), reportPath)
	if err != nil {
		href, _ = filepath.Abs(reportPath)
	}
	x.entries = append(x.entries, report.Entry{Href: filepath.ToSlash(href), Journal: j})
}

// write writes the index, if there is one to write, and says where.
func (x *htmlIndex) write(stdout io.Writer) error {
	if x.path == "" || len(x.entries) == 0 {
		return nil
	}
	if err := writeFile(x.path, func(w io.Writer) error { return report.Index(w, x.entries) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "index:   %s\n", x.path)
	return nil
}
