package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"

	"github.com/gameday/gameday/internal/load/journeyfile"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/internal/topology"
)

// runValidate is `gameday validate <file|dir|name>...`: it parses every
// scenario, topology and journey file named (a topology is a file whose name
// ends in .topology.yaml or that has a services field; a journey file one
// whose name ends in .journeys.yaml or that has a journeys field), prints "OK <file>" on stdout for each valid one and every
// problem of the others on stderr, and exits 2 when any file has a problem.
// Nothing is started. When ctx ends (SIGINT, SIGTERM) it stops, even within
// a large file, says so on stderr and exits 130: the files it did not finish
// are neither OK nor counted as having problems.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: gameday validate <file | dir | name>...")
		fmt.Fprintln(fs.Output(), "\nChecks scenario and topology files without running them: a file, every *.yaml of a")
		fmt.Fprintln(fs.Output(), "directory, or a built-in scenario by name ('gameday list' shows them). A topology")
		fmt.Fprintln(fs.Output(), "file is one whose name ends in .topology.yaml or that has a services field.")
		fmt.Fprintln(fs.Output(), "Exit status 0 when every file is valid, 2 otherwise.")
	}
	if code, ok := parseFlags(fs, args, "", true, stderr); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "gameday validate: name at least one scenario file, directory or built-in scenario")
		fs.Usage()
		return exitUsage
	}
	interrupted := func() int {
		fmt.Fprintln(stderr, "gameday validate: interrupted")
		return exitInterrupted
	}
	files, bad := 0, 0
	for _, arg := range fs.Args() {
		if ctx.Err() != nil {
			return interrupted()
		}
		srcs, err := scenario.Find(arg)
		if err != nil {
			fmt.Fprintf(stderr, "gameday validate: %v\n", err)
			bad++
			continue
		}
		for _, src := range srcs {
			files++
			if !src.Builtin && topology.IsTopology(src.File, src.Data) {
				tp, err := topology.Parse(src.File, src.Data)
				if err != nil {
					fmt.Fprintln(stderr, err)
					bad++
					continue
				}
				fmt.Fprintf(stdout, "OK  %s (topology %s: %s, %s)\n", src.File, tp.Name, plural(len(tp.Services), "service"), plural(len(tp.Links), "link"))
				continue
			}
			if !src.Builtin && isJourneyFile(src.File, src.Data) {
				jf, err := journeyfile.Parse(src.File, src.Data)
				if err != nil {
					fmt.Fprintln(stderr, err)
					bad++
					continue
				}
				fmt.Fprintf(stdout, "OK  %s (%s)\n", src.File, plural(len(jf.Journeys), "journey"))
				continue
			}
			sc, err := src.ParseContext(ctx)
			if ctx.Err() != nil {
				// Whatever err says, it is not the whole file's story.
				return interrupted()
			}
			if err != nil {
				fmt.Fprintln(stderr, err)
				bad++
				continue
			}
			fmt.Fprintf(stdout, "OK  %s%s\n", src.File, summary(sc))
		}
	}
	if bad > 0 {
		fmt.Fprintf(stderr, "gameday validate: %d of %d scenario files or names have problems\n", bad, max(files, bad))
		return exitUsage
	}
	return exitOK
}

// journeysSuffix ends the name of a journey file that validate tells from a
// scenario by its name alone.
const journeysSuffix = ".journeys.yaml"

// isJourneyFile reports whether the file called filename with data is a
// journey file rather than a scenario: its name ends in journeysSuffix, or
// it is a YAML mapping with a journeys field (no scenario has one).
func isJourneyFile(filename string, data []byte) (is bool) {
	if strings.HasSuffix(filename, journeysSuffix) {
		return true
	}
	defer func() {
		if recover() != nil {
			is = false // the scenario parser will say what is wrong
		}
	}()
	var doc struct {
		Journeys yaml.Node `yaml:"journeys"`
	}
	return yaml.Unmarshal(data, &doc) == nil && !doc.Journeys.IsZero()
}

// summary describes a valid scenario in a few words for validate's OK line.
func summary(sc *scenario.Scenario) string {
	var b strings.Builder
	b.WriteString(" (")
	if sc.Builtin {
		b.WriteString("built-in, ")
	}
	fmt.Fprintf(&b, "%s: %s load, %s, %s)", sc.Name, sc.Load.Duration, plural(len(sc.Faults), "fault"), plural(len(sc.Checks), "check"))
	return b.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// runList is `gameday list`: a table of the built-in scenarios with the
// features each guards and its description. It exits 2 when a built-in does
// not parse, which a test of the catalogue rules out.
func runList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: gameday list")
		fmt.Fprintln(fs.Output(), "\nLists the built-in scenarios: run one with 'gameday run <name>'.")
	}
	if code, ok := parseFlags(fs, args, "", true, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gameday list: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return exitUsage
	}
	var scs []*scenario.Scenario
	code := exitOK
	for _, name := range scenario.Builtins() {
		if ctx.Err() != nil {
			return exitInterrupted
		}
		sc, err := scenario.Builtin(name)
		if err != nil {
			fmt.Fprintln(stderr, err)
			code = exitUsage
			continue
		}
		scs = append(scs, sc)
	}
	if err := writeList(stdout, scs); err != nil {
		fmt.Fprintf(stderr, "gameday list: %v\n", err)
		return exitUsage
	}
	return code
}

// writeList writes the table of runList.
func writeList(w io.Writer, scs []*scenario.Scenario) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tGUARDS\tDESCRIPTION")
	for _, sc := range scs {
		guards := make([]string, len(sc.Guards))
		for i, g := range sc.Guards {
			guards[i] = string(g)
		}
		g := strings.Join(guards, ", ")
		if g == "" {
			g = "-"
		}
		desc := oneLine(sc.Description)
		if desc == "" {
			desc = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", sc.Name, g, desc)
	}
	return tw.Flush()
}

// oneLine folds a description onto one line for a table cell.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
