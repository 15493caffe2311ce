package load

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
)

func TestExitError(t *testing.T) {
	tests := []struct {
		name  string
		code  int
		sig   syscall.Signal
		cause error
		want  []error
		not   []error
		text  string
	}{
		{name: "clean", code: 0},
		{name: "thresholds", code: 99, want: []error{ErrThresholds}, not: []error{ErrStopped, ErrExit}, text: "exit code 99"},
		{name: "REST stop", code: 103, cause: ErrStopped, want: []error{ErrStopped}, not: []error{ErrAborted}},
		{name: "REST stop by ctx", code: 103, cause: context.Canceled, want: []error{ErrStopped, context.Canceled}},
		{name: "config", code: 104, want: []error{ErrConfig}},
		{name: "signal from elsewhere", code: 105, want: []error{ErrAborted}, not: []error{ErrStopped}},
		{name: "signal from us", code: 105, cause: ErrTimeout, want: []error{ErrAborted, ErrStopped, ErrTimeout}},
		{name: "script", code: 107, want: []error{ErrScript}, text: "boom"},
		{name: "script abort", code: 108, want: []error{ErrScriptAbort}},
		{name: "setup timeout", code: 100, want: []error{ErrExit}, text: "setup() timed out"},
		{name: "unknown code", code: 42, want: []error{ErrExit}, text: "exit code 42"},
		{name: "killed", code: -1, sig: syscall.SIGKILL, want: []error{ErrKilled}, not: []error{ErrStopped}, text: "signal killed"},
		{name: "killed by us", code: -1, sig: syscall.SIGKILL, cause: ErrStopped, want: []error{ErrKilled, ErrStopped}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := exitError(tt.code, tt.sig, tt.cause, []string{"error: boom"})
			if tt.code == 0 {
				if err != nil {
					t.Fatalf("exit 0 gave %v", err)
				}
				return
			}
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != tt.code {
				t.Fatalf("error %v, want an *ExitError with code %d", err, tt.code)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("%q does not match %q", err, w)
				}
			}
			for _, n := range tt.not {
				if errors.Is(err, n) {
					t.Errorf("%q matches %q", err, n)
				}
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("%q does not say %q", err, tt.text)
			}
		})
	}
}
