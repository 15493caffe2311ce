package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gameday/gameday/internal/journal"
	"github.com/gameday/gameday/internal/judge"
)

// geometry are the attributes that only place things: the outline leaves
// them out, so that the golden files pin what the pages say and how they
// are built, not where each line's pixels fall.
var geometry = []string{"x", "y", "x1", "x2", "y1", "y2", "dx", "dy", "cx", "cy", "r", "width", "height", "points", "viewBox", "style"}

// outline renders an HTML page as an indented tree: each element with its
// attributes (but its geometry) and its own text, collapsed; <style> as its
// size. It fails tb when the page does not parse.
func outline(tb testing.TB, page []byte) []byte {
	tb.Helper()
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	var b bytes.Buffer
	depth := 0
	inStyle := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("the page does not parse: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			fmt.Fprintf(&b, "%s%s", strings.Repeat("  ", depth), tok.Name.Local)
			for _, a := range tok.Attr {
				if !slices.Contains(geometry, a.Name.Local) {
					fmt.Fprintf(&b, " %s=%q", a.Name.Local, a.Value)
				}
			}
			b.WriteByte('\n')
			depth++
			inStyle = tok.Name.Local == "style"
		case xml.EndElement:
			depth--
			inStyle = false
		case xml.CharData:
			text := strings.Join(strings.Fields(string(tok)), " ")
			switch {
			case text == "":
			case inStyle:
				fmt.Fprintf(&b, "%s(%d lines of CSS)\n", strings.Repeat("  ", depth), strings.Count(string(tok), "\n"))
			default:
				fmt.Fprintf(&b, "%s%q\n", strings.Repeat("  ", depth), text)
			}
		}
	}
	return b.Bytes()
}

func render(tb testing.TB, j *journal.Run) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := HTML(&b, j); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func TestHTMLGolden(t *testing.T) {
	page := render(t, fixture())
	golden(t, "report.outline.golden", outline(t, page))

	// The same journal renders the same page, byte for byte.
	if again := render(t, fixture()); !bytes.Equal(page, again) {
		t.Error("two renderings of one journal differ")
	}
}

func TestIndexGolden(t *testing.T) {
	pass := fixture()
	pass.Scenario, pass.Profile, pass.Features = "session-store-outage", "resilient", "circuit_breakers=on"
	pass.Verdicts = []judge.Verdict{{Check: "no_lost_session", Status: judge.Pass, Want: "no session lost", Measured: true}}
	broken := &journal.Run{Scenario: "otp-provider-down", Profile: "resilient", Err: "environment could not be set up: listen: address in use"}
	var b bytes.Buffer
	err := Index(&b, []Entry{
		{Href: "wallet-ambiguous-commit/report.html", Journal: fixture()},
		{Href: "session-store-outage/report.html", Journal: pass},
		{Href: "otp-provider-down/report.html", Journal: broken},
	})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "index.outline.golden", outline(t, b.Bytes()))
}

// TestHTMLSelfContained: the pages load nothing — no script, no stylesheet,
// font or image from anywhere — and say so to the browser (a CSP), so that
// they open offline and from an archive of CI artifacts.
func TestHTMLSelfContained(t *testing.T) {
	var index bytes.Buffer
	if err := Index(&index, []Entry{{Href: "a/report.html", Journal: fixture()}}); err != nil {
		t.Fatal(err)
	}
	external := regexp.MustCompile(`(?i)<script|<link|<img|<iframe|<object|@import|url\(|\bsrc=|https?://`)
	for name, page := range map[string][]byte{"report": render(t, fixture()), "index": index.Bytes()} {
		// The SVG namespace is a name, not something loaded.
		s := strings.ReplaceAll(string(page), `xmlns="http://www.w3.org/2000/svg"`, "")
		if m := external.FindAllString(s, -1); m != nil {
			t.Errorf("%s page refers to something outside itself: %q", name, m)
		}
		if !strings.Contains(s, `<meta http-equiv="Content-Security-Policy" content="default-src 'none';`) {
			t.Errorf("%s page has no Content-Security-Policy forbidding loads", name)
		}
	}
}

// TestHTMLEscapes: whatever a journal holds — it comes from scenario files
// and from the services' answers — reaches the page as text.
func TestHTMLEscapes(t *testing.T) {
	j := fixture()
	j.Scenario = `<script>alert("name")</script>`
	j.Description = `<img src=x onerror=alert(1)>`
	j.Faults[0].What = `checkout->wallet <b>bold</b> from 10s for 10s`
	j.Verdicts = append(j.Verdicts, judge.Verdict{Check: `"><svg onload=alert(2)>`, Status: judge.Fail,
		Want: "<= 400ms", Evidence: judge.Evidence{Count: 1, First: "</td></tr></table><script>x()</script>"}})
	j.Series[0].Tags = map[string]string{"endpoint": `</text><script>y()</script>`}
	j.Series[0].Metric = "http_req_duration"
	j.Versions["toxiproxy"] = `"><script>z()</script>`
	page := string(render(t, j))
	for _, bad := range []string{"<script", "<img", "<b>bold", "<svg onload", "</td></tr></table><"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q unescaped", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(", "&lt;img src=x", "&lt;b&gt;bold&lt;/b&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not show %q as text", want)
		}
	}
	outline(t, []byte(page)) // and it still parses
}

// TestHTMLWithoutData: a run that failed before its load still has a page,
// which says there is nothing to chart.
func TestHTMLWithoutData(t *testing.T) {
	j := &journal.Run{Scenario: "otp-provider-down", Profile: "resilient", Err: "environment could not be set up: listen: address in use"}
	page := string(render(t, j))
	for _, want := range []string{"UNKNOWN", "The run could not judge: environment could not be set up", "no data in the series", "No checks were judged", "No fault was carried out", "not recorded in the journal"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not say %q", want)
		}
	}
}

func TestHTMLCharts(t *testing.T) {
	j := fixture()
	tl := fold(j)
	x0, x1 := span(j, tl)
	if x0 != 0 || x1 != 41 {
		t.Errorf("span = %v..%v; want 0..41", x0, x1)
	}
	faults := faultSpans(j)
	if len(faults) != 4 {
		t.Fatalf("%d fault spans; want 4", len(faults))
	}
	// Each fault is labelled once, on a row of its own.
	var labels []string
	for _, f := range faults {
		if f.label != "" {
			labels = append(labels, fmt.Sprintf("%d:%s", f.lane, f.label))
		}
	}
	if want := []string{"0:checkout->wallet reset_peer", "1:kill wallet", "2:gateway->auth latency"}; !slices.Equal(labels, want) {
		t.Errorf("fault labels %q; want %q", labels, want)
	}
	c := newChart(chartSpec{ID: "c", Title: "t", Scale: scaleLinear, X0: x0, X1: x1}, tl.rateLines(), faults)
	if c.Empty || len(c.Lines) != 2 || len(c.Faults) != 4 {
		t.Fatalf("rate chart: empty %v, %d lines, %d faults", c.Empty, len(c.Lines), len(c.Faults))
	}
	if !c.Faults[1].Instant || c.Faults[0].Instant {
		t.Errorf("the kill is not drawn as an instant, or the toxic is")
	}
	// The plot's corners: 0s at its left, its last second at its right.
	if c.XTicks[0].Pos != c.X0 || c.XTicks[0].Label != "0s" {
		t.Errorf("first x tick %+v; want 0s at %v", c.XTicks[0], c.X0)
	}
	for _, b := range c.Faults {
		if b.X < c.X0 || b.X+b.W > c.X1 {
			t.Errorf("fault band %+v outside the plot %v..%v", b, c.X0, c.X1)
		}
	}
	// The logins stop at 36s: their line has a gap, not a drop to zero.
	lat := newChart(chartSpec{ID: "l", Scale: scaleLog, Small: true, X0: x0, X1: x1}, tl.latencyLines()[1:2], faults)
	if got := lat.Lines[0].Segments; len(got) != 1 || strings.Count(got[0], ",") != 36 {
		t.Errorf("login latency: %d segments of %v; want one of 36 seconds", len(got), got)
	}
	for _, b := range lat.Faults {
		if b.Label != "" {
			t.Errorf("a small chart labels a fault: %q", b.Label)
		}
	}
}
