// Package matrix is gameday's resilience matrix: for each link of the
// storefront and each kind of fault, one short run (a cell) with that fault
// on that link, and for each shopper journey a grade — ok, degraded or
// broken — by the thresholds stated in grade.go. A committed expected
// matrix (scenarios/matrix.expected.json) turns it into a regression gate:
// Compare names every journey of every cell that came out worse than
// expected.
//
// The matrix grades what shoppers get done while a fault is on, nothing
// else: whether money and orders stay right, and what shoppers are told,
// are the scenarios' checks. Where no storefront could serve (without the
// session store no request can be authenticated) both profiles are
// broken alike.
//
// The package is pure over the series (Judge, Compare, Update, the gate,
// the renderers) except Run, which drives internal/engine over the campaign
// runner: one scenario per cell, built in code (CellScenario), each in a
// fresh environment with its journal beside it. The gate (NewGate) holds a
// measured matrix against the expected one and says what comes of it.
package matrix

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

// Fault is a kind of fault a cell puts on its link.
type Fault string

// Fault kinds, and the toxic each one is:
//   - latency: the latency toxic adding FaultLatencyAdded on the upstream
//     stream (every request is slow to arrive);
//   - down: the link's proxy is disabled (connections refused, open ones
//     closed);
//   - timeout: the timeout toxic with timeout 0 on the upstream stream:
//     connections are accepted and requests never arrive, nothing comes back
//     (a hang, not a close);
//   - reset: reset_peer on the upstream stream (TCP RST when a request
//     arrives);
//   - http_5xx: our http_error toxic answering every request with 503
//     (downstream: the upstream did the work, its answer is replaced).
//
// Every fault has toxicity 1: Toxiproxy draws toxicity per connection, and
// with keep-alive a partial toxicity hits a random few connections for the
// whole cell, which no two runs share.
const (
	FaultLatency Fault = "latency"
	FaultDown    Fault = "down"
	FaultTimeout Fault = "timeout"
	FaultReset   Fault = "reset"
	FaultHTTP5xx Fault = "http_5xx"
)

// FaultLatencyAdded is the latency a latency cell adds to its link.
const FaultLatencyAdded = 2 * time.Second

// HTTP5xxStatus is the status an http_5xx cell answers with.
const HTTP5xxStatus = 503

// Faults returns every fault kind, in matrix order.
func Faults() []Fault {
	return []Fault{FaultLatency, FaultDown, FaultTimeout, FaultReset, FaultHTTP5xx}
}

// Links returns the name of every link of the storefront, in matrix order
// (mockstore.Links).
func Links() []string {
	var out []string
	for _, l := range mockstore.Links() {
		out = append(out, l.Name)
	}
	return out
}

// Journeys returns the shopper journeys a cell grades, in the order a
// shopper's visit makes them (internal/load/storefront).
func Journeys() []string {
	return []string{"login", "browse", "cart", "wallet", "checkout"}
}

// ParseFaults parses a comma-separated list of fault kinds; an empty s means
// every kind. The error names the allowed values.
func ParseFaults(s string) ([]Fault, error) {
	if strings.TrimSpace(s) == "" {
		return Faults(), nil
	}
	var out []Fault
	for _, p := range strings.Split(s, ",") {
		f := Fault(strings.TrimSpace(p))
		if !slices.Contains(Faults(), f) {
			return nil, fmt.Errorf("unknown fault %q: allowed values: %s", f, joinFaults(Faults()))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// ParseLinks parses a comma-separated list of link names; an empty s means
// every link. The error names the allowed values.
func ParseLinks(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return Links(), nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		l := strings.TrimSpace(p)
		if _, ok := mockstore.LinkByName(l); !ok {
			return nil, fmt.Errorf("unknown link %q: allowed values: %s", l, strings.Join(Links(), ", "))
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out, nil
}

func joinFaults(fs []Fault) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

// Shape is the timeline of a cell: Baseline of load without the fault, then
// the fault for Fault, until the load ends. The fault lasts until the load
// ends on purpose: a journey the fault hangs ends (or times out) well after
// the fault began, and is judged with the fault however late it ends, never
// mistaken for a recovery.
type Shape struct {
	Baseline time.Duration
	Fault    time.Duration
	Rate     int // shopper visits started per second
	Shoppers int // seeded shoppers
	Seed     int64
	// Logout is the share of visits that end with a logout (the load's
	// GAMEDAY_LOGOUT): a shopper logs in only on a visit after a logout, so
	// it sets how many login journeys the fault window holds, about
	// Rate × (Fault − Settle) × Logout. The rest of the visits start logged
	// in, and reach browse, cart, wallet and checkout even while logins
	// fail.
	Logout float64
}

// CellLogout is the cells' share of visits that end with a logout: one in
// four, so that a cell's window holds about 18 logins. The shoppers'
// default (one visit in ten) left a cell that leaves logins alone with a
// handful of logins, too few to grade; half (measured) drained the
// logged-in shoppers of a cell whose logins hang (auth->otp) so fast that
// browse ended only 5 journeys in its window, on the edge of no data.
const CellLogout = 0.25

// DefaultShape is the cell of the committed expected matrix: 4 s of
// baseline, 8 s of fault (judged from Settle on: about 6 whole seconds),
// 12 visits a second, one in four ending with a logout.
var DefaultShape = Shape{Baseline: 4 * time.Second, Fault: 8 * time.Second, Rate: 12, Shoppers: 200, Seed: 1, Logout: CellLogout}

// QuickShape is a shorter cell for a first look; its grades rest on fewer
// journeys and are noisier than DefaultShape's.
var QuickShape = Shape{Baseline: 3 * time.Second, Fault: 6 * time.Second, Rate: 12, Shoppers: 200, Seed: 1, Logout: CellLogout}

// WindowVisits returns about how many visits start in the fault window of
// a cell of sh (Rate × (Fault − Settle)), and how many of them log in
// (× Logout): what every journey's grade rests on by design.
func (sh Shape) WindowVisits() (visits, logins float64) {
	visits = float64(sh.Rate) * (sh.Fault - Settle).Seconds()
	return visits, visits * sh.Logout
}

// CellName is the name of a cell: "gateway->wallet × reset" as people read
// it.
func CellName(link string, f Fault) string { return link + " × " + string(f) }

// toxic returns the fault line of a scenario file for f on link, from start
// for span.
func toxic(link string, f Fault, start, span time.Duration) (string, error) {
	at := fmt.Sprintf("start: %s, duration: %s", start, span)
	switch f {
	case FaultLatency:
		return fmt.Sprintf("{link: %q, toxic: latency, stream: upstream, latency: %s, %s}", link, FaultLatencyAdded, at), nil
	case FaultDown:
		return fmt.Sprintf("{link: %q, toxic: down, %s}", link, at), nil
	case FaultTimeout:
		return fmt.Sprintf("{link: %q, toxic: timeout, stream: upstream, timeout: 0s, %s}", link, at), nil
	case FaultReset:
		return fmt.Sprintf("{link: %q, toxic: reset_peer, stream: upstream, %s}", link, at), nil
	case FaultHTTP5xx:
		return fmt.Sprintf("{link: %q, toxic: http_error, stream: downstream, status: %d, %s}", link, HTTP5xxStatus, at), nil
	}
	return "", fmt.Errorf("unknown fault %q: allowed values: %s", f, joinFaults(Faults()))
}

// CellScenario returns the scenario of one cell: sh's load with f on link
// from the baseline's end until the load ends. Its only check is
// money_conserved (a scenario needs one); the matrix reads the series
// itself (Judge). It fails for an unknown link or fault.
func CellScenario(link string, f Fault, sh Shape) (*scenario.Scenario, error) {
	line, err := toxic(link, f, sh.Baseline, sh.Fault)
	if err != nil {
		return nil, err
	}
	name := "matrix-" + strings.NewReplacer("->", "-", "_", "-").Replace(link) + "-" + strings.ReplaceAll(string(f), "_", "-")
	text := fmt.Sprintf(`name: %s
description: %q
seed: %d
load: {shoppers: %d, rate: %d/s, duration: %s, env: {GAMEDAY_LOGOUT: %g}}
faults:
  - %s
checks:
  - invariant: money_conserved
`, name, "Resilience matrix cell "+CellName(link, f), sh.Seed, sh.Shoppers, sh.Rate, sh.Baseline+sh.Fault, sh.Logout, line)
	sc, err := scenario.Parse(name+".yaml", []byte(text))
	if err != nil {
		return nil, fmt.Errorf("cell %s: %w", CellName(link, f), err)
	}
	// No file: nothing is resolved beside a file that does not exist.
	sc.File = ""
	return sc, nil
}
