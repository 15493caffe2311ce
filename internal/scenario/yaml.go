package scenario

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/internal/yamlpos"
	"gopkg.in/yaml.v3"
)

// This file reads the values particular to scenario files; yamlpos reads
// the YAML shapes and keeps the positions for the messages.

type parser struct {
	yamlpos.Reader
	// probes counts the steps of the searches whose length depends on what
	// came before (label numbers tried, faults compared for overlaps): a
	// test holds it linear in the input, which a clock cannot do reliably.
	probes int
	// topo is the scenario's topology, once read; nil when it could not be
	// (then what names its links and services is not checked).
	topo *topology.Topology
}

func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	s, ok := p.Scalar(n, what)
	if !ok {
		return "", false
	}
	return s.Value, true
}

// word reads a non-empty string.
func (p *parser) word(n *yaml.Node, what string) (string, bool) {
	s, ok := p.Scalar(n, what)
	if !ok {
		return "", false
	}
	if strings.TrimSpace(s.Value) == "" {
		p.ErrAt(s, "%s: missing value", what)
		return "", false
	}
	return s.Value, true
}

// oneOf reads a string that must be one of values.
func (p *parser) oneOf(n *yaml.Node, what string, values []string) (string, bool) {
	s, ok := p.Scalar(n, what)
	if !ok {
		return "", false
	}
	if !slices.Contains(values, s.Value) {
		p.ErrAt(s, "%s", yamlpos.Unknown(what, s.Value, values))
		return "", false
	}
	return s.Value, true
}

func (p *parser) integer(n *yaml.Node, what string, lo int64) (int64, bool) {
	s, ok := p.Scalar(n, what)
	if !ok {
		return 0, false
	}
	var v int64
	switch s.ShortTag() {
	case "!!int":
		if err := s.Decode(&v); err != nil {
			p.ErrAt(s, "%s: %s is not a whole number that fits in 64 bits", what, yamlpos.Describe(s))
			return 0, false
		}
	case "!!float": // 1e3 is a whole number too
		f, err := strconv.ParseFloat(s.Value, 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<53 {
			p.ErrAt(s, "%s: want a whole number, not %s", what, yamlpos.Describe(s))
			return 0, false
		}
		v = int64(f)
	default:
		p.ErrAt(s, "%s: want a whole number, not %s", what, yamlpos.Describe(s))
		return 0, false
	}
	if v < lo {
		p.ErrAt(s, "%s must be at least %d, not %d", what, lo, v)
		return 0, false
	}
	return v, true
}

func (p *parser) number(n *yaml.Node, what string) (float64, bool) {
	s, ok := p.Scalar(n, what)
	if !ok {
		return 0, false
	}
	var v float64
	if t := s.ShortTag(); t != "!!int" && t != "!!float" {
		p.ErrAt(s, "%s: want a number, not %s", what, yamlpos.Describe(s))
		return 0, false
	}
	if err := s.Decode(&v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.ErrAt(s, "%s: want a finite number, not %s", what, yamlpos.Describe(s))
		return 0, false
	}
	return v, true
}

// fraction reads a number in [0, 1].
func (p *parser) fraction(n *yaml.Node, what string) (float64, bool) {
	v, ok := p.number(n, what)
	if !ok {
		return 0, false
	}
	if v < 0 || v > 1 {
		p.ErrAt(p.Deref(n), "%s must be between 0 and 1, not %g", what, v)
		return 0, false
	}
	return v, true
}

const durationHint = "want a number and a unit (ms, s, m, h), like 15s or 400ms"

// MaxDuration bounds every duration in a scenario file: a run is rehearsed
// in hours at most, and offsets added up must not overflow.
const MaxDuration = 24 * time.Hour

// duration reads a non-negative duration with a unit; a bare 0 is allowed.
func (p *parser) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := p.Scalar(n, what)
	if !ok {
		return 0, false
	}
	if t := s.ShortTag(); t == "!!int" || t == "!!float" {
		if f, err := strconv.ParseFloat(s.Value, 64); err == nil && f == 0 {
			return 0, true
		}
		p.ErrAt(s, "%s: malformed duration %s: %s", what, s.Value, durationHint)
		return 0, false
	}
	d, err := time.ParseDuration(strings.TrimSpace(s.Value))
	if err != nil {
		p.ErrAt(s, "%s: malformed duration %q: %s", what, s.Value, durationHint)
		return 0, false
	}
	if d < 0 {
		p.ErrAt(s, "%s must not be negative, not %s", what, s.Value)
		return 0, false
	}
	if d > MaxDuration {
		p.ErrAt(s, "%s must be at most %s, not %s", what, fmtDur(MaxDuration), s.Value)
		return 0, false
	}
	return d, true
}

// seconds reads a duration in whole seconds: a duration with a unit, or a
// bare whole number of seconds.
func (p *parser) seconds(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := p.Scalar(n, what)
	if !ok {
		return 0, false
	}
	var d time.Duration
	if s.ShortTag() == "!!int" {
		v, ok := p.integer(s, what, 0)
		if !ok {
			return 0, false
		}
		if v > int64(MaxDuration/time.Second) {
			p.ErrAt(s, "%s must be at most %d seconds, not %d", what, int64(MaxDuration/time.Second), v)
			return 0, false
		}
		d = time.Duration(v) * time.Second
	} else if d, ok = p.duration(s, what); !ok {
		return 0, false
	}
	if d%time.Second != 0 {
		p.ErrAt(s, "%s: %s is not a whole number of seconds", what, s.Value)
		return 0, false
	}
	return d, true
}

// positive reads a duration greater than zero.
func (p *parser) positive(n *yaml.Node, what string) (time.Duration, bool) {
	d, ok := p.duration(n, what)
	if ok && d == 0 {
		p.ErrAt(p.Deref(n), "%s must be more than 0", what)
		return 0, false
	}
	return d, ok
}

const rateHint = "want a count per unit of time, like 15/s or 900/m"

// maxRateCount bounds the count of a rate: far beyond what one machine drives.
const maxRateCount = 1_000_000

// rate reads "15/s", "900/m", "2/h" or "10/500ms".
func (p *parser) rate(n *yaml.Node, what string) (Rate, bool) {
	s, ok := p.Scalar(n, what)
	if !ok {
		return Rate{}, false
	}
	num, unit, found := strings.Cut(strings.TrimSpace(s.Value), "/")
	if !found {
		p.ErrAt(s, "%s: malformed rate %q: %s", what, s.Value, rateHint)
		return Rate{}, false
	}
	count, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || count < 1 || count > maxRateCount {
		p.ErrAt(s, "%s: malformed rate %q: %s", what, s.Value, rateHint)
		return Rate{}, false
	}
	var per time.Duration
	switch unit = strings.TrimSpace(unit); unit {
	case "s":
		per = time.Second
	case "m":
		per = time.Minute
	case "h":
		per = time.Hour
	default:
		per, err = time.ParseDuration(unit)
		if err != nil || per < time.Millisecond || per > MaxDuration {
			p.ErrAt(s, "%s: malformed rate %q: %s", what, s.Value, rateHint)
			return Rate{}, false
		}
	}
	return Rate{N: count, Per: per}, true
}

// offsetCol returns the column of byte i of scalar n's value, when it can be
// known (a one-line plain or quoted scalar), and n's column otherwise.
func offsetCol(n *yaml.Node, i int) int {
	if strings.ContainsAny(n.Value, "\n\\") {
		return n.Column
	}
	switch n.Style {
	case 0:
		return n.Column + i
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if strings.Contains(n.Value, "'") {
			return n.Column
		}
		return n.Column + 1 + i
	}
	return n.Column
}
