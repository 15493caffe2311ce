package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gameday/gameday/internal/journal"
	"github.com/gameday/gameday/internal/scenario"
)

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
func ReadJournals(r io.Reader) ([]*journal.Run, error) {
	// One decode serves both shapes: a single journal fills the embedded
	// fields, a file of several fills Scenarios.
	var doc struct {
		Scenarios *[]*journal.Run `json:"scenarios"`
		journal.Run
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
		j := doc.Run
		return []*journal.Run{&j}, nil
	}
	return nil, errors.New("not a gameday journal: no \"scenario\" nor \"scenarios\"")
}

// ReadJournalFile reads the journals in the file at path; see ReadJournals.
func ReadJournalFile(path string) ([]*journal.Run, error) {
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

// Describe fills in the description of a journal that does not record it
// (one written before journals did), from the scenario file it names or
// the built-in of its name, when that scenario still has the journal's
// name; it leaves it empty otherwise.
func Describe(j *journal.Run) {
	if j.Description != "" {
		return
	}
	var scs []*scenario.Scenario
	if srcs, err := scenario.Find(j.File); err == nil && len(srcs) == 1 {
		if sc, err := srcs[0].Parse(); err == nil {
			scs = append(scs, sc)
		}
	}
	if sc, err := scenario.Builtin(j.Scenario); err == nil {
		scs = append(scs, sc)
	}
	for _, sc := range scs {
		if sc.Name == j.Scenario {
			j.Description = sc.Description
			return
		}
	}
}
