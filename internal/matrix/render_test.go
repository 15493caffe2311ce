package matrix

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// sampleReport is a small measured matrix compared with an expected one:
// one journey worse than expected, one cell that could not run.
func sampleReport() Report {
	m := &Matrix{
		Profile: "resilient", Shape: DefaultShape, Links: []string{"gateway->wallet", "auth->sessions"},
		Faults: []Fault{FaultLatency, FaultReset}, Elapsed: 95 * time.Second,
		Cells: []Cell{
			graded("gateway->wallet", FaultLatency, "ok", "ok", "ok", "degraded~ok", "ok"),
			graded("gateway->wallet", FaultReset, "ok~degraded", "ok", "ok", "broken", "no_data"),
			graded("auth->sessions", FaultLatency, "broken", "broken", "no_data", "no_data", "no_data"),
			{Link: "auth->sessions", Fault: FaultReset, Err: "load: load failed (exit code 4)\nscript error"},
		},
	}
	return Report{
		Matrix: m, Against: "the expected matrix of resilient (scenarios/matrix.expected.json)", Gated: true,
		Regressions: []Regression{
			{Link: "gateway->wallet", Fault: FaultReset, Journey: "wallet", Want: "ok", Got: Broken, Reason: "because broken"},
		},
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	golden(t, "matrix.golden.md", b.Bytes())
}

func TestWriteMarkdownContrast(t *testing.T) {
	r := sampleReport()
	r.Gated = false
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "worse than (for contrast, not gated)") {
		t.Errorf("a contrast reads as a gate:\n%s", b.String())
	}
	r.Regressions = nil
	b.Reset()
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No journey is worse than") {
		t.Errorf("no regression not said:\n%s", b.String())
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines; want a header and 4 cells:\n%s", len(lines), b.String())
	}
	for _, want := range []string{"LINK", "CHECKOUT"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("header %q lacks %s", lines[0], want)
		}
	}
	if f := strings.Fields(lines[2]); len(f) != 7 || f[0] != "reset" || f[1] != "ok~" || f[4] != "broken!" || f[5] != "no" {
		t.Errorf("row %q: want the link left out, ~ for near, ! for worse than expected", lines[2])
	}
	if !strings.Contains(lines[4], "error") {
		t.Errorf("a cell that could not run: %q", lines[4])
	}
}

func TestWriteHTML(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		"<!DOCTYPE html>", "<style>",
		`<td class="link" rowspan="2">gateway-&gt;wallet</td>`,
		`<td class="degraded near" title="because degraded`,
		`<td class="broken regression"`, `<span class="want">want ok</span>`,
		`<td class="no_data"`, "no data</td>",
		"error: load: load failed (exit code 4)",
		"1 journey worse than the expected matrix of resilient",
		"degraded: success ≥ 50%",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// One self-contained file: nothing fetched from elsewhere.
	for _, ref := range []string{"<link", "<script", "src=", "http://", "https://"} {
		if strings.Contains(page, ref) {
			t.Errorf("the page refers to something outside it: %q", ref)
		}
	}
}
