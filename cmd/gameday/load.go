package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/load"
	"github.com/gameday/gameday/internal/load/runner"
)

// envList collects repeated NAME=value flags.
type envList map[string]string

func (e envList) String() string { return fmt.Sprint(map[string]string(e)) }
func (e envList) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want NAME=value", v)
	}
	e[k] = val
	return nil
}

// runLoad is `gameday load`: by hand, flags; as the harness's child,
// --config FILE (a runner.Config as JSON).
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gameday load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg                  = runner.Config{Env: envList{}}
		configFile           string
		rate, stages, phones string
		duration, timeout    time.Duration
		maxFailed            float64
		quiet                bool
	)
	fs.StringVar(&configFile, "config", "", "run the load a JSON file describes (what the harness passes its child); no other flag with it")
	fs.StringVar(&cfg.Target, "target", "", "base URL the journeys call: the storefront's gateway (gameday up --json prints it) or your own service")
	fs.StringVar(&cfg.Journeys, "journeys", runner.Storefront, "what virtual users do: storefront (its shoppers) or a journey file (.yaml)")
	fs.StringVar(&cfg.Inbox, "inbox", "", "the storefront's OTP inbox URL (gameday up --json prints it as otp_inbox)")
	fs.StringVar(&cfg.Data, "data", "", "the storefront's seed data file (a run directory's load/shoppers.json)")
	fs.StringVar(&phones, "phones", "", "without --data: comma-separated phones the shoppers log in with (gameday up --json prints sample_phone)")
	fs.StringVar(&rate, "rate", "5/s", "iterations started per second: 20/s, 600/m or 2.5")
	fs.DurationVar(&duration, "duration", runner.DefaultDuration, "how long iterations are started")
	fs.StringVar(&stages, "stages", "", "a ramping arrival rate instead of --rate/--duration: DURATION:RATE,... from 0/s, e.g. 30s:50/s,1m:50/s,10s:0/s")
	fs.IntVar(&cfg.VUs, "vus", 0, "most virtual users at once (default: 10 × the peak rate, 10 to 2000)")
	fs.DurationVar(&timeout, "timeout", 0, "timeout of one request (default 10s)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the virtual users' random choices")
	fs.Var(envList(cfg.Env), "env", "a variable of the storefront's journeys, NAME=value (repeatable): GAMEDAY_LOGOUT=0.5")
	fs.StringVar(&cfg.Out, "out", "", "write the per-second series (JSON lines) to this file")
	fs.StringVar(&cfg.Observations, "observations", "", "the storefront's shoppers: write what they were told (checkouts, logins, codes; JSON lines) to this file")
	fs.Float64Var(&maxFailed, "max-failed", -1, "exit 1 when more than this share of requests failed (0..1; default: no limit)")
	fs.BoolVar(&quiet, "q", false, "no live line, only the summary")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gameday load --target URL [--journeys storefront|FILE.yaml] [--rate 20/s --duration 60s | --stages ...] [flags]")
		fmt.Fprintln(stderr, "\nDrives an open-model load (iterations start on schedule whatever the answers) and prints a live line per second")
		fmt.Fprintln(stderr, "and a summary. Exit codes: 0 done, 1 --max-failed crossed, 2 bad usage or journey file, 3 could not set up, 130 stopped.")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, "load", false, stderr); !ok {
		return code
	}
	if configFile != "" {
		if fs.NFlag() > 1 {
			fmt.Fprintln(stderr, "gameday load: --config takes no other flag")
			return exitUsage
		}
		return runner.Main([]string{"--config", configFile}, stdout, stderr)
	}
	r, err := parseRate(rate)
	if err != nil {
		fmt.Fprintf(stderr, "gameday load: --rate: %v\n", err)
		return exitUsage
	}
	cfg.Rate, cfg.Duration, cfg.Timeout, cfg.MaxFailed, cfg.Live = r, runner.Duration(duration), runner.Duration(timeout), maxFailed, !quiet
	if stages != "" {
		if cfg.Stages, err = parseStages(stages); err != nil {
			fmt.Fprintf(stderr, "gameday load: --stages: %v\n", err)
			return exitUsage
		}
		cfg.Rate, cfg.Duration = 0, 0
	}
	for _, p := range strings.Split(phones, ",") {
		if p = strings.TrimSpace(p); p != "" {
			cfg.Phones = append(cfg.Phones, p)
		}
	}
	if maxFailed > 1 {
		fmt.Fprintf(stderr, "gameday load: --max-failed %v: want a share from 0 to 1\n", maxFailed)
		return exitUsage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "gameday load: %v\n", err)
		return exitUsage
	}
	return runner.Run(ctx, cfg, stdout, stderr)
}

// parseRate reads "20/s", "600/m", "36000/h" or a plain number per second.
func parseRate(s string) (float64, error) {
	n, unit, hasUnit := strings.Cut(strings.TrimSpace(s), "/")
	v, err := strconv.ParseFloat(n, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q: want iterations per unit of time, like 20/s, 600/m or 2.5", s)
	}
	if !hasUnit {
		return v, nil
	}
	switch unit {
	case "s":
		return v, nil
	case "m":
		return v / 60, nil
	case "h":
		return v / 3600, nil
	}
	return 0, fmt.Errorf("%q: the unit is s, m or h, like 20/s", s)
}

// parseStages reads DURATION:RATE,DURATION:RATE.
func parseStages(s string) ([]load.Stage, error) {
	var out []load.Stage
	for _, part := range strings.Split(s, ",") {
		d, r, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("%q: want DURATION:RATE, like 30s:50/s", part)
		}
		dur, err := time.ParseDuration(d)
		if err != nil || dur <= 0 {
			return nil, fmt.Errorf("%q: %q is not a positive duration like 30s", part, d)
		}
		rate, err := parseRate(r)
		if err != nil {
			return nil, err
		}
		out = append(out, load.Stage{Target: rate, Duration: dur})
	}
	return out, nil
}
