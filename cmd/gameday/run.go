package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
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
	Args      []string // scenario files, directories or built-in names
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
	stamp := time.Now().Format("20060102-150405")
	idx := newHTMLIndex(indexPath(c.Out, stamp), len(scs) > 1)
	codes := make([]int, len(scs))
	all := make([]*journal.Run, len(scs))
	var outMu sync.Mutex // one scenario's output at a time
	one := func(i int, out io.Writer) {
		sc := scs[i]
		dir := runDir(c.Out, stamp, sc.Name, len(scs) > 1)
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
			if werr := writeJSON(filepath.Join(dir, "journal.json"), res); werr != nil {
				fmt.Fprintf(stderr, "gameday run: %v\n", werr)
			} else {
				fmt.Fprintf(out, "  journal: %s\n", filepath.Join(dir, "journal.json"))
			}
			if path, rerr := writeHTMLReport(dir, res); rerr != nil {
				fmt.Fprintf(stderr, "gameday run: %v\n", rerr)
			} else {
				fmt.Fprintf(out, "  report:  %s\n", path)
				outMu.Lock()
				idx.add(path, res)
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
func writeReports(c runConfig, results []*journal.Run, idx *htmlIndex, stdout, stderr io.Writer) bool {
	ok := true
	suites := make([]report.Suite, len(results))
	for i, r := range results {
		suites[i] = report.SuiteOf(r)
	}
	if c.JUnit != "" {
		if err := writeFile(c.JUnit, func(w io.Writer) error { return report.JUnit(w, suites) }); err != nil {
			fmt.Fprintf(stderr, "gameday run: %v\n", err)
			ok = false
		}
	}
	if c.JSON != "" {
		if err := writeJSON(c.JSON, map[string]any{"scenarios": results}); err != nil {
			fmt.Fprintf(stderr, "gameday run: %v\n", err)
			ok = false
		}
	}
	for _, err := range []error{idx.write(stdout), writeSummary(c.Summary, suites, stdout)} {
		if err != nil {
			fmt.Fprintf(stderr, "gameday run: %v\n", err)
			ok = false
		}
	}
	return ok
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// runDir is where one scenario's files go.
func runDir(out, stamp, name string, several bool) string {
	name = unsafeName.ReplaceAllString(name, "_")
	switch {
	case out == "":
		return filepath.Join("reports", stamp+"-"+name)
	case several:
		return filepath.Join(out, name)
	}
	return out
}

// indexPath is where the index of several scenarios' reports goes: in the
// --out directory, or beside the run directories under reports/.
func indexPath(out, stamp string) string {
	if out == "" {
		return filepath.Join("reports", stamp+"-index.html")
	}
	return filepath.Join(out, "index.html")
}

func writeJSON(path string, v any) error {
	return writeFile(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(v)
	})
}

// writeFile writes path through a temporary file, so that a reader never
// sees half a report.
func writeFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; reports are for sharing.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
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
