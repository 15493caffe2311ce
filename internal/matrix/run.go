package matrix

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/campaign"
	"github.com/gameday/gameday/internal/engine"
	"github.com/gameday/gameday/internal/report"
	"github.com/gameday/gameday/internal/scenario"
)

// Cell is one link × fault of the matrix, as measured.
type Cell struct {
	Link     string      `json:"link"`
	Fault    Fault       `json:"fault"`
	Journeys []Judgement `json:"journeys"` // in Journeys order; empty when Err is set
	// Err says why the cell could not be judged (the environment, the load); its
	// journeys are then NoData.
	Err     string        `json:"error,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Dir     string        `json:"dir"` // the run's files, journal.json among them
}

// Name is the cell's name, "gateway->wallet × reset".
func (c Cell) Name() string { return CellName(c.Link, c.Fault) }

// Grade returns the grade of journey in c; NoData when c has none.
func (c Cell) Grade(journey string) Grade {
	if j, ok := c.Judgement(journey); ok {
		return j.Grade
	}
	return NoData
}

// Judgement returns the judgement of journey in c.
func (c Cell) Judgement(journey string) (Judgement, bool) {
	for _, j := range c.Journeys {
		if j.Journey == journey {
			return j, true
		}
	}
	return Judgement{}, false
}

// Matrix is a measured matrix: the cells of one profile.
type Matrix struct {
	Profile string        `json:"profile"`
	Shape   Shape         `json:"shape"`
	Links   []string      `json:"links"`
	Faults  []Fault       `json:"faults"`
	Cells   []Cell        `json:"cells"` // link-major: every fault of the first link, then the next
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Cell returns the cell of link × f.
func (m *Matrix) Cell(link string, f Fault) (Cell, bool) {
	for _, c := range m.Cells {
		if c.Link == link && c.Fault == f {
			return c, true
		}
	}
	return Cell{}, false
}

// Options configure Run.
type Options struct {
	Links  []string // default: Links()
	Faults []Fault  // default: Faults()
	Shape  Shape    // zero: DefaultShape
	// Engine is what every cell runs with: Features and Profile, Scripts,
	// K6, Logger. Dir is the matrix's directory; each cell runs in
	// Dir/cells/<link>/<fault>.
	Engine   engine.Options
	Parallel int // cells at once, each in its own storefront; default 1
}

// Run measures the matrix: a cell per link × fault, parallel at a time,
// each an engine run of CellScenario in a fresh environment, judged by
// Judge. done is called (from one goroutine at a time) as each cell ends,
// with the number of cells ended so far. A cell whose run failed carries
// the error and no grades; Run itself fails only for bad options (before
// anything runs) or when ctx ends, with ctx's error and the cells that
// ended.
func Run(ctx context.Context, opts Options, done func(c Cell, n, total int)) (*Matrix, error) {
	if opts.Engine.Dir == "" {
		return nil, fmt.Errorf("matrix: no directory")
	}
	links, faults, sh := opts.Links, opts.Faults, opts.Shape
	if len(links) == 0 {
		links = Links()
	}
	if len(faults) == 0 {
		faults = Faults()
	}
	if sh == (Shape{}) {
		sh = DefaultShape
	}
	type job struct {
		cell Cell
		sc   *scenario.Scenario
	}
	var jobs []job
	for _, l := range links {
		for _, f := range faults {
			sc, err := CellScenario(l, f, sh)
			if err != nil {
				return nil, err
			}
			jobs = append(jobs, job{Cell{Link: l, Fault: f}, sc})
		}
	}
	m := &Matrix{Profile: opts.Engine.Profile, Shape: sh, Links: links, Faults: faults}
	start := time.Now()
	ended := 0
	cells, err := campaign.Run(ctx, len(jobs), opts.Parallel, func(i int) Cell {
		return runCell(ctx, jobs[i].cell, jobs[i].sc, sh, opts.Engine)
	}, func(c Cell) {
		ended++
		if done != nil {
			done(c, ended, len(jobs))
		}
	})
	m.Elapsed = time.Since(start)
	m.Cells = cells
	return m, err
}

// runCell runs and judges one cell.
func runCell(ctx context.Context, c Cell, sc *scenario.Scenario, sh Shape, base engine.Options) Cell {
	opts := base
	opts.OnLoadStart, opts.OnPoint, opts.OnLoadEnd = nil, nil, nil
	opts.Dir = filepath.Join(base.Dir, "cells", fileName(c.Link), fileName(string(c.Fault)))
	c.Dir = opts.Dir
	t := time.Now()
	res, err := engine.Run(ctx, sc, opts)
	c.Elapsed = time.Since(t)
	if res != nil {
		if werr := report.WriteJournal(filepath.Join(opts.Dir, report.JournalFile), res); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		c.Err = err.Error()
		return c
	}
	if len(res.Intervals) != 1 {
		c.Err = fmt.Sprintf("the fault was in place %d times, not once (see journal.json's fault_events)", len(res.Intervals))
		return c
	}
	iv := res.Intervals[0]
	c.Journeys = Judge(res.Series, Window{Start: res.LoadStart, FaultFrom: iv.From, FaultTo: iv.To})
	return c
}

// fileName makes a link or fault name a file name: "gateway->wallet" is
// "gateway-wallet".
func fileName(s string) string {
	return strings.NewReplacer("->", "-", "/", "_", " ", "_").Replace(s)
}
