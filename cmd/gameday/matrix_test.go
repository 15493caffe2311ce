package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday/gameday/internal/matrix"
	"github.com/gameday/gameday/scenarios"
)

func TestMatrixBadInput(t *testing.T) {
	dir := t.TempDir()
	badJSON := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badJSON, []byte(`{"profiles": {"resilient": [{"link": "gateway->wallet", "fault": "reset", "grades": {"wallet": "fine"}}]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown link", []string{"--links", "gateway->walet"}, []string{"gateway->wallet", "client->gateway"}},
		{"unknown fault", []string{"--faults", "latency,crash"}, []string{`"crash"`, "http_5xx"}},
		{"unknown profile", []string{"--profile", "paranoid"}, []string{"resilient", "naive"}},
		{"parallel", []string{"--parallel", "0"}, []string{"want 1 to 16"}},
		{"an argument", []string{"gateway->wallet"}, []string{"--links"}},
		{"no expected file", []string{"--expected", filepath.Join(dir, "none.json")}, []string{"none.json"}},
		{"bad expected file", []string{"--expected", badJSON}, []string{badJSON, "gateway->wallet × reset", `"fine"`, "no_data"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"matrix"}, tt.args...), &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit %d; want %d\nstderr: %s", code, exitUsage, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr.String())
				}
			}
			if strings.Contains(stdout.String(), "[1/") {
				t.Errorf("a cell ran:\n%s", stdout.String())
			}
		})
	}
}

// TestBuiltinExpectedMatrix: the expected matrix the binary carries parses
// and holds every cell of the resilient profile, so that the gate covers
// the whole matrix.
func TestBuiltinExpectedMatrix(t *testing.T) {
	b, err := fs.ReadFile(scenarios.FS, scenarios.ExpectedMatrixFile)
	if err != nil {
		t.Fatal(err)
	}
	e, err := matrix.ParseExpected(scenarios.ExpectedMatrixFile, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range matrix.Links() {
		for _, f := range matrix.Faults() {
			c, ok := e.Cell("resilient", l, f)
			if !ok {
				t.Errorf("no expectation for %s", matrix.CellName(l, f))
				continue
			}
			if len(c.Grades) != len(matrix.Journeys()) {
				t.Errorf("%s: grades for %d journeys; want %d", c.Name(), len(c.Grades), len(matrix.Journeys()))
			}
		}
	}
	if string(e.Marshal()) != string(b) {
		t.Error("the file is not as Marshal writes it (one cell a line): write it with --update-expected")
	}
}

// gateCell is a measured cell whose journeys have the grades given, in
// journey order.
func gateCell(link string, f matrix.Fault, grades ...matrix.Grade) matrix.Cell {
	c := matrix.Cell{Link: link, Fault: f}
	for i, g := range grades {
		c.Journeys = append(c.Journeys, matrix.Judgement{Journey: matrix.Journeys()[i], Grade: g, Reason: "measured " + string(g)})
	}
	return c
}

// TestMatrixGate: the gate on measured matrices made up here (no load): exit 1
// naming every journey worse than expected, 0 otherwise; a profile without
// an expectation is contrasted with resilient's and not gated.
func TestMatrixGate(t *testing.T) {
	const expectedJSON = `{"profiles": {"resilient": [
	  {"link": "gateway->wallet", "fault": "reset", "grades": {"login": "ok", "browse": "ok", "cart": "ok", "wallet": "ok|degraded", "checkout": "ok"}},
	  {"link": "auth->sessions", "fault": "reset", "grades": {"login": "broken", "browse": "broken", "cart": "broken", "wallet": "broken", "checkout": "broken"}}
	]}}`
	expected, err := matrix.ParseExpected("expected.json", []byte(expectedJSON))
	if err != nil {
		t.Fatal(err)
	}
	ok, degraded, broken, noData := matrix.OK, matrix.Degraded, matrix.Broken, matrix.NoData
	asExpected := gateCell("gateway->wallet", matrix.FaultReset, ok, ok, ok, degraded, ok)
	sessions := gateCell("auth->sessions", matrix.FaultReset, broken, broken, broken, broken, noData) // no data ranks with broken
	tests := []struct {
		name    string
		profile string
		cells   []matrix.Cell
		code    int
		want    []string
	}{
		{"as expected", "resilient", []matrix.Cell{asExpected, sessions}, exitOK,
			[]string{"PASS: no journey worse than the expected matrix of resilient (expected.json)"}},
		{"worse than expected", "resilient", []matrix.Cell{
			gateCell("gateway->wallet", matrix.FaultReset, ok, ok, degraded, broken, noData), sessions,
		}, exitFail, []string{
			"FAIL: 3 journeys worse than the expected matrix of resilient",
			"gateway->wallet × reset: cart degraded, want ok (measured degraded)",
			"gateway->wallet × reset: wallet broken, want ok|degraded (measured broken)",
			"gateway->wallet × reset: checkout no data, want ok (measured no_data)",
		}},
		{"a cell that could not run", "resilient", []matrix.Cell{
			{Link: "gateway->wallet", Fault: matrix.FaultReset, Err: "load: load failed (exit code 4)", Dir: "/tmp/x"},
		}, exitFail, []string{"ERROR gateway->wallet × reset: load: load failed (exit code 4)", "wallet no data, want ok|degraded"}},
		{"a cell the file does not name", "resilient", []matrix.Cell{
			asExpected, gateCell("client->gateway", matrix.FaultDown, broken, broken, noData, noData, noData),
		}, exitOK, []string{"PASS", "no expectation for client->gateway × down"}},
		{"naive, for contrast", "naive", []matrix.Cell{
			gateCell("gateway->wallet", matrix.FaultReset, ok, ok, ok, broken, noData), sessions,
		}, exitOK, []string{
			"not gated: expected.json has no expected matrix of naive; 2 journeys are worse than resilient's (contrast)",
			"gateway->wallet × reset: wallet broken, want ok|degraded",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			m := &matrix.Matrix{Profile: tt.profile, Shape: matrix.DefaultShape, Cells: tt.cells}
			code := finishMatrix(matrixConfig{Profile: tt.profile, Markdown: filepath.Join(out, "summary.md")},
				m, expected, "expected.json", "", out, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d; want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout does not say %q:\n%s", w, stdout.String())
				}
			}
			for _, f := range []string{"matrix.html", "matrix.md", "matrix.json", "summary.md"} {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Errorf("%s not written: %v", f, err)
				}
			}
		})
	}
}

func TestMatrixUpdateExpected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "expected.json")
	m := &matrix.Matrix{Profile: "resilient", Shape: matrix.DefaultShape, Cells: []matrix.Cell{
		gateCell("gateway->wallet", matrix.FaultReset, matrix.OK, matrix.OK, matrix.OK, matrix.Broken, matrix.NoData),
	}}
	var stdout, stderr bytes.Buffer
	// A worse matrix does not fail an update: it is the new expectation.
	code := finishMatrix(matrixConfig{Profile: "resilient"}, m, nil, path, path, t.TempDir(), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := matrix.ParseExpected(path, b)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := e.Cell("resilient", "gateway->wallet", matrix.FaultReset)
	if !ok || c.Grades["wallet"] != "broken" || e.About == "" {
		t.Errorf("written:\n%s", b)
	}
	if _, ok := c.Grades["checkout"]; ok { // measured no data: never expected
		t.Errorf("no data written as expected:\n%s", b)
	}
}

// TestMatrixCommand runs one cell end to end: the command, the load, the files,
// and --update-expected.
func TestMatrixCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs one matrix cell runs the load")
	}
	t.Parallel() // a run waits on its timeline more than it computes
	dir := t.TempDir()
	out, expected, summary := filepath.Join(dir, "out"), filepath.Join(dir, "expected.json"), filepath.Join(dir, "summary.md")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"matrix", "--links", "gateway->wallet", "--faults", "reset", "--quick",
		"--out", out, "--markdown", summary, "--expected", expected, "--update-expected"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, w := range []string{"matrix: resilient, 1 cells", "[1/1] gateway->wallet × reset", "login ", "checkout ", "wrote the expected matrix of resilient"} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("stdout does not say %q:\n%s", w, stdout.String())
		}
	}
	for _, f := range []string{filepath.Join(out, "matrix.html"), filepath.Join(out, "matrix.md"), filepath.Join(out, "matrix.json"), summary,
		filepath.Join(out, "cells", "gateway-wallet", "reset", "journal.json")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("not written: %v", err)
		}
	}
	b, err := os.ReadFile(expected)
	if err != nil {
		t.Fatal(err)
	}
	e, err := matrix.ParseExpected(expected, b)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := e.Cell("resilient", "gateway->wallet", matrix.FaultReset); !ok || len(c.Grades) != len(matrix.Journeys()) {
		t.Errorf("expected file:\n%s", b)
	}
	t.Logf("%s", stdout.String())
}
