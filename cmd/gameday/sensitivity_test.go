package main

import (
	"context"
	"strings"
	"testing"
)

func TestSensitivityBadSeeds(t *testing.T) {
	for _, n := range []string{"0", "21", "x"} {
		code, stdout, stderr := runCmd(t, context.Background(), "sensitivity", "--seeds", n, "session-store-outage")
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, "seeds") {
			t.Errorf("--seeds %s: exit %d, stdout %q, stderr %q; want %d and the flag named", n, code, stdout, stderr, exitUsage)
		}
	}
}
