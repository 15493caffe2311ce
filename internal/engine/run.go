package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/journal"
	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/internal/load/runner"
	"github.com/gameday/gameday/internal/load/storefront"
	"github.com/gameday/gameday/internal/probe"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/internal/series"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/auth"
)

// Errors Run's error wraps, for the exit code.
var (
	// ErrEnvironment: the environment could not be set up (exit code 3).
	ErrEnvironment = errors.New("environment could not be set up")
	// ErrScenario: the scenario cannot run as written, e.g. its journey file
	// is nowhere to be found (exit code 2).
	ErrScenario = errors.New("scenario cannot run")
)

// Bounds of a run's waits.
const (
	startTimeout = 2 * time.Minute  // for the load to start its schedule
	loadOverrun  = 2 * time.Minute  // past the load's duration, the load is stopped
	maxSettle    = 90 * time.Second // the longest wait for the storefront to settle after the load
)

// Options configure a run.
type Options struct {
	Features mockstore.Features // nil: the resilient profile
	Profile  string             // what Features started from, for the reports
	Seed     *int64             // overrides the scenario's seed
	Quick    bool               // compress the timeline (scenario.Quick)
	// Runtime is where the storefront runs: RuntimeInproc ("" too) or
	// RuntimeDocker (see StartEnv, CheckRuntime).
	Runtime string
	// Dir is the run's directory (required): the stores, the load's files,
	// the journal.
	Dir string
	// Load is the command that runs the load child (load.Spec.Command);
	// nil: this executable's `load` command.
	Load []string
	// Serve is the command that runs `gameday serve` for a service the
	// scenario crashes in-process (env.Options.Serve); nil: this
	// executable's `serve` command.
	Serve []string
	// OnLoadStart, OnPoint and OnLoadEnd follow the load as it runs, for a
	// live view (report.Progress): OnLoadStart once the load runs, with its
	// timeline as planned (offset 0 and the faults' intervals); OnPoint
	// with each point of the series as it arrives; OnLoadEnd once the load
	// has ended, before the storefront settles. Any may be nil. They are
	// called from one goroutine at a time, in that order, and only once
	// the load runs.
	OnLoadStart func(judge.Timeline)
	OnPoint     func(series.Point)
	OnLoadEnd   func()
	// RefundSLA and PendingBound are checkout's; 0 means its defaults.
	RefundSLA, PendingBound time.Duration
	// OTPLifetime is auth's lifetime of a login code; 0 means the
	// scenario's (storefront: otp_lifetime), else auth's default.
	OTPLifetime time.Duration
	// NewAuth builds the storefront's auth in place of auth.New
	// (env.Options.NewAuth): a seam for tests, in-process only; no flag or
	// scenario sets it.
	NewAuth func(ctx context.Context, cfg auth.Config) (*auth.Service, error)
	Logger  *slog.Logger
}

// Run runs one scenario: a fresh environment, the load with the fault
// timeline, the audits, the verdicts. It returns the run's journal, filled
// as far as the run got, whatever the error (nil only when opts has no
// Dir). The error wraps ErrEnvironment when the environment could not be
// set up, ctx's error when ctx ended the run, or says why the run could not
// judge; failed checks are not an error (see journal.Run.Outcome). Every
// fault is removed and the environment closed before Run returns; what
// could not be cleaned up is in the journal's Cleanup and in the error.
func Run(ctx context.Context, sc *scenario.Scenario, opts Options) (res *journal.Run, err error) {
	if opts.Dir == "" {
		return nil, errors.New("engine: no run directory")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("scenario", sc.Name)
	if opts.Quick {
		sc = sc.Quick()
	}
	// The scenario's service levels, unless the caller set its own.
	if opts.RefundSLA == 0 {
		opts.RefundSLA = sc.Storefront.RefundSLA
	}
	if opts.PendingBound == 0 {
		opts.PendingBound = sc.Storefront.PendingBound
	}
	if opts.OTPLifetime == 0 {
		opts.OTPLifetime = sc.Storefront.OTPLifetime
	}
	feats := opts.Features
	if feats == nil {
		feats, _ = mockstore.Profile(mockstore.ProfileResilient)
	}
	seed := sc.Seed
	if opts.Seed != nil {
		seed = *opts.Seed
	}
	res = &journal.Run{
		Scenario: sc.Name, Description: sc.Description, Versions: Versions(), File: sc.File, Compressed: sc.Compressed,
		Profile: opts.Profile, Features: feats.String(), Seed: seed, Started: time.Now(),
	}
	defer func() {
		res.Elapsed = time.Since(res.Started)
		res.Outcome = judge.Outcome(res.Verdicts, res.Err)
		if err != nil && res.Err == "" {
			res.Err = err.Error()
		}
	}()
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return res, fmt.Errorf("%w: create run directory: %w", ErrEnvironment, err)
	}
	journeys, err := resolveJourneys(sc)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrScenario, err)
	}

	// The services complain, rightly, of every fault: their log goes to a
	// file of the run, not to the terminal.
	svcLog, closeSvcLog, err := servicesLogger(opts.Dir, sc.Name)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	defer closeSvcLog()
	e, err := startEnvFor(ctx, sc, opts.Runtime, env.Options{
		Features: feats, Profile: opts.Profile, Seed: seed, Shoppers: sc.Load.Shoppers,
		Dir: filepath.Join(opts.Dir, "stores"), RefundSLA: opts.RefundSLA, PendingBound: opts.PendingBound,
		OTPLifetime: opts.OTPLifetime, NewAuth: opts.NewAuth,
		Crashable: crashed(sc), Serve: opts.Serve, Topology: sc.Topology, Logger: svcLog,
	})
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	info := e.Info()
	res.Environment = info
	inj := newInjector(e)
	defer func() {
		// Faults first, so that nothing is left broken if closing hangs.
		cerr := errors.Join(inj.Clear(), e.Close())
		if cerr != nil {
			res.Cleanup = cerr.Error()
			err = errors.Join(err, fmt.Errorf("clean up: %w", cerr))
		}
	}()

	loadDir := filepath.Join(opts.Dir, "load")
	loadArgs, err := writeLoadConfig(loadDir, sc, journeys, info, e.Dataset(), seed)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrEnvironment, err)
	}
	res.Load.Dir = loadDir

	r := &run{sc: sc, opts: opts, log: log, res: res, probes: probe.TargetOf(info)}
	// The probes due before the load see the environment as it starts.
	r.addProbes(probe.Once(ctx, scenario.ProbeBefore, sc.Checks, r.probes)...)
	loadEnd, err := r.drive(ctx, inj, loadArgs)
	if err != nil {
		return res, err
	}
	return res, r.verdicts(ctx, info.Audit, loadEnd)
}

// run is one scenario run under way: what Run's steps share. Its journal
// (res) is filled as the steps go.
type run struct {
	sc     *scenario.Scenario // as it runs (compressed with Options.Quick)
	opts   Options            // with the scenario's service levels filled in
	log    *slog.Logger
	res    *journal.Run
	probes probe.Target // where the probe checks reach

	probesMu sync.Mutex // guards res.Probes while the periodic probes run
}

// addProbes records runs of the probe checks in the journal.
func (r *run) addProbes(rs ...probe.Result) {
	r.probesMu.Lock()
	defer r.probesMu.Unlock()
	r.res.Probes = append(r.res.Probes, rs...)
}

// drive runs the load (the child with args, in res.Load.Dir) with the fault
// timeline, and records in the journal what they did: the load's start and
// outcome, the fault events and the spans each fault was in place, the
// series, and the abort check that stopped the load, if one did. Once the
// load has ended it takes the faults away and returns when the load ended;
// its error says why the run cannot be judged (ctx's error when ctx ended
// it).
func (r *run) drive(ctx context.Context, inj *Injector, args []string) (loadEnd time.Time, err error) {
	sc, opts, log, res := r.sc, r.opts, r.log, r.res
	var (
		mu     sync.Mutex
		points []series.Point
		start  time.Time // offset 0, once the load runs and OnLoadStart has returned
	)
	runCtx, cancelRun := context.WithCancelCause(ctx)
	defer cancelRun(nil)
	onPoint := func(pt series.Point) {
		mu.Lock()
		points = append(points, pt)
		t0 := start
		var abortV judge.Verdict
		var abort bool
		if !t0.IsZero() && hasAbort(sc.Checks) {
			now := time.Unix(pt.T, 0).Sub(t0) // the seconds before pt's are complete
			abortV, abort = judge.Abort(sc.Checks, judge.Timeline{Start: t0, Duration: sc.Load.Duration, Faults: sc.Intervals()}, points, now)
		}
		if abort && res.Aborted == "" {
			res.Aborted = abortV.String()
		} else {
			abort = false
		}
		mu.Unlock()
		if !t0.IsZero() && opts.OnPoint != nil {
			opts.OnPoint(pt)
		}
		if abort {
			cancelRun(errAborted)
		}
	}
	loadDir := res.Load.Dir
	proc, err := load.Start(runCtx, load.Spec{
		Command: opts.Load, Args: args, Dir: loadDir,
		MaxDuration: sc.Load.Duration + loadOverrun + startTimeout, Logger: log,
	}, onPoint)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: start load: %w", ErrEnvironment, err)
	}
	waited := make(chan struct{})
	var lres load.Result
	var lerr error
	go func() {
		defer close(waited)
		lres, lerr = proc.Wait()
	}()

	startCtx, cancelStart := context.WithTimeoutCause(runCtx, startTimeout, fmt.Errorf("the load did not start within %v", startTimeout))
	t0, err := proc.Running(startCtx)
	cancelStart()
	if err != nil {
		proc.Stop()
		<-waited
		res.Load = loadOutcome(lres, lerr, loadDir)
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		return time.Time{}, fmt.Errorf("load did not start: %w", err)
	}
	if opts.OnLoadStart != nil {
		opts.OnLoadStart(judge.Timeline{Start: t0, Duration: sc.Load.Duration, Faults: sc.Intervals()})
	}
	mu.Lock()
	start = t0
	mu.Unlock()
	res.LoadStart = t0
	log.Info("load running; fault timeline starts", "events", len(sc.Events()))

	// The periodic probes run while the load does, and stop with it.
	probeCtx, stopProbes := context.WithCancel(runCtx)
	probesDone := make(chan struct{})
	go func() {
		defer close(probesDone)
		probe.Every(probeCtx, sc.Checks, r.probes, func(p probe.Result) { r.addProbes(p) })
	}()
	defer func() {
		stopProbes()
		<-probesDone
	}()

	var records []journal.Fault
	var recMu sync.Mutex
	tlDone := make(chan error, 1)
	go func() {
		tlDone <- inj.RunTimeline(runCtx, t0, sc.Events(), func(f journal.Fault) {
			recMu.Lock()
			records = append(records, f)
			recMu.Unlock()
			if f.Err != "" {
				log.Warn("fault event failed", "event", f.What, "err", f.Err)
			}
		})
	}()
	<-waited
	cancelRun(errLoadEnded)
	tlErr := <-tlDone
	stopProbes()
	<-probesDone
	loadEnd = time.Now()
	if opts.OnLoadEnd != nil {
		opts.OnLoadEnd()
	}
	// Faults go before the audits: the storefront settles without them.
	if err := inj.Clear(); err != nil {
		return loadEnd, fmt.Errorf("remove faults: %w", err)
	}
	recMu.Lock()
	res.Faults = records
	recMu.Unlock()
	res.Intervals = actualIntervals(res.Faults, loadEnd.Sub(t0))
	res.Load = loadOutcome(lres, lerr, loadDir)
	mu.Lock()
	res.Series = points
	mu.Unlock()

	if ctx.Err() != nil {
		return loadEnd, ctx.Err()
	}
	if tlErr != nil && !errors.Is(tlErr, context.Canceled) {
		return loadEnd, fmt.Errorf("fault timeline: %w", tlErr)
	}
	if lerr != nil && res.Aborted == "" {
		return loadEnd, fmt.Errorf("load: %w", lerr)
	}
	return loadEnd, nil
}

// verdicts gives the verdicts of a load that ended at loadEnd: it waits for
// the storefront to settle as long as the checks need (unless an abort
// check stopped the load), has the environment read the audits from
// auditURLs (env.Info.Audit), and has the judge decide every check. It
// returns ctx's error when ctx ended the wait.
func (r *run) verdicts(ctx context.Context, auditURLs map[string]string, loadEnd time.Time) error {
	sc, res := r.sc, r.res
	jr := &judge.Run{
		Timeline: judge.Timeline{Start: res.LoadStart, Duration: sc.Load.Duration, Faults: res.Intervals},
		Series:   res.Series, RefundSLA: r.opts.RefundSLA, PendingBound: r.opts.PendingBound,
		OTPLifetime: r.opts.OTPLifetime,
	}
	if res.Aborted == "" {
		// What the checks give the storefront time to do, before the audits.
		if err := waitUntil(ctx, jr.Settled(sc.Checks, loadEnd)); err != nil {
			return err
		}
	}
	if res.Load.Dir != "" {
		path := filepath.Join(res.Load.Dir, storefront.ObservationsFile)
		if obs, err := storefront.ReadObservations(path); err != nil {
			jr.ObservationsErr = err.Error()
		} else {
			jr.Observations = obs
		}
	}
	// Only the storefront serves the storefront's audits; a system of one's
	// own has none to read (its checks need none: the parser refuses those
	// that do).
	var audit env.Audit
	if sc.Topology == nil || sc.Topology.IsStorefront() {
		var err error
		audit, err = env.ReadAudit(ctx, auditURLs, &http.Client{Timeout: 30 * time.Second})
		if err != nil {
			r.log.Warn("audits not all read", "err", err)
		}
	}
	res.Audit, jr.Audit = audit, audit
	r.addProbes(probe.Once(ctx, scenario.ProbeAfter, sc.Checks, r.probes)...)
	slices.SortStableFunc(res.Probes, func(a, b probe.Result) int { return a.At.Compare(b.At) })
	jr.Probes = res.Probes
	res.Verdicts = judge.Verdicts(jr, sc.Checks)
	if res.Aborted != "" {
		res.Err = "aborted: " + res.Aborted
	}
	return nil
}

var (
	errAborted   = errors.New("an abort check failed")
	errLoadEnded = errors.New("the load ended")
)

func hasAbort(cs []scenario.Check) bool {
	return slices.ContainsFunc(cs, func(c scenario.Check) bool { return c.Abort })
}

func loadOutcome(r load.Result, err error, dir string) journal.Load {
	o := journal.Load{ExitCode: r.ExitCode, Points: r.Points, Elapsed: r.Elapsed, Dir: dir}
	if err != nil {
		o.Err = err.Error()
	}
	return o
}

// resolveJourneys returns what the scenario's virtual users do: the
// storefront's shoppers, or the absolute path of its journey file (relative
// to the scenario file).
func resolveJourneys(sc *scenario.Scenario) (string, error) {
	name := sc.Load.Journeys
	if name == "" || name == scenario.DefaultJourneys {
		return runner.Storefront, nil
	}
	if !filepath.IsAbs(name) && sc.File != "" {
		name = filepath.Join(filepath.Dir(sc.File), filepath.FromSlash(name))
	}
	if _, err := os.Stat(name); err != nil {
		return "", fmt.Errorf("journey file %q: %w", sc.Load.Journeys, err)
	}
	return filepath.Abs(name)
}

// writeLoadConfig writes what the load child runs into dir — the seed data
// file and the load's configuration — and returns the child's arguments.
func writeLoadConfig(dir string, sc *scenario.Scenario, journeys string, info env.Info, ds mockstore.Dataset, seed int64) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create load directory: %w", err)
	}
	cfg := runner.Config{
		Target: info.Gateway, Journeys: journeys,
		Rate: sc.Load.Rate.PerSecond(), Duration: runner.Duration(sc.Load.Duration), VUs: sc.Load.VUs,
		Seed: uint64(seed), Env: sc.Load.Env, Out: filepath.Join(dir, load.SeriesFile), Events: true, MaxFailed: -1,
	}
	if journeys == runner.Storefront {
		cfg.Observations = filepath.Join(dir, storefront.ObservationsFile)
		if info.Gateway == "" || info.OTPInbox == "" {
			return nil, errors.New("the environment gives no gateway or OTP inbox URL")
		}
		cfg.Inbox = info.OTPInbox
		cfg.Data = filepath.Join(dir, storefront.DataFile)
		if err := storefront.WriteData(cfg.Data, ds); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(dir, LoadConfig)
	if err := runner.WriteConfig(path, cfg); err != nil {
		return nil, err
	}
	return []string{"--config", path}, nil
}

// LoadConfig is the file in a run's load directory that holds the load's
// configuration (runner.Config as JSON).
const LoadConfig = "load.json"

// actualIntervals turns the fault events as carried out into the spans
// each fault was in place; one still open at the end closes at end.
func actualIntervals(recs []journal.Fault, end time.Duration) []scenario.Interval {
	var out []scenario.Interval
	open := map[int]time.Duration{}
	for _, r := range recs {
		if r.Err != "" {
			continue
		}
		switch scenario.Action(r.Action) {
		case scenario.ActionApply:
			if _, ok := open[r.Fault]; !ok {
				open[r.Fault] = r.Actual
			}
		case scenario.ActionRemove:
			if from, ok := open[r.Fault]; ok {
				out = append(out, scenario.Interval{From: from, To: r.Actual, Index: r.Fault})
				delete(open, r.Fault)
			}
		}
	}
	for i, from := range open {
		out = append(out, scenario.Interval{From: from, To: end, Index: i})
	}
	slices.SortFunc(out, func(a, b scenario.Interval) int {
		if a.From != b.From {
			return int(a.From - b.From)
		}
		return a.Index - b.Index
	})
	return out
}

// waitUntil waits until t, at most maxSettle; ctx ends it early with ctx's
// error.
func waitUntil(ctx context.Context, t time.Time) error {
	wait := min(time.Until(t), maxSettle)
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// ServicesLog is the file in a run's directory that holds the storefront's
// own log.
const ServicesLog = "services.log"

// servicesLogger returns a logger writing to dir/ServicesLog and what closes
// that file.
func servicesLogger(dir, scenario string) (*slog.Logger, func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ServicesLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open services log: %w", err)
	}
	l := slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo})).With("scenario", scenario)
	return l, func() { f.Close() }, nil
}

// Versions returns the versions of gameday (the main module; "devel" for a
// build from a work tree), Toxiproxy and Go in this binary.
func Versions() map[string]string {
	out := map[string]string{"go": runtime.Version(), "gameday": "devel"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		out["gameday"] = v
	}
	for _, d := range bi.Deps {
		switch d.Path {
		case "github.com/Shopify/toxiproxy/v2":
			out["toxiproxy"] = d.Version
		}
	}
	return out
}
