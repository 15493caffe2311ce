package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/internal/series"
)

// Journal is one scenario run as its JSON journal records it: what the HTML
// and Markdown reports are rendered from. It decodes the engine's journal
// (journal.json) without this package knowing the engine; the parts of the
// journal no report shows (the audits) are left out.
type Journal struct {
	Scenario string `json:"scenario"`
	// Description says what the scenario rehearses. The engine's journal
	// does not record it yet: the caller fills it in from the scenario.
	Description string      `json:"description,omitempty"`
	File        string      `json:"file"`
	Compressed  bool        `json:"compressed"` // the timeline was compressed (--quick)
	Profile     string      `json:"profile"`
	Features    string      `json:"features"` // name=on|off,...
	Seed        int64       `json:"seed"`
	Environment Environment `json:"environment"`
	// Versions names the version of each component that ran (gameday,
	// toxiproxy, go). The engine's journal does not record them yet: the
	// caller fills them in when it knows them.
	Versions  map[string]string   `json:"versions,omitempty"`
	Started   time.Time           `json:"started"`    // when the run began
	LoadStart time.Time           `json:"load_start"` // offset 0 of the timeline
	Elapsed   time.Duration       `json:"elapsed_ns"`
	Faults    []FaultEvent        `json:"fault_events"`
	Intervals []scenario.Interval `json:"fault_intervals"` // when each fault was actually in place
	Load      LoadOutcome         `json:"load"`
	Verdicts  []judge.Verdict     `json:"verdicts"`
	Outcome   judge.Status        `json:"outcome"`
	Aborted   string              `json:"aborted,omitempty"`
	Err       string              `json:"error,omitempty"`
	Cleanup   string              `json:"cleanup_error,omitempty"`
	Series    []series.Point      `json:"series"`
}

// Environment is where a run happened.
type Environment struct {
	Runtime  string `json:"runtime"`
	Shoppers int    `json:"shoppers"`
	Dir      string `json:"dir"`
}

// FaultEvent is one event of the fault timeline as planned and as carried
// out, offsets from the load's start.
type FaultEvent struct {
	Planned time.Duration `json:"planned_ns"`
	Actual  time.Duration `json:"actual_ns"`
	Action  string        `json:"action"`          // apply, remove, change
	Fault   int           `json:"fault"`           // index in the scenario's faults
	What    string        `json:"what"`            // the fault in words: "checkout->wallet reset_peer toxicity=0.3 from 15s for 20s"
	Phase   string        `json:"phase,omitempty"` // what shoppers saw while it was on, when the scenario names it
	Err     string        `json:"error,omitempty"`
}

// LoadOutcome is how the load ended.
type LoadOutcome struct {
	ExitCode int           `json:"exit_code"`
	Points   int64         `json:"points"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Err      string        `json:"error,omitempty"`
}

// Suite is the journal as the verdict table, JUnit and Markdown show it.
func (j *Journal) Suite() Suite {
	return Suite{Name: j.Scenario, Profile: j.Profile, Features: j.Features, Elapsed: j.Elapsed, Verdicts: j.Verdicts, Err: j.Err}
}

// faultLabel names a fault by its link and toxic ("checkout->wallet
// reset_peer"), or, for a maintenance window or a crash, by what it is
// ("maintenance (retry after 5s)", "stop wallet"): the fault's words
// without their timing.
func faultLabel(what string) string {
	f := strings.Fields(what)
	if len(f) >= 2 && strings.Contains(f[0], "->") {
		return f[0] + " " + f[1]
	}
	for _, sep := range []string{" from ", " at "} {
		if i := strings.Index(what, sep); i > 0 {
			return what[:i]
		}
	}
	return what
}

// ReadJournals decodes the journals in r: either one run's journal (what
// `gameday run` writes as journal.json) or a file of several runs,
// {"scenarios": [journal, ...]} (what --json writes). It returns an error
// when r holds neither.
func ReadJournals(r io.Reader) ([]*Journal, error) {
	// One decode serves both shapes: a single journal fills the embedded
	// fields, a file of several fills Scenarios.
	var doc struct {
		Scenarios *[]*Journal `json:"scenarios"`
		Journal
	}
	dec := json.NewDecoder(r)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode journal: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode journal: data after the journal")
	}
	switch {
	case doc.Scenarios != nil:
		js := *doc.Scenarios
		for i, j := range js {
			if j == nil || j.Scenario == "" {
				return nil, fmt.Errorf("decode journal: scenario %d has no name", i+1)
			}
		}
		return js, nil
	case doc.Scenario != "":
		j := doc.Journal
		return []*Journal{&j}, nil
	}
	return nil, errors.New("not a gameday journal: no \"scenario\" nor \"scenarios\"")
}

// ReadJournalFile reads the journals in the file at path; see ReadJournals.
func ReadJournalFile(path string) ([]*Journal, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	defer f.Close()
	js, err := ReadJournals(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return js, nil
}
