// Command gameday rehearses checkout outages: it runs a mock storefront whose
// every link goes through Toxiproxy, drives shoppers with its own load engine, injects faults
// on a timeline and judges how gracefully the storefront degraded.
//
// One static binary does everything; main only wires. Exit codes are the CI
// contract of DESIGN.md: 0 pass, 1 a check failed or was unknown, 2 bad usage
// or scenario file, 3 the environment could not be set up, 130 interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// Exit codes.
const (
	exitOK          = 0
	exitFail        = 1
	exitUsage       = 2
	exitEnvironment = 3
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand: its one-line help and what runs it.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"run":         {"run scenarios: storefront up, faults on a timeline under load, verdicts", runRun},
		"validate":    {"check scenario files without running them", runValidate},
		"sensitivity": {"prove each scenario: pass on resilient, fail on naive and with each guarded feature off", runSensitivity},
		"matrix":      {"resilience matrix: each link × fault, each journey ok/degraded/broken, gated on the expected one", runMatrix},
		"report":      {"render the HTML reports and Markdown summary again from journals", runReport},
		"list":        {"list the built-in scenarios with what they guard", runList},
		"up":          {"start the storefront (or --topology FILE, your own system) behind Toxiproxy and keep it running until Ctrl-C", runUp},
		"demo":        {"run the headline scenario (the 22 March 2022 replay) in-process, with verdicts and a report", runDemo},
		"walk":        {"start the storefront and walk one shopper through it, step by step", runWalk},
		"load":        {"drive load at a storefront (gameday up) or any URL: journeys, rate, duration; a live line and a summary", runLoad},
		"version":     {"print gameday's version and its parts'", runVersion},
		"serve":       {"run one storefront service (what the docker runtime's containers run)", runServe},
		"proxy":       {"run Toxiproxy with gameday's toxics (the docker runtime's proxy container)", runProxy},
		"clean":       {"remove the containers and networks earlier docker runs left behind", runClean},
	}
}

// run is the whole program short of process exit, so tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return exitOK
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "gameday: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return cmd.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: gameday <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	cmds := commands()
	for _, name := range []string{"run", "validate", "sensitivity", "matrix", "report", "list", "up", "demo", "walk", "load", "version", "clean"} {
		fmt.Fprintf(w, "  %-12s %s\n", name, cmds[name].summary)
	}
	fmt.Fprintln(w, "\nRun 'gameday <command> -h' for a command's flags.")
}

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "gameday %s\n", version())
	if v := depVersion("github.com/Shopify/toxiproxy/v2"); v != "" {
		fmt.Fprintf(stdout, "toxiproxy %s\n", v)
	}
	return exitOK
}

// version returns the main module's version from the build info ("devel" for
// a build from a work tree).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return "devel"
	}
	return bi.Main.Version
}

func depVersion(path string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range bi.Deps {
		if d.Path == path {
			return d.Version
		}
	}
	return ""
}

// parseFlags parses args into fs. When the command should end at once it
// returns ok false and the exit code: 0 after -h (the usage is printed), 2
// for a bad flag (the flag package has said why) or, unless argsOK, for an
// argument after the flags (said here, naming the command cmd).
func parseFlags(fs *flag.FlagSet, args []string, cmd string, argsOK bool, stderr io.Writer) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if !argsOK && fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gameday %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return exitUsage, false
	}
	return 0, true
}
