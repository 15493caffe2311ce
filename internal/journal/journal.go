// Package journal is the record of one scenario run: where it ran, the
// fault timeline as carried out, how the load ended, the audits, the runs
// of the probes, the verdicts and the per-second series. The engine returns it, journal.json
// holds it as JSON, and the reports render it, whether just after the run
// or from the file later (`gameday report`). It is the only record of a run:
// there is no second description of one to keep in step with it.
package journal

import (
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/probe"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/internal/series"
)

// Run is one scenario run, filled as far as the run got. Its JSON is
// journal.json; the order of the fields is the order of that file.
type Run struct {
	Scenario string `json:"scenario"`
	// Description says what the scenario rehearses, so that a report
	// rendered again from the journal needs no scenario file.
	Description string `json:"description"`
	// Versions name the version of each component that ran: gameday,
	// toxiproxy, go.
	Versions    map[string]string `json:"versions"`
	File        string            `json:"file"`
	Compressed  bool              `json:"compressed"` // the timeline was compressed (--quick)
	Profile     string            `json:"profile"`
	Features    string            `json:"features"` // name=on|off,...
	Seed        int64             `json:"seed"`
	Environment env.Info          `json:"environment"`
	Started     time.Time         `json:"started"`    // when the run began
	LoadStart   time.Time         `json:"load_start"` // offset 0 of the timeline
	Elapsed     time.Duration     `json:"elapsed_ns"`
	Faults      []Fault           `json:"fault_events"`
	// Intervals are the spans each fault was actually in place.
	Intervals []scenario.Interval `json:"fault_intervals"`
	Load      Load                `json:"load"`
	Audit     env.Audit           `json:"audit"`
	// Probes are the runs of the probe checks: before the load, during it,
	// after it, oldest first.
	Probes   []probe.Result  `json:"probes,omitempty"`
	Verdicts []judge.Verdict `json:"verdicts"`
	Outcome  judge.Status    `json:"outcome"`
	Aborted  string          `json:"aborted,omitempty"`       // the abort check that stopped the run
	Err      string          `json:"error,omitempty"`         // what kept the run from judging
	Cleanup  string          `json:"cleanup_error,omitempty"` // what could not be cleaned up
	Series   []series.Point  `json:"series"`
}

// Fault is one event of the fault timeline as planned and as carried out,
// offsets from the load's start.
type Fault struct {
	Planned time.Duration `json:"planned_ns"`
	Actual  time.Duration `json:"actual_ns"`
	Action  string        `json:"action"` // apply, remove, change
	Fault   int           `json:"fault"`  // index in the scenario's faults
	// What is the fault in words: "checkout->wallet reset_peer
	// toxicity=0.3 from 15s for 20s".
	What  string `json:"what"`
	Phase string `json:"phase,omitempty"` // what shoppers saw while it was on, as the scenario names it
	Err   string `json:"error,omitempty"`
}

// Late is how far behind its plan the event was carried out.
func (f Fault) Late() time.Duration { return f.Actual - f.Planned }

// Load is how the load ended.
type Load struct {
	ExitCode int           `json:"exit_code"`
	Points   int64         `json:"points"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Err      string        `json:"error,omitempty"`
	Dir      string        `json:"dir"` // the load's files: its configuration, its series
}
