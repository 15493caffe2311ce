package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestValidateJourneyFiles: validate tells a journey file from a scenario
// (by a name ending in .journeys.yaml or a journeys field) and checks it as
// one, with file:line for its problems; scenarios/examples validates whole.
func TestValidateJourneyFiles(t *testing.T) {
	dir := t.TempDir()
	good := writeScenarioFile(t, dir, "shop.yaml", "journeys: [{name: j, steps: [{name: s, url: /}]}]\n")
	bad := writeScenarioFile(t, dir, "bad.journeys.yaml", "think: 1x\njourneys: [{name: j, steps: [{name: s, url: /}]}]\n")
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		out, err []string
	}{
		{"by its field", []string{good}, exitOK, []string{"OK  " + good + " (1 journey)"}, nil},
		{"by its name, with a problem", []string{bad}, exitUsage, nil, []string{filepath.Base(bad) + ":1:8: think: malformed duration"}},
		{"the examples", []string{"../../scenarios/examples"}, exitOK,
			[]string{"inventory.journeys.yaml (2 journeys)", "inventory.topology.yaml (topology inventory", "inventory.yaml (inventory-stock-slow"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, context.Background(), append([]string{"validate"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.out {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout has no %q:\n%s", w, stdout)
				}
			}
			for _, w := range tc.err {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr has no %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestRunCompanionFiles: run (and sensitivity) skip the topology and
// journey files beside scenarios in a directory, refuse one named alone,
// and refuse a directory with nothing but those: nothing run is no pass.
func TestRunCompanionFiles(t *testing.T) {
	dir := t.TempDir()
	journeys := writeScenarioFile(t, dir, "shop.journeys.yaml", "journeys: [{name: j, steps: [{name: s, url: /}]}]\n")
	for _, tc := range []struct {
		name, arg, want string
	}{
		{"a topology named alone", "../../scenarios/examples/inventory.topology.yaml", "inventory.topology.yaml is a topology file, not a scenario"},
		{"a journey file named alone", journeys, "shop.journeys.yaml is a journey file, not a scenario"},
		{"a directory of journeys only", dir, dir + ": no scenario in the directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code, _, stderr := runCmd(t, ctx, "run", tc.arg)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit code %d, want %d, and %q in stderr:\n%s", code, exitUsage, tc.want, stderr)
			}
		})
	}
}
