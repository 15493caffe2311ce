package scenario

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// This file walks yaml.Nodes: it keeps positions for the messages, reports
// instead of stopping, and never panics on a shape it did not expect.

// maxAliases bounds how many aliases a file may dereference, so that a
// "billion laughs" file costs nothing.
const maxAliases = 1000

type parser struct {
	file    string
	errs    Errors
	aliases int
	// probes counts the steps of the searches whose length depends on what
	// came before (label numbers tried, faults compared for overlaps): a
	// test holds it linear in the input, which a clock cannot do reliably.
	probes int
}

func (p *parser) errAt(n *yaml.Node, format string, args ...any) {
	e := &Error{File: p.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlErr turns an error of the YAML parser into an Error with its line.
func (p *parser) yamlErr(err error) {
	msg := err.Error()
	e := &Error{File: p.file}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	e.Msg = "invalid YAML: " + msg
	p.errs = append(p.errs, e)
}

// deref follows aliases. It returns nil once the alias budget is spent.
func (p *parser) deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		p.aliases++
		if p.aliases > maxAliases {
			if p.aliases == maxAliases+1 {
				p.errAt(n, "too many aliases (more than %d)", maxAliases)
			}
			return nil
		}
		n = n.Alias
	}
	return n
}

// describe names the shape of n for a message: "a list", "a mapping", `"abc"`.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

type entry struct{ key, val *yaml.Node }

// mapping is a YAML mapping's fields by name, in file order.
type mapping struct {
	node *yaml.Node
	keys []string
	m    map[string]entry
}

func (m mapping) get(k string) (*yaml.Node, bool) { e, ok := m.m[k]; return e.val, ok }
func (m mapping) has(k string) bool               { _, ok := m.m[k]; return ok }
func (m mapping) key(k string) *yaml.Node         { return m.m[k].key }

// mapping reads n as a mapping of fields, reporting duplicates and keys that
// are not plain names.
func (p *parser) mapping(n *yaml.Node, what string) (mapping, bool) {
	n = p.deref(n)
	if n == nil {
		return mapping{}, false
	}
	if n.Kind != yaml.MappingNode {
		p.errAt(n, "%s must be a mapping of fields, not %s", what, describe(n))
		return mapping{}, false
	}
	m := mapping{node: n, m: map[string]entry{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := p.deref(n.Content[i])
		if k == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			p.errAt(k, "%s: a field name must be a word, not %s", what, describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			p.errAt(k, "merge keys (<<) are not supported: write the fields out")
			continue
		}
		if prev, ok := m.m[k.Value]; ok {
			p.errAt(k, "duplicate field %q in %s (first at line %d)", k.Value, what, prev.key.Line)
			continue
		}
		m.keys = append(m.keys, k.Value)
		m.m[k.Value] = entry{key: k, val: n.Content[i+1]}
	}
	return m, true
}

// onlyFields reports every field of m that is not in fields.
func (p *parser) onlyFields(m mapping, what string, fields []string) {
	for _, k := range m.keys {
		if slices.Contains(fields, k) {
			continue
		}
		if s := suggest(k, fields); s != "" {
			p.errAt(m.key(k), "unknown field %q in %s: did you mean %q? %s", k, what, s, allowed(fields))
		} else {
			p.errAt(m.key(k), "unknown field %q in %s %s", k, what, allowed(fields))
		}
	}
}

// seq reads n as a list.
func (p *parser) seq(n *yaml.Node, what string) ([]*yaml.Node, bool) {
	n = p.deref(n)
	if n == nil {
		return nil, false
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, true // "faults:" with nothing: an empty list
	}
	if n.Kind != yaml.SequenceNode {
		p.errAt(n, "%s must be a list, not %s", what, describe(n))
		return nil, false
	}
	return n.Content, true
}

// scalar reads n as a single, non-null value.
func (p *parser) scalar(n *yaml.Node, what string) (*yaml.Node, bool) {
	n = p.deref(n)
	if n == nil {
		return nil, false
	}
	if n.Kind != yaml.ScalarNode {
		p.errAt(n, "%s must be a single value, not %s", what, describe(n))
		return nil, false
	}
	if n.ShortTag() == "!!null" {
		p.errAt(n, "%s: missing value", what)
		return nil, false
	}
	return n, true
}

func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	s, ok := p.scalar(n, what)
	if !ok {
		return "", false
	}
	return s.Value, true
}

// word reads a non-empty string.
func (p *parser) word(n *yaml.Node, what string) (string, bool) {
	s, ok := p.scalar(n, what)
	if !ok {
		return "", false
	}
	if strings.TrimSpace(s.Value) == "" {
		p.errAt(s, "%s: missing value", what)
		return "", false
	}
	return s.Value, true
}

// oneOf reads a string that must be one of values.
func (p *parser) oneOf(n *yaml.Node, what string, values []string) (string, bool) {
	s, ok := p.scalar(n, what)
	if !ok {
		return "", false
	}
	if !slices.Contains(values, s.Value) {
		p.errAt(s, "%s", unknown(what, s.Value, values))
		return "", false
	}
	return s.Value, true
}

func (p *parser) integer(n *yaml.Node, what string, lo int64) (int64, bool) {
	s, ok := p.scalar(n, what)
	if !ok {
		return 0, false
	}
	var v int64
	switch s.ShortTag() {
	case "!!int":
		if err := s.Decode(&v); err != nil {
			p.errAt(s, "%s: %s is not a whole number that fits in 64 bits", what, describe(s))
			return 0, false
		}
	case "!!float": // 1e3 is a whole number too
		f, err := strconv.ParseFloat(s.Value, 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<53 {
			p.errAt(s, "%s: want a whole number, not %s", what, describe(s))
			return 0, false
		}
		v = int64(f)
	default:
		p.errAt(s, "%s: want a whole number, not %s", what, describe(s))
		return 0, false
	}
	if v < lo {
		p.errAt(s, "%s must be at least %d, not %d", what, lo, v)
		return 0, false
	}
	return v, true
}

func (p *parser) number(n *yaml.Node, what string) (float64, bool) {
	s, ok := p.scalar(n, what)
	if !ok {
		return 0, false
	}
	var v float64
	if t := s.ShortTag(); t != "!!int" && t != "!!float" {
		p.errAt(s, "%s: want a number, not %s", what, describe(s))
		return 0, false
	}
	if err := s.Decode(&v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.errAt(s, "%s: want a finite number, not %s", what, describe(s))
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
		p.errAt(p.deref(n), "%s must be between 0 and 1, not %g", what, v)
		return 0, false
	}
	return v, true
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	s, ok := p.scalar(n, what)
	if !ok {
		return false, false
	}
	if s.ShortTag() != "!!bool" {
		p.errAt(s, "%s: want true or false, not %s", what, describe(s))
		return false, false
	}
	var b bool
	if err := s.Decode(&b); err != nil {
		p.errAt(s, "%s: want true or false, not %s", what, describe(s))
		return false, false
	}
	return b, true
}

const durationHint = "want a number and a unit (ms, s, m, h), like 15s or 400ms"

// MaxDuration bounds every duration in a scenario file: a run is rehearsed
// in hours at most, and offsets added up must not overflow.
const MaxDuration = 24 * time.Hour

// duration reads a non-negative duration with a unit; a bare 0 is allowed.
func (p *parser) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := p.scalar(n, what)
	if !ok {
		return 0, false
	}
	if t := s.ShortTag(); t == "!!int" || t == "!!float" {
		if f, err := strconv.ParseFloat(s.Value, 64); err == nil && f == 0 {
			return 0, true
		}
		p.errAt(s, "%s: malformed duration %s: %s", what, s.Value, durationHint)
		return 0, false
	}
	d, err := time.ParseDuration(strings.TrimSpace(s.Value))
	if err != nil {
		p.errAt(s, "%s: malformed duration %q: %s", what, s.Value, durationHint)
		return 0, false
	}
	if d < 0 {
		p.errAt(s, "%s must not be negative, not %s", what, s.Value)
		return 0, false
	}
	if d > MaxDuration {
		p.errAt(s, "%s must be at most %s, not %s", what, fmtDur(MaxDuration), s.Value)
		return 0, false
	}
	return d, true
}

// seconds reads a duration in whole seconds: a duration with a unit, or a
// bare whole number of seconds.
func (p *parser) seconds(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := p.scalar(n, what)
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
			p.errAt(s, "%s must be at most %d seconds, not %d", what, int64(MaxDuration/time.Second), v)
			return 0, false
		}
		d = time.Duration(v) * time.Second
	} else if d, ok = p.duration(s, what); !ok {
		return 0, false
	}
	if d%time.Second != 0 {
		p.errAt(s, "%s: %s is not a whole number of seconds", what, s.Value)
		return 0, false
	}
	return d, true
}

// positive reads a duration greater than zero.
func (p *parser) positive(n *yaml.Node, what string) (time.Duration, bool) {
	d, ok := p.duration(n, what)
	if ok && d == 0 {
		p.errAt(p.deref(n), "%s must be more than 0", what)
		return 0, false
	}
	return d, ok
}

const rateHint = "want a count per unit of time, like 15/s or 900/m"

// maxRateCount bounds the count of a rate: far beyond what one machine drives.
const maxRateCount = 1_000_000

// rate reads "15/s", "900/m", "2/h" or "10/500ms".
func (p *parser) rate(n *yaml.Node, what string) (Rate, bool) {
	s, ok := p.scalar(n, what)
	if !ok {
		return Rate{}, false
	}
	num, unit, found := strings.Cut(strings.TrimSpace(s.Value), "/")
	if !found {
		p.errAt(s, "%s: malformed rate %q: %s", what, s.Value, rateHint)
		return Rate{}, false
	}
	count, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || count < 1 || count > maxRateCount {
		p.errAt(s, "%s: malformed rate %q: %s", what, s.Value, rateHint)
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
			p.errAt(s, "%s: malformed rate %q: %s", what, s.Value, rateHint)
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
