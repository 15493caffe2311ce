package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gameday/gameday/internal/campaign"
	"github.com/gameday/gameday/internal/engine"
	"github.com/gameday/gameday/internal/journal"
	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/report"
	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/mockstore"
)

// runConfig is what `gameday run` reads from its flags.
type runConfig struct {
	Parallel  int
	Runtime   string
	Profile   string
	Overrides featureList
	Seed      *int64 // nil: each scenario's own
	Out       string
	JUnit     string
	JSON      string
	Summary   string
	Quick     bool
	Verbose   bool
	Services  featureList        // --service NAME=process:COMMAND... (topology.ParseServiceFlag)
	replace   []topology.Service // set by Validate
	Args      []string           // scenario files, directories or built-in names
}

func (c *runConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Runtime, "runtime", engine.RuntimeInproc, "where the storefront runs: inproc (in this process) or docker (a container per service)")
	fs.StringVar(&c.Profile, "profile", mockstore.ProfileResilient, "resilience profile: resilient or naive")
	fs.Var(&c.Overrides, "feature", "turn one feature on or off, name=on|off (repeatable)")
	fs.Func("seed", "seed for the storefront's data (default: each scenario's own)", func(s string) error {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("want an integer")
		}
		c.Seed = &n
		return nil
	})
	fs.StringVar(&c.Out, "out", "", "directory for each run's files (default reports/<time>-<scenario>/)")
	fs.StringVar(&c.JUnit, "junit", "", "write JUnit XML of every scenario's checks to this file")
	fs.StringVar(&c.JSON, "json", "", "write the JSON journal of every scenario to this file")
	fs.StringVar(&c.Summary, "summary", "", "write a Markdown summary of every scenario (for a CI job summary or PR comment) to this file")
	fs.BoolVar(&c.Quick, "quick", false, "compress each timeline for fast feedback")
	fs.IntVar(&c.Parallel, "parallel", 1, "scenarios run at once, each in its own storefront (above 1: no live lines, each verdict table as its scenario ends)")
	fs.BoolVar(&c.Verbose, "v", false, "log what the harness and the services do to stderr")
	fs.Var(&c.Services, "service", serviceUsage)
}

// serviceUsage documents --service, for run and up.
const serviceUsage = "replace one service of the topology with your own behind the same proxies (repeatable): " +
	"NAME=process:COMMAND [ARG...] or NAME=image:REF [ARG...], with {addr}, {port}, {dir}, {link.NAME}, {audit_addr} placeholders, " +
	"e.g. 'wallet=process:./my-wallet --listen {addr}'"

// parseServices reads --service flags, each naming a service once.
func parseServices(flags []string) ([]topology.Service, error) {
	var out []topology.Service
	for _, f := range flags {
		svc, err := topology.ParseServiceFlag(f)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(s topology.Service) bool { return s.Name == svc.Name }) {
			return nil, fmt.Errorf("--service %s: given twice", svc.Name)
		}
		out = append(out, svc)
	}
	return out, nil
}

// replaceServices returns t (nil: the storefront) with each of svcs in
// place of the service of its name.
func replaceServices(t *topology.Topology, svcs []topology.Service) (*topology.Topology, error) {
	if t == nil {
		t = topology.Default()
	}
	for _, svc := range svcs {
		var err error
		if t, err = t.Replace(svc); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Validate checks the flags and resolves the feature set.
func (c *runConfig) Validate() (mockstore.Features, error) {
	if !slices.Contains(engine.Runtimes(), c.Runtime) {
		return nil, fmt.Errorf("--runtime %q: allowed values: %s", c.Runtime, strings.Join(engine.Runtimes(), ", "))
	}
	if c.Parallel < 1 || c.Parallel > 16 {
		return nil, fmt.Errorf("--parallel %d: want 1 to 16", c.Parallel)
	}
	feats, err := mockstore.Profile(c.Profile)
	if err != nil {
		return nil, fmt.Errorf("--profile: %w", err)
	}
	for _, o := range c.Overrides {
		if err := feats.Set(o); err != nil {
			return nil, fmt.Errorf("--feature: %w", err)
		}
	}
	if len(c.Args) == 0 {
		return nil, errors.New("name at least one scenario: a file, a directory or a built-in (gameday list)")
	}
	if c.replace, err = parseServices(c.Services); err != nil {
		return nil, err
	}
	return feats, nil
}

// runRun is `gameday run`: each scenario in a fresh environment, one after
// another, a live line per second, a verdict table each, reports at the end.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gameday run [flags] <scenario file | directory | built-in name>...")
		fs.PrintDefaults()
	}
	var c runConfig
	c.register(fs)
	if code, ok := parseFlags(fs, args, "", true, stderr); !ok {
		return code
	}
	c.Args = fs.Args()
	feats, err := c.Validate()
	if err != nil {
		fmt.Fprintf(stderr, "gameday run: %v\n", err)
		return exitUsage
	}

	// Every file is read and validated before anything starts.
	scs, ok := loadScenarios(c.Args, "run", stderr)
	for _, sc := range scs {
		t, err := replaceServices(sc.Topology, c.replace)
		if err != nil {
			fmt.Fprintf(stderr, "gameday run: %s: %v\n", sc.File, err)
			ok = false
			continue
		}
		sc.Topology = t
		if err := engine.CheckRuntime(sc, c.Runtime); err != nil {
			fmt.Fprintf(stderr, "gameday run: %s\n", strings.TrimPrefix(err.Error(), engine.ErrScenario.Error()+": "))
			ok = false
		}
	}
	if !ok {
		return exitUsage
	}

	level := slog.LevelWarn
	if c.Verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	tty := isTerminal(stdout)
	layout := report.NewLayout(c.Out, time.Now())
	idx := report.NewIndexFile(layout.IndexPath(), len(scs) > 1)
	codes := make([]int, len(scs))
	all := make([]*journal.Run, len(scs))
	var outMu sync.Mutex // one scenario's output at a time
	one := func(i int, out io.Writer) {
		sc := scs[i]
		dir := layout.RunDir(sc.Name, len(scs) > 1)
		fmt.Fprintf(out, "== %s: %s\n", sc.Name, firstLine(sc.Description))
		opts := engine.Options{
			Features: feats, Profile: c.Profile, Seed: c.Seed, Quick: c.Quick, Dir: dir, Runtime: c.Runtime, Logger: logger,
		}
		if c.Parallel == 1 {
			live := report.NewProgress(out, tty, time.Time{}, nil)
			opts.OnLoadStart, opts.OnPoint, opts.OnLoadEnd = live.Start, live.Add, live.Flush
		}
		res, err := engine.Run(ctx, sc, opts)
		if res != nil {
			all[i] = res
			_ = report.Table(out, report.SuiteOf(res))
			journalPath := filepath.Join(dir, report.JournalFile)
			if werr := report.WriteJournal(journalPath, res); werr != nil {
				fmt.Fprintf(stderr, "gameday run: %v\n", werr)
			} else {
				fmt.Fprintf(out, "  journal: %s\n", journalPath)
			}
			if path, rerr := report.WriteHTML(dir, res); rerr != nil {
				fmt.Fprintf(stderr, "gameday run: %v\n", rerr)
			} else {
				fmt.Fprintf(out, "  report:  %s\n", path)
				outMu.Lock()
				idx.Add(path, res)
				outMu.Unlock()
			}
		}
		switch {
		case ctx.Err() != nil:
			if err != nil && res != nil && res.Cleanup != "" {
				fmt.Fprintf(stderr, "gameday run: %s: could not clean up: %s\n", sc.Name, res.Cleanup)
			}
			codes[i] = exitInterrupted
		case errors.Is(err, engine.ErrScenario):
			fmt.Fprintf(stderr, "gameday run: %s: %v\n", sc.Name, err)
			codes[i] = exitUsage
		case errors.Is(err, engine.ErrEnvironment):
			fmt.Fprintf(stderr, "gameday run: %s: %v\n", sc.Name, err)
			codes[i] = exitEnvironment
		case err != nil:
			fmt.Fprintf(stderr, "gameday run: %s: %v\n", sc.Name, err)
			codes[i] = exitFail
		case res.Outcome != judge.Pass:
			codes[i] = exitFail
		}
	}
	if c.Parallel == 1 {
		for i := range scs {
			if ctx.Err() != nil {
				break
			}
			one(i, stdout)
		}
	} else {
		// Each scenario's lines are held until it ends, then written at
		// once, so that tables do not interleave.
		campaign.Each(ctx, len(scs), c.Parallel, func(i int) {
			outMu.Lock()
			fmt.Fprintf(stdout, "-- %s started (%d of %d)\n", scs[i].Name, i+1, len(scs))
			outMu.Unlock()
			var buf bytes.Buffer
			one(i, &buf)
			outMu.Lock()
			defer outMu.Unlock()
			_, _ = stdout.Write(buf.Bytes())
		})
	}
	var results []*journal.Run
	for _, r := range all {
		if r != nil {
			results = append(results, r)
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "gameday run: interrupted; faults removed and the storefront stopped\n")
		writeReports(c, results, idx, stdout, stderr)
		return exitInterrupted
	}
	code := exitOK
	for _, k := range codes {
		code = max(code, k)
	}
	if !writeReports(c, results, idx, stdout, stderr) && code == exitOK {
		code = exitFail
	}
	switch {
	case code != exitEnvironment:
	case c.Runtime == engine.RuntimeDocker:
		fmt.Fprintln(stderr, "gameday run: the docker runtime needs a Docker engine that answers (DOCKER_HOST, or its socket); "+
			"the default runtime (inproc) works without Docker; `gameday clean` removes what a run could not")
	default:
		fmt.Fprintln(stderr, "gameday run: the in-process storefront needs only free loopback ports and a writable run directory")
	}
	return code
}

// writeReports writes the --junit, --json and --summary files and the
// index of the HTML reports; it says whether it could.
func writeReports(c runConfig, results []*journal.Run, idx *report.IndexFile, stdout, stderr io.Writer) bool {
	ok := true
	fail := func(err error) {
		fmt.Fprintf(stderr, "gameday run: %v\n", err)
		ok = false
	}
	suites := make([]report.Suite, len(results))
	for i, r := range results {
		suites[i] = report.SuiteOf(r)
	}
	if c.JUnit != "" {
		if err := report.WriteJUnit(c.JUnit, suites); err != nil {
			fail(err)
		}
	}
	if c.JSON != "" {
		if err := report.WriteJournals(c.JSON, results); err != nil {
			fail(err)
		}
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
	return ok
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}

// isTerminal reports whether w is a character device: a live line can be
// rewritten in place there.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
