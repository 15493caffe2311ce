package load

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
)

// k6's exit codes (go.k6.io/k6/errext/exitcodes) that Run tells apart.
const (
	ExitThresholds  = 99  // one or more thresholds crossed
	ExitStoppedREST = 103 // stopped through the REST API
	ExitConfig      = 104 // invalid options or flags
	ExitAborted     = 105 // aborted by a signal (SIGINT, SIGTERM)
	ExitRESTAPI     = 106 // the REST API could not listen on its address
	ExitScript      = 107 // the script threw, or could not be compiled
	ExitScriptAbort = 108 // the script called test.abort()
)

// exitMeaning says what k6's other exit codes mean, for ErrExit's message.
var exitMeaning = map[int]string{
	97:  "cloud test run failed",
	98:  "cloud progress could not be read",
	100: "setup() timed out",
	101: "teardown() timed out",
	102: "timed out",
	106: "its REST API could not listen",
	109: "k6 panicked",
	110: "the test was marked as failed",
}

// Errors a run ends with; test them with errors.Is. A run's error is an
// *ExitError that matches every one that applies: a run the harness stopped
// through a signal matches both ErrStopped and ErrAborted (or ErrKilled when
// k6 had not set up its signal handling yet, during init), and one stopped
// at Spec.MaxDuration matches ErrStopped and ErrTimeout.
var (
	// ErrThresholds: k6 exited 99, a threshold of the script was crossed.
	ErrThresholds = errors.New("k6 thresholds crossed")
	// ErrStopped: the run was stopped before its end, through k6's REST API
	// (exit 103) or, when that was not possible, by our signal.
	ErrStopped = errors.New("k6 run stopped")
	// ErrAborted: k6 exited 105, it received SIGINT or SIGTERM.
	ErrAborted = errors.New("k6 aborted by a signal")
	// ErrScript: k6 exited 107, the script threw or does not compile.
	ErrScript = errors.New("k6 script error")
	// ErrScriptAbort: k6 exited 108, the script called test.abort().
	ErrScriptAbort = errors.New("k6 run aborted by the script")
	// ErrConfig: k6 exited 104, its options or flags are invalid.
	ErrConfig = errors.New("k6 configuration invalid")
	// ErrKilled: the process died of a signal without an exit code.
	ErrKilled = errors.New("k6 killed")
	// ErrTimeout: the run went past Spec.MaxDuration and was stopped.
	ErrTimeout = errors.New("k6 run exceeded its time bound")
	// ErrExit: any other non-zero exit code (see ExitError.Code).
	ErrExit = errors.New("k6 failed")
)

// ExitError is how a k6 run that did not succeed ended.
type ExitError struct {
	Code   int            // exit code; -1 when killed by a signal
	Signal syscall.Signal // the signal that killed it, when Code is -1
	Stderr []string       // the last lines k6 wrote to stderr
	kinds  []error        // sentinels and causes it matches
}

// Error names the outcome and quotes k6's last stderr lines.
func (e *ExitError) Error() string {
	var b strings.Builder
	for i, k := range e.kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.Error())
	}
	if e.Code >= 0 {
		fmt.Fprintf(&b, " (exit code %d)", e.Code)
	} else {
		fmt.Fprintf(&b, " (signal %s)", e.Signal)
	}
	if len(e.Stderr) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Stderr, "\n"))
	}
	return b.String()
}

// Unwrap returns the sentinels (ErrScript…) and causes (context.Canceled…)
// the error matches.
func (e *ExitError) Unwrap() []error { return e.kinds }

// exitError classifies how k6 ended. code is -1 when killed by sig;
// stopCause is why the harness asked it to stop (nil when it did not).
// It returns nil for a clean exit.
func exitError(code int, sig syscall.Signal, stopCause error, stderr []string) error {
	var kinds []error
	switch {
	case code == 0:
		return nil
	case code == ExitThresholds:
		kinds = append(kinds, ErrThresholds)
	case code == ExitStoppedREST:
		kinds = append(kinds, ErrStopped)
	case code == ExitAborted:
		if stopCause != nil {
			kinds = append(kinds, ErrStopped)
		}
		kinds = append(kinds, ErrAborted)
	case code == ExitScript:
		kinds = append(kinds, ErrScript)
	case code == ExitScriptAbort:
		kinds = append(kinds, ErrScriptAbort)
	case code == ExitConfig:
		kinds = append(kinds, ErrConfig)
	case code < 0:
		if stopCause != nil {
			kinds = append(kinds, ErrStopped)
		}
		kinds = append(kinds, ErrKilled)
	case exitMeaning[code] != "":
		kinds = append(kinds, fmt.Errorf("%w: %s", ErrExit, exitMeaning[code]))
	default:
		kinds = append(kinds, ErrExit)
	}
	if stopCause != nil && !slices.Contains(kinds, stopCause) {
		kinds = append(kinds, stopCause)
	}
	tail := stderr
	if code == ExitStoppedREST || (stopCause != nil && (code == ExitAborted || code < 0)) {
		tail = nil // what k6 says about being stopped is noise
	}
	return &ExitError{Code: code, Signal: sig, Stderr: tail, kinds: kinds}
}
