package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/journal"
)

// chromium returns the path of a Chromium (or Chrome) binary on PATH, or
// skips tb saying how to get one.
func chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	tb.Skip("no chromium on PATH to open the report in (Debian: apt-get install chromium, or make deps)")
	return ""
}

// browse opens the file at path in a headless Chromium, which writes a
// screenshot to shot and prints the DOM as it rendered it. It returns the
// DOM and the console messages the page caused.
func browse(tb testing.TB, bin, path, shot string) (dom string, console []string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	abs, err := filepath.Abs(path)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--no-first-run", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--user-data-dir="+tb.TempDir(), // its own profile: no lock shared with another browser
		"--window-size=1280,3600",
		"--enable-logging=stderr", "--v=0", // console messages go to stderr
		"--dump-dom", "--screenshot="+shot,
		"file://"+filepath.ToSlash(abs))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			console = append(console, line)
		}
	}
	return stdout.String(), console
}

// TestHTMLInChromium opens a report and an index in a real browser: no
// console message (a blocked load, a CSP violation, a script error), the
// verdict and every chart in the rendered DOM, and a screenshot, kept with
// -artifacts, to look at.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	report := filepath.Join(dir, "wallet-ambiguous-commit", "report.html")
	if err := os.MkdirAll(filepath.Dir(report), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(report, render(t, fixture()), 0o644); err != nil {
		t.Fatal(err)
	}
	var index bytes.Buffer
	if err := Index(&index, []Entry{{Href: "wallet-ambiguous-commit/report.html", Journal: fixture()}}); err != nil {
		t.Fatal(err)
	}
	indexPath := filepath.Join(dir, "index.html")
	if err := os.WriteFile(indexPath, index.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	shot := filepath.Join(t.ArtifactDir(), "report.png")
	dom, console := browse(t, bin, report, shot)
	if len(console) > 0 {
		t.Errorf("the report caused console messages:\n%s", strings.Join(console, "\n"))
	}
	charts := regexp.MustCompile(`<svg class="chart"[^>]*>`).FindAllString(dom, -1)
	// Request rate, journey success, and latency for each of 3 endpoints.
	if len(charts) != 5 {
		t.Errorf("%d charts in the rendered page; want 5", len(charts))
	}
	for _, want := range []string{`id="verdict" class="verdict fail"`, `id="chart-rate"`, `id="chart-journeys"`, `id="chart-latency"`, "<polyline", `class="fault"`, "checkout-&gt;wallet reset_peer"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page has no %s", want)
		}
	}
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 20_000 {
		t.Errorf("the screenshot is %d bytes, not a page's worth of PNG", len(png))
	}
	t.Logf("screenshot: %s", shot)

	dom, console = browse(t, bin, indexPath, filepath.Join(t.ArtifactDir(), "index.png"))
	if len(console) > 0 {
		t.Errorf("the index caused console messages:\n%s", strings.Join(console, "\n"))
	}
	if !strings.Contains(dom, `href="wallet-ambiguous-commit/report.html"`) {
		t.Error("the rendered index does not link the report")
	}
}

// TestChromiumSeesConsoleErrors: the check above can fail — a page that
// tries to load from the network is caught.
func TestChromiumSeesConsoleErrors(t *testing.T) {
	bin := chromium(t)
	page := filepath.Join(t.TempDir(), "bad.html")
	// The report's own CSP, and a stylesheet it forbids.
	head := string(render(t, &journal.Run{Scenario: "x"}))
	head = head[:strings.Index(head, "</head>")]
	bad := head + `<link rel="stylesheet" href="https://fonts.example.com/x.css"></head><body>x</body></html>`
	if err := os.WriteFile(page, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, console := browse(t, bin, page, filepath.Join(t.TempDir(), "bad.png"))
	if len(console) == 0 {
		t.Error("a page loading a stylesheet from the network caused no console message")
	}
}
