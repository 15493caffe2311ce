// Package load drives shoppers with k6, which is linked into our binary.
//
// Two halves live here. In the child, Main hands the process over to k6 with
// our output extension registered ("gameday": per-second series by tag, see
// Output). In the harness, Run starts that child — our own binary, re-executed
// as `gameday k6 run …` — streams its series live, stops it on request or at a
// time bound, leaves no process behind and turns k6's exit codes into errors
// one can test with errors.Is.
package load

import (
	"os"
	"runtime/debug"
	"sync"

	k6cmd "go.k6.io/k6/cmd"
	"go.k6.io/k6/output"
)

// Environment defaults for every k6 we start, unless the user set them:
// there is no network to fetch extensions from, and no telemetry by surprise.
var defaultEnv = map[string]string{
	"K6_AUTO_EXTENSION_RESOLUTION": "false",
	"K6_NO_USAGE_REPORT":           "true",
}

var registerOnce sync.Once

// register adds our extensions to k6's registry; safe to call more than once.
func register() {
	registerOnce.Do(func() {
		output.RegisterExtension(OutputName, NewOutput)
	})
}

// gcPercent is the child's GC target unless GOGC is set: k6 allocates for
// every request, and a target of 200% bought about a fifth more requests per
// second on 2 cores (BenchmarkK6VsWrk) for a few MB more heap.
const gcPercent = 200

// Main runs k6 with args (what follows "k6" on our command line: "run
// script.js", "version", "inspect x.js"…) and never returns: k6 exits the
// process with its own exit code. It registers our extensions, sets the
// defaultEnv variables the user has not set and, unless GOGC is set, the
// GC target gcPercent.
func Main(args []string) {
	register()
	for k, v := range defaultEnv {
		if _, ok := os.LookupEnv(k); !ok {
			_ = os.Setenv(k, v)
		}
	}
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(gcPercent)
	}
	os.Args = append([]string{"k6"}, args...)
	k6cmd.Execute()
	os.Exit(0) // not reached: Execute always exits
}
