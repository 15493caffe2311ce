package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/gameday/gameday/internal/engine"
	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/mockstore"
)

// envConfig is what every command that starts a storefront reads from flags.
type envConfig struct {
	Runtime   string
	Profile   string
	Overrides []string // name=on|off
	Seed      int64
	Shoppers  int
	Dir       string
	ProxyAddr string
	Verbose   bool
	Services  featureList        // --service (up only)
	topology  *topology.Topology // the storefront with Services in place; set by Validate
}

// The range of --shoppers; the upper bound is env.Options.Validate's.
const (
	minShoppers = 1
	maxShoppers = 100_000
)

// featureList collects repeated --feature flags.
type featureList []string

func (f *featureList) String() string     { return strings.Join(*f, ",") }
func (f *featureList) Set(v string) error { *f = append(*f, v); return nil }

func (c *envConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Runtime, "runtime", engine.RuntimeInproc, "where the storefront runs: inproc (in this process) or docker (a container per service)")
	fs.StringVar(&c.Profile, "profile", mockstore.ProfileResilient, "resilience profile: resilient or naive")
	fs.Var((*featureList)(&c.Overrides), "feature", "turn one feature on or off, name=on|off (repeatable)")
	fs.Int64Var(&c.Seed, "seed", 1, "seed for shoppers, products and couriers")
	fs.IntVar(&c.Shoppers, "shoppers", 100, fmt.Sprintf("number of seeded shoppers, %d to %d", minShoppers, maxShoppers))
	fs.StringVar(&c.Dir, "dir", "", "directory for the stores (default: a temporary directory, removed at exit)")
	fs.StringVar(&c.ProxyAddr, "toxiproxy-addr", "127.0.0.1:0", "address of the Toxiproxy API (loopback unless told otherwise)")
	fs.BoolVar(&c.Verbose, "v", false, "log what the services do to stderr")
}

// Validate checks the flags and resolves the feature set.
func (c *envConfig) Validate() (mockstore.Features, error) {
	if !slices.Contains(engine.Runtimes(), c.Runtime) {
		return nil, fmt.Errorf("--runtime %q: allowed values: %s", c.Runtime, strings.Join(engine.Runtimes(), ", "))
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
	if c.Shoppers < minShoppers || c.Shoppers > maxShoppers {
		return nil, fmt.Errorf("--shoppers %d: want %d to %d", c.Shoppers, minShoppers, maxShoppers)
	}
	svcs, err := parseServices(c.Services)
	if err != nil {
		return nil, err
	}
	if c.topology, err = replaceServices(topology.Default(), svcs); err != nil {
		return nil, err
	}
	if err := topology.CheckRuntime(c.topology, c.Runtime); err != nil {
		return nil, err
	}
	return feats, nil
}

func (c *envConfig) options(feats mockstore.Features, stderr io.Writer) env.Options {
	level := slog.LevelWarn
	if c.Verbose {
		level = slog.LevelDebug
	}
	return env.Options{
		Features:      feats,
		Profile:       c.Profile,
		Seed:          c.Seed,
		Shoppers:      c.Shoppers,
		Dir:           c.Dir,
		ToxiproxyAddr: c.ProxyAddr,
		Topology:      c.topology,
		Logger:        slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	}
}

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gameday up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg envConfig
	cfg.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object describing the environment once it is ready")
	fs.Var(&cfg.Services, "service", serviceUsage)
	if code, ok := parseFlags(fs, args, "up", false, stderr); !ok {
		return code
	}
	feats, err := cfg.Validate()
	if err != nil {
		fmt.Fprintf(stderr, "gameday up: %v\n", err)
		return exitUsage
	}
	e, err := engine.StartEnv(ctx, cfg.Runtime, cfg.options(feats, stderr))
	if err != nil {
		fmt.Fprintf(stderr, "gameday up: start the storefront: %v\n", err)
		if ctx.Err() != nil {
			return exitInterrupted // and whatever had started is gone
		}
		return exitEnvironment
	}
	info := e.Info()
	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(info); err != nil {
			fmt.Fprintf(stderr, "gameday up: %v\n", err)
		}
	} else {
		printInfo(stdout, info)
		fmt.Fprintln(stdout, "\nReady. Break it with toxiproxy-cli (or its HTTP API); Ctrl-C stops everything.")
	}
	<-ctx.Done()
	if err := e.Close(); err != nil {
		fmt.Fprintf(stderr, "gameday up: clean up: %v\n", err)
		return exitEnvironment
	}
	fmt.Fprintln(stderr, "gameday up: stopped; every proxy, port and store closed")
	return exitOK
}

func printInfo(w io.Writer, info env.Info) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "runtime\t%s (profile %s, seed %d, %d shoppers)\n", info.Runtime, info.Profile, info.Seed, info.Shoppers)
	fmt.Fprintf(tw, "gateway\t%s\n", info.Gateway)
	fmt.Fprintf(tw, "toxiproxy API\t%s\n", info.Toxiproxy)
	fmt.Fprintf(tw, "otp inbox\t%s/inbox/{phone}\n", info.OTPInbox)
	fmt.Fprintf(tw, "sample phone\t%s\n", info.SamplePhone)
	fmt.Fprintf(tw, "stores\t%s\n", cmp.Or(info.Dir, "in the containers"))
	if info.Run != "" {
		fmt.Fprintf(tw, "containers\tlabelled %s=%s\n", env.DockerLabelRun, info.Run)
	}
	names := make([]string, 0, len(info.Audit))
	for n := range info.Audit {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(tw, "audit %s\t%s\n", n, info.Audit[n])
	}
	for _, l := range mockstore.Links() {
		fmt.Fprintf(tw, "link %s\tproxy %s\n", l.Name, info.Links[l.Name])
	}
	tw.Flush()
}
