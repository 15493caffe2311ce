package report

import (
	"bytes"
	"encoding/json"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/probe"
	"github.com/gameday/gameday/internal/scenario"
)

// TestProbeVerdictsRendered: a probe check's verdict, decided by the judge
// from the runs a journal holds, shows in every report as the other checks
// do, also when the journal is read back from its JSON.
func TestProbeVerdictsRendered(t *testing.T) {
	sc, err := scenario.Parse("t.yaml", []byte(`load: {duration: 40s}
checks:
  - {probe: http, name: gateway health, url: "{gateway}/healthz", every: 2s, expect: status == 200}
`))
	if err != nil {
		t.Fatal(err)
	}
	j := fixture()
	for i := range 19 {
		r := probe.Result{Check: "gateway health", At: j.LoadStart.Add(time.Duration(2*(i+1)) * time.Second), Took: 2 * time.Millisecond, OK: true, Answer: "200 ok"}
		if i == 5 {
			r.OK, r.Answer, r.Err, r.Took = false, "", "GET: context deadline exceeded", 2*time.Second
		}
		j.Probes = append(j.Probes, r)
	}
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	js, err := ReadJournals(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	j = js[0]
	if len(j.Probes) != 19 || !j.Probes[5].At.Equal(j.LoadStart.Add(12*time.Second)) {
		t.Fatalf("probes read back: %d, %+v", len(j.Probes), j.Probes[5])
	}
	v := judge.Verdicts(&judge.Run{Timeline: judge.Timeline{Start: j.LoadStart, Duration: 40 * time.Second}, Probes: j.Probes}, sc.Checks)
	if v[0].Status != judge.Fail || v[0].Evidence.First != "+12.0s: no answer: GET: context deadline exceeded (2s)" {
		t.Fatalf("verdict %s", v[0])
	}
	j.Verdicts = v
	s := SuiteOf(j)
	var table, junit, md, page bytes.Buffer
	if err := Table(&table, s); err != nil {
		t.Fatal(err)
	}
	if err := JUnit(&junit, []Suite{s}); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&md, []Suite{s}); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&page, j); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"table": table.String(), "JUnit": junit.String(), "Markdown": md.String(), "HTML": html.UnescapeString(page.String())} {
		for _, want := range []string{"gateway health", "+12.0s: no answer: GET: context deadline exceeded"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q:\n%s", name, want, out)
			}
		}
	}
	if !strings.Contains(junit.String(), "<failure") {
		t.Errorf("JUnit does not fail the probe:\n%s", junit.String())
	}
}
