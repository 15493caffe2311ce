package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gameday/gameday/internal/journal"
	"github.com/gameday/gameday/internal/judge"
)

// Suite is one scenario's outcome as the verdict table and JUnit show it.
type Suite struct {
	Name     string          // the scenario
	Profile  string          // the features' profile it ran on, e.g. "resilient"
	Features string          // name=on|off,... of the run
	Elapsed  time.Duration   // the whole run, environment included
	Verdicts []judge.Verdict // in the scenario's order
	// Err is why the run could not judge its checks (the environment did
	// not start, the load failed); such a suite is an error whatever its
	// verdicts.
	Err string
}

// Outcome is the suite's overall status: unknown when the run failed
// before it could judge.
func (s Suite) Outcome() judge.Status { return judge.Outcome(s.Verdicts, s.Err) }

// SuiteOf is a run as the verdict table, JUnit and Markdown show it.
func SuiteOf(j *journal.Run) Suite {
	return Suite{Name: j.Scenario, Profile: j.Profile, Features: j.Features, Elapsed: j.Elapsed, Verdicts: j.Verdicts, Err: j.Err}
}

// statusMark is how the table shows a status.
func statusMark(s judge.Status) string {
	switch s {
	case judge.Pass:
		return "PASS"
	case judge.Fail:
		return "FAIL"
	}
	return "UNKNOWN"
}

// Table writes the verdict table of a suite: one row per check with what
// was measured against what was wanted and the evidence of a check that did
// not pass, then the suite's outcome.
func Table(w io.Writer, s Suite) error {
	fmt.Fprintf(w, "\n%s", s.Name)
	if s.Profile != "" {
		fmt.Fprintf(w, " (profile %s)", s.Profile)
	}
	fmt.Fprintln(w)
	if len(s.Verdicts) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  STATUS\tCHECK\tGOT\tWANT")
		for _, v := range s.Verdicts {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", statusMark(v.Status), v.Check, v.GotText(), v.Want)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, v := range s.Verdicts {
		if v.Status == judge.Pass {
			continue
		}
		fmt.Fprintf(w, "  %s %s: %s\n", statusMark(v.Status), v.Check, evidence(v))
	}
	if s.Err != "" {
		fmt.Fprintf(w, "  ERROR %s\n", s.Err)
	}
	passed := 0
	for _, v := range s.Verdicts {
		if v.Status == judge.Pass {
			passed++
		}
	}
	_, err := fmt.Fprintf(w, "  => %s: %d of %d checks passed\n", statusMark(s.Outcome()), passed, len(s.Verdicts))
	return err
}

// evidence renders why a verdict did not pass, in one line.
func evidence(v judge.Verdict) string {
	var parts []string
	if v.Reason != "" {
		parts = append(parts, v.Reason)
	}
	e := v.Evidence
	if e.Count > 0 {
		parts = append(parts, fmt.Sprintf("%d offending of %d", e.Count, e.Samples))
	} else if v.Reason == "" {
		parts = append(parts, fmt.Sprintf("%d samples", e.Samples))
	}
	if e.First != "" {
		parts = append(parts, "first: "+e.First)
	}
	if e.Worst != "" && e.Worst != e.First {
		parts = append(parts, "worst: "+e.Worst)
	}
	return strings.Join(parts, "; ")
}

// JUnit XML, as CI systems read it: a testsuite per scenario, a testcase per
// check. A failed check is a <failure>, an unknown one an <error> (it could
// not be judged, and it does not pass either); a run that failed before it
// could judge is one <error> testcase named "run".
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// JUnit writes the suites as one JUnit XML document.
func JUnit(w io.Writer, suites []Suite) error {
	doc := junitSuites{Name: "gameday"}
	var total time.Duration
	for _, s := range suites {
		js := junitSuite{Name: s.Name, Time: seconds(s.Elapsed)}
		if s.Profile != "" {
			js.Properties = append(js.Properties, junitProperty{"profile", s.Profile})
		}
		if s.Features != "" {
			js.Properties = append(js.Properties, junitProperty{"features", s.Features})
		}
		for _, v := range s.Verdicts {
			c := junitCase{Name: v.Check, Classname: s.Name, Time: "0", SystemOut: v.String()}
			p := &junitProblem{Message: fmt.Sprintf("got %s, want %s", v.GotText(), v.Want), Text: evidence(v)}
			switch v.Status {
			case judge.Pass:
			case judge.Fail:
				p.Type, c.Failure = "fail", p
				js.Failures++
			default:
				p.Type, c.Error = "unknown", p
				js.Errors++
			}
			js.Cases = append(js.Cases, c)
		}
		if s.Err != "" {
			js.Cases = append(js.Cases, junitCase{Name: "run", Classname: s.Name, Time: "0",
				Error: &junitProblem{Message: s.Err, Type: "error", Text: s.Err}})
			js.Errors++
		}
		js.Tests = len(js.Cases)
		doc.Tests += js.Tests
		doc.Failures += js.Failures
		doc.Errors += js.Errors
		total += s.Elapsed
		doc.Suites = append(doc.Suites, js)
	}
	doc.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
