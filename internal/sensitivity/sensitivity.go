// Package sensitivity is the proof that scenarios can fail: the sensitivity
// matrix runs each scenario on the resilient storefront, where it must pass,
// and on the naive one and with each feature it guards turned off, where it
// must fail. A cell that does not come out so is a scenario that does not
// check what it claims to. The cells run over the campaign runner, each an
// engine run in a fresh environment with its journal beside it; the
// package renders the matrix (a table, Markdown, JSON) and says whether
// every cell came out as it must.
package sensitivity

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/campaign"
	"github.com/gameday/gameday/internal/engine"
	"github.com/gameday/gameday/internal/judge"
	"github.com/gameday/gameday/internal/report"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

// Variants of a sensitivity cell besides "<feature>=off".
const (
	VariantResilient = mockstore.ProfileResilient
	VariantNaive     = mockstore.ProfileNaive
)

// Cell is one run of the sensitivity matrix: a scenario on one variant of
// the storefront — the resilient profile (where it must pass), the naive
// profile, or the resilient profile with one guarded feature off (where it
// must fail).
type Cell struct {
	Scenario string        `json:"scenario"`
	Variant  string        `json:"variant"` // resilient, naive, or <feature>=off
	Want     judge.Status  `json:"want"`    // pass on resilient, fail elsewhere
	Got      judge.Status  `json:"got"`
	FailedBy []string      `json:"failed_by,omitempty"` // the checks that failed
	Err      string        `json:"error,omitempty"`     // why the run could not judge
	Elapsed  time.Duration `json:"elapsed_ns"`
	Dir      string        `json:"dir"`
	Seed     *int64        `json:"seed,omitempty"` // the storefront's seed, when the matrix runs several
}

// OK reports whether the cell came out as it must: a pass on resilient, a
// fail everywhere else. An unknown is never OK: it proves nothing either
// way.
func (c Cell) OK() bool { return c.Err == "" && c.Got == c.Want }

// Cells returns the cells of sc's row, in order: resilient, naive, then each
// guarded feature off.
func Cells(sc *scenario.Scenario) []Cell {
	out := []Cell{
		{Scenario: sc.Name, Variant: VariantResilient, Want: judge.Pass},
		{Scenario: sc.Name, Variant: VariantNaive, Want: judge.Fail},
	}
	for _, f := range sc.Guards {
		out = append(out, Cell{Scenario: sc.Name, Variant: string(f) + "=off", Want: judge.Fail})
	}
	return out
}

// variantFeatures returns the feature set of a variant.
func variantFeatures(variant string) (mockstore.Features, string, error) {
	switch variant {
	case VariantResilient, VariantNaive:
		f, err := mockstore.Profile(variant)
		return f, variant, err
	}
	f, _ := mockstore.Profile(mockstore.ProfileResilient)
	if err := f.Set(variant); err != nil {
		return nil, "", err
	}
	return f, mockstore.ProfileResilient + " with " + variant, nil
}

// Run runs the matrix of scs (scenario × variant) with base's options,
// parallel cells at a time, each in a fresh environment under
// base.Dir/<scenario>/<variant> with its journal there. With seeds above 1
// every cell runs that many times, the i-th (from 0) with the storefront's
// seed plus i, under base.Dir/<scenario>/<variant>/seed-<seed>: a cell that
// comes out as it must with one seed and not with another is a flaky
// check. done is called (from one goroutine at a time) as each cell ends.
// It returns the cells in matrix order, a variant's seeds together; ctx's
// error when ctx ended it (the cells not run are missing).
func Run(ctx context.Context, scs []*scenario.Scenario, base engine.Options, parallel, seeds int, done func(Cell)) ([]Cell, error) {
	cells, owners := plan(scs, base, seeds)
	return campaign.Run(ctx, len(cells), parallel, func(i int) Cell {
		return runCell(ctx, owners[i], cells[i], base)
	}, done)
}

// plan lists the cells of scs's matrix, each seeds times (at least once),
// with the scenario each belongs to and its directory.
func plan(scs []*scenario.Scenario, base engine.Options, seeds int) ([]Cell, []*scenario.Scenario) {
	var cells []Cell
	var owners []*scenario.Scenario
	for _, sc := range scs {
		first := sc.Seed
		if base.Seed != nil {
			first = *base.Seed
		}
		for _, c := range Cells(sc) {
			c.Dir = filepath.Join(base.Dir, safeName(sc.Name), safeName(c.Variant))
			if seeds <= 1 {
				cells = append(cells, c)
				owners = append(owners, sc)
				continue
			}
			dir := c.Dir
			for i := range seeds {
				seed := first + int64(i)
				c.Seed = &seed
				c.Dir = filepath.Join(dir, fmt.Sprintf("seed-%d", seed))
				cells = append(cells, c)
				owners = append(owners, sc)
			}
		}
	}
	return cells, owners
}

func runCell(ctx context.Context, sc *scenario.Scenario, c Cell, base engine.Options) Cell {
	feats, profile, err := variantFeatures(c.Variant)
	if err != nil {
		c.Err = err.Error()
		return c
	}
	opts := base
	opts.Features, opts.Profile = feats, profile
	opts.OnLoadStart, opts.OnPoint, opts.OnLoadEnd = nil, nil, nil
	opts.Dir = c.Dir
	if c.Seed != nil {
		opts.Seed = c.Seed
	}
	start := time.Now()
	res, err := engine.Run(ctx, sc, opts)
	c.Elapsed = time.Since(start)
	if err != nil {
		c.Err = err.Error()
	}
	if res != nil {
		if werr := report.WriteJournal(filepath.Join(opts.Dir, report.JournalFile), res); werr != nil && c.Err == "" {
			c.Err = werr.Error()
		}
		c.Got = res.Outcome
		for _, v := range res.Verdicts {
			if v.Status == judge.Fail {
				c.FailedBy = append(c.FailedBy, v.Check)
			}
		}
	}
	return c
}

// safeName makes s a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.', r == '=':
			return r
		}
		return '_'
	}, s)
}

// Missed returns the cells that did not come out as they must.
func Missed(cells []Cell) []Cell {
	var out []Cell
	for _, c := range cells {
		if !c.OK() {
			out = append(out, c)
		}
	}
	return out
}

// CellText is how a matrix shows a cell: its outcome and, for a fail, the
// first check that failed.
func CellText(c Cell) string {
	mark := "ok"
	if !c.OK() {
		mark = "MISSED"
	}
	switch {
	case c.Err != "":
		return fmt.Sprintf("%s: error (%s)", mark, firstLine(c.Err))
	case c.Got == judge.Fail && len(c.FailedBy) > 0:
		more := ""
		if len(c.FailedBy) > 1 {
			more = fmt.Sprintf(" +%d", len(c.FailedBy)-1)
		}
		return fmt.Sprintf("%s: fail by %s%s", mark, c.FailedBy[0], more)
	}
	return fmt.Sprintf("%s: %s", mark, c.Got)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Variants groups a row's cells by variant, keeping their order: one group
// a variant, its seeds together.
func Variants(row []Cell) [][]Cell {
	return groupBy(row, func(c Cell) string { return c.Variant })
}

// Rows groups cells by scenario, keeping the matrix order.
func Rows(cells []Cell) [][]Cell {
	out := groupBy(cells, func(c Cell) string { return c.Scenario })
	for _, r := range out {
		slices.SortStableFunc(r, func(a, b Cell) int { return variantRank(a.Variant) - variantRank(b.Variant) })
	}
	return out
}

// groupBy groups cells by key, the groups in the order their keys first
// come, each group's cells in their order.
func groupBy(cells []Cell, key func(Cell) string) [][]Cell {
	var out [][]Cell
	idx := map[string]int{}
	for _, c := range cells {
		i, ok := idx[key(c)]
		if !ok {
			i = len(out)
			idx[key(c)] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], c)
	}
	return out
}

func variantRank(v string) int {
	switch v {
	case VariantResilient:
		return 0
	case VariantNaive:
		return 1
	}
	return 2
}
