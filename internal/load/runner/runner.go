// Package runner is the load child: `gameday load` runs one load with our
// engine (internal/load) and the journeys it is given — the storefront's
// shoppers (internal/load/storefront) or a journey file
// (internal/load/journeyfile) — writes its per-second series, a live line
// and a summary, and exits with a code a pipeline can trust.
//
// The harness starts it as a process of its own (load.Start, with --config
// FILE holding a Config as JSON), so that load and storefront do not share
// a Go runtime; by hand, cmd/gameday reads the same Config from flags. Test
// binaries that stand in for gameday call Main.
package runner

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/internal/load/journeyfile"
	"github.com/gameday/gameday/internal/load/storefront"
	"github.com/gameday/gameday/internal/report"
	"github.com/gameday/gameday/internal/series"
)

// gcPercent is the load's GC target unless GOGC is set.
const gcPercent = 400

// Storefront is the Journeys value that names the storefront's shoppers.
const Storefront = "storefront"

// Defaults of Config.
const (
	DefaultRate         = 5.0
	DefaultDuration     = 30 * time.Second
	DefaultGracefulStop = 15 * time.Second
)

// Config is one load.
type Config struct {
	// Target is the base URL the journeys call: the storefront's gateway,
	// or a team's own service (required).
	Target string `json:"target"`
	// Inbox is the storefront's OTP inbox base URL (its shoppers need it).
	Inbox string `json:"inbox,omitempty"`
	// Journeys is Storefront or the path of a journey file.
	Journeys string `json:"journeys"`
	// Data is the storefront's seed data file; Phones, without one, the
	// phones its shoppers log in with.
	Data   string   `json:"data,omitempty"`
	Phones []string `json:"phones,omitempty"`
	// Env holds the storefront journeys' variables (GAMEDAY_LOGOUT…).
	Env map[string]string `json:"env,omitempty"`

	// The schedule: Rate iterations per second for Duration (constant
	// arrival rate) or, with Stages, a ramp from StartRate through each
	// stage's target.
	Rate      float64      `json:"rate,omitempty"`
	Duration  Duration     `json:"duration,omitempty"`
	StartRate float64      `json:"start_rate,omitempty"`
	Stages    []load.Stage `json:"stages,omitempty"`
	// VUs is the most virtual users at once; 0: DefaultVUs of the peak rate.
	VUs int `json:"vus,omitempty"`
	// Timeout bounds each request; 0: load.DefaultTimeout (or the
	// storefront's GAMEDAY_TIMEOUT).
	Timeout      Duration `json:"timeout,omitempty"`
	GracefulStop Duration `json:"graceful_stop,omitempty"`
	Seed         uint64   `json:"seed,omitempty"`

	// Out is the series file to write (JSON lines of series.Point); "":
	// none.
	Out string `json:"out,omitempty"`
	// Observations is the file the storefront's shoppers write what they
	// were told to (storefront.Observation, JSON lines), for the judge;
	// "": none. A journey file writes none.
	Observations string `json:"observations,omitempty"`
	// Events makes the child write JSON events (load.Event) on stdout
	// instead of the human summary: how the harness listens.
	Events bool `json:"events,omitempty"`
	// Live writes a line per second to stderr.
	Live bool `json:"live,omitempty"`
	// MaxFailed, when 0 or more, fails the run (exit 1) when the share of
	// requests that failed is above it. Negative: no limit.
	MaxFailed float64 `json:"max_failed"`
}

// Duration is a time.Duration that reads and writes as "1m30s" in JSON.
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string like \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// DefaultVUs is how many virtual users a peak rate of rate iterations per
// second gets: enough for iterations lasting 10 s on average (a storefront
// slowed by a fault, shoppers waiting out Retry-After), at least 10 and at
// most 2000. A load that needs more shows dropped_iterations.
func DefaultVUs(rate float64) int {
	return min(max(int(math.Ceil(rate*10)), 10), 2000)
}

// preAllocated is how many virtual users are ready before the start: two
// seconds' worth of arrivals, at least 2, at most VUs.
func preAllocated(rate float64, vus int) int {
	return min(vus, max(2, int(math.Ceil(rate*2))))
}

// Validate reports what makes c unable to run, all at once.
func (c *Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.Target)
	if c.Target == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("target %q: want the base URL of the system under load, like http://127.0.0.1:8080", c.Target))
	}
	switch {
	case c.Journeys == "":
		errs = append(errs, fmt.Errorf("journeys: want %s or a journey file (.yaml)", Storefront))
	case c.Journeys == Storefront:
		if c.Inbox == "" {
			errs = append(errs, errors.New("inbox: the storefront's shoppers need its OTP inbox URL (gameday up --json prints it as otp_inbox)"))
		}
		if c.Data == "" && len(c.Phones) == 0 {
			errs = append(errs, errors.New("the storefront's shoppers need a seed data file (--data) or phones to log in with (--phones; gameday up --json prints one as sample_phone)"))
		}
	default:
		if len(c.Env) > 0 {
			errs = append(errs, fmt.Errorf("env: only the storefront's journeys read variables; a journey file has its own"))
		}
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		errs = append(errs, fmt.Errorf("rate %v: want a positive number of iterations per second", c.Rate))
	}
	if c.Duration < 0 || c.VUs < 0 || c.Timeout < 0 || c.GracefulStop < 0 {
		errs = append(errs, errors.New("duration, vus, timeout and graceful stop cannot be negative"))
	}
	return errors.Join(errs...)
}

// plan is c's schedule, defaults applied.
func (c *Config) plan() load.Plan {
	p := load.Plan{
		Rate:         c.Rate,
		Duration:     time.Duration(c.Duration),
		StartRate:    c.StartRate,
		Stages:       c.Stages,
		GracefulStop: cmp.Or(time.Duration(c.GracefulStop), DefaultGracefulStop),
		VU:           load.VUConfig{Timeout: time.Duration(c.Timeout), Seed: c.Seed},
	}
	peak := c.StartRate
	for _, s := range c.Stages {
		peak = max(peak, s.Target)
	}
	if len(c.Stages) == 0 {
		if p.Rate == 0 {
			p.Rate = DefaultRate
		}
		if p.Duration == 0 {
			p.Duration = DefaultDuration
		}
		peak = p.Rate
	}
	p.MaxVUs = c.VUs
	if p.MaxVUs == 0 {
		p.MaxVUs = DefaultVUs(peak)
	}
	p.PreAllocatedVUs = preAllocated(peak, p.MaxVUs)
	return p
}

// ReadConfig reads a Config written as JSON.
func ReadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read load config: %w", err)
	}
	c := Config{MaxFailed: -1}
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("read load config %s: %w", path, err)
	}
	return c, nil
}

// WriteConfig writes c as JSON to path.
func WriteConfig(path string, c Config) error {
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return fmt.Errorf("encode load config: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write load config: %w", err)
	}
	return nil
}

// Main runs the load child with args as the harness gives them
// (--config FILE) and returns its exit code. Test binaries that stand in
// for gameday call it.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "--config" {
		fmt.Fprintln(stderr, "load: want --config FILE")
		return load.ExitConfig
	}
	cfg, err := ReadConfig(args[1])
	if err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return load.ExitConfig
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, cfg, stdout, stderr)
}

// Script builds what cfg's virtual users do, and the request timeout its
// journeys ask for (0: the engine's default).
func Script(cfg Config) (load.Script, time.Duration, error) {
	return newScript(cfg, nil)
}

// newScript is Script, with the storefront's shoppers handing what they were
// told to observe (nil: to no one).
func newScript(cfg Config, observe func(storefront.Observation)) (load.Script, time.Duration, error) {
	if cfg.Journeys != Storefront {
		f, err := journeyfile.Load(cfg.Journeys)
		if err != nil {
			return nil, 0, err
		}
		if err := f.CheckTimeouts(cmp.Or(time.Duration(cfg.Timeout), load.DefaultTimeout)); err != nil {
			return nil, 0, err
		}
		s, err := f.Script(cfg.Target)
		return s, 0, err
	}
	settings, err := storefront.ParseEnv(cfg.Env)
	if err != nil {
		return nil, 0, err
	}
	sc := storefront.Config{Gateway: cfg.Target, Inbox: cfg.Inbox, Settings: settings, Observe: observe}
	if cfg.Data != "" {
		if sc.Data, err = storefront.ReadData(cfg.Data); err != nil {
			return nil, 0, err
		}
	} else {
		sc.Data = storefront.PhoneData(cfg.Phones...)
	}
	s, err := storefront.New(sc)
	return s, settings.Timeout, err
}

// Run runs the load cfg describes until its schedule ends or ctx ends (a
// stop: exit load.ExitStopped), and returns the exit code: load.ExitOK,
// load.ExitThresholds when MaxFailed was crossed, load.ExitConfig for a
// configuration or journey file that cannot run, load.ExitEnvironment when
// the series file cannot be written.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) int {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		// Every request allocates; a GC target of 400% bought the child
		// about a tenth more requests per second for a few MB of heap
		// (BenchmarkLoadVsPeers).
		defer debug.SetGCPercent(debug.SetGCPercent(gcPercent))
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return load.ExitConfig
	}
	var obs *storefront.ObservationLog
	if cfg.Observations != "" && cfg.Journeys == Storefront {
		f, err := os.Create(cfg.Observations)
		if err != nil {
			fmt.Fprintf(stderr, "load: create observations file: %v\n", err)
			return load.ExitEnvironment
		}
		defer f.Close()
		obs = storefront.NewObservationLog(f)
	}
	var observe func(storefront.Observation)
	if obs != nil {
		observe = obs.Observe
	}
	script, timeout, err := newScript(cfg, observe)
	if err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return load.ExitConfig
	}
	plan := cfg.plan()
	if plan.VU.Timeout == 0 {
		plan.VU.Timeout = timeout
	}
	if err := plan.Validate(); err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return load.ExitConfig
	}

	var out io.Writer = io.Discard
	if cfg.Out != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.Out), 0o755); err != nil {
			fmt.Fprintf(stderr, "load: create series directory: %v\n", err)
			return load.ExitEnvironment
		}
		f, err := os.Create(cfg.Out)
		if err != nil {
			fmt.Fprintf(stderr, "load: create series file: %v\n", err)
			return load.ExitEnvironment
		}
		defer f.Close()
		out = f
	}
	tally := &tally{}
	var live *report.Progress
	rec := load.NewSeriesRecorder(out, load.WithOnFlush(func(pts []series.Point) {
		tally.add(pts)
		if live != nil {
			for _, p := range pts {
				live.Add(p)
			}
		}
	}))
	rec.Start()
	events := json.NewEncoder(stdout)
	onStart := func(start time.Time) {
		if cfg.Live {
			live = report.NewProgress(stderr, false, start, func(time.Duration) (string, int) { return "load", 0 })
		}
		if cfg.Events {
			_ = events.Encode(load.Event{Event: load.EventRunning, Start: start})
		}
	}
	sum, derr := load.Drive(ctx, plan, script, rec, onStart)
	if err := rec.Close(); err != nil {
		log.Error("series not all written", "err", err)
		return load.ExitEnvironment
	}
	if obs != nil && obs.Err() != nil {
		log.Error("observations not all written", "err", obs.Err())
		return load.ExitEnvironment
	}
	if live != nil {
		live.Flush()
	}
	if cfg.Events {
		_ = events.Encode(load.Event{Event: load.EventSummary, Summary: &sum})
	} else {
		writeSummary(stdout, cfg, sum, tally)
	}
	switch {
	case derr != nil && ctx.Err() != nil:
		return load.ExitStopped
	case derr != nil:
		fmt.Fprintf(stderr, "load: %v\n", derr)
		return load.ExitEnvironment
	case cfg.MaxFailed >= 0 && tally.failedShare() > cfg.MaxFailed:
		fmt.Fprintf(stderr, "load: %.2f%% of requests failed, more than the %.2f%% allowed\n", 100*tally.failedShare(), 100*cfg.MaxFailed)
		return load.ExitThresholds
	}
	return load.ExitOK
}

// tally adds up what the summary shows.
type tally struct {
	reqs, failed, checks, checksOK float64
	dur                            series.Histogram
}

func (t *tally) add(pts []series.Point) {
	for _, p := range pts {
		switch p.Metric {
		case load.MetricReqs:
			t.reqs += p.Sum
		case load.MetricReqFailed:
			t.failed += p.Sum
		case load.MetricChecks:
			t.checks += float64(p.Count)
			t.checksOK += p.Sum
		case load.MetricReqDuration:
			if p.Hist != nil {
				t.dur.Merge(p.Hist)
			}
		}
	}
}

func (t *tally) failedShare() float64 {
	if t.reqs == 0 {
		return 0
	}
	return t.failed / t.reqs
}

// writeSummary writes the human summary of a load.
func writeSummary(w io.Writer, cfg Config, s load.Summary, t *tally) {
	var b strings.Builder
	secs := max(s.Elapsed.Seconds(), 1e-9)
	fmt.Fprintf(&b, "load: %s against %s for %s\n", cfg.Journeys, cfg.Target, s.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "  iterations  %d started of %d planned, %d completed, %d dropped, %d interrupted; %d VUs at most\n",
		s.Started, s.Planned, s.Completed, s.Dropped, s.Interrupted, s.VUs)
	fmt.Fprintf(&b, "  requests    %.0f (%.1f/s), %.2f%% failed\n", t.reqs, t.reqs/secs, 100*t.failedShare())
	if t.dur.Count() > 0 {
		fmt.Fprintf(&b, "  duration    p50 %.1fms  p90 %.1fms  p95 %.1fms  p99 %.1fms  max %.1fms\n",
			t.dur.Quantile(0.5), t.dur.Quantile(0.9), t.dur.Quantile(0.95), t.dur.Quantile(0.99), t.dur.Max())
	}
	if t.checks > 0 {
		fmt.Fprintf(&b, "  checks      %.0f of %.0f held (%.2f%%)\n", t.checksOK, t.checks, 100*t.checksOK/t.checks)
	}
	_, _ = io.WriteString(w, b.String())
}
