package journeyfile

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/yamlpos"
	"gopkg.in/yaml.v3"
)

// This file reads the values particular to journey files; yamlpos reads
// the YAML shapes and keeps the positions for the messages.

// parser gathers the problems of one file.
type parser struct {
	yamlpos.Reader
}

func (p *parser) errAtPos(line, col int, format string, args ...any) {
	p.Errs = append(p.Errs, &Error{File: p.File, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// onlyFields reports every field of m that is not one of fields.
func (p *parser) onlyFields(m yamlpos.Mapping, what string, fields []field) {
	p.OnlyFields(m, what, fieldNames(fields))
}

// text reads a value written as text: an expression, a URL, a header value.
// YAML reads some unquoted text as something else: "!x" as a tag, "{a}" as
// a mapping, "a: b" as a field; the message says to quote it.
func (p *parser) text(n *yaml.Node, what string) (*yaml.Node, bool) {
	n = p.Deref(n)
	if n == nil {
		return nil, false
	}
	switch {
	case n.Kind == yaml.ScalarNode && strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!"):
		p.ErrAt(n, "%s: YAML read %s as a tag: quote the text, like %q", what, n.Tag, strings.TrimSpace(n.Tag+" "+n.Value))
		return nil, false
	case n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode:
		p.ErrAt(n, "%s must be text, not %s: quote it if YAML read it so", what, yamlpos.Describe(n))
		return nil, false
	}
	return p.Scalar(n, what)
}

// name reads a name that becomes a tag value.
func (p *parser) name(n *yaml.Node, what string) (string, bool) {
	s, ok := p.Scalar(n, what)
	if !ok {
		return "", false
	}
	if !namePattern.MatchString(s.Value) || len(s.Value) > maxNameLen {
		p.ErrAt(s, "%s %q: use at most %d letters, digits, '.', '_' and '-', starting with a letter, digit or '_' (it becomes a tag of the series)", what, s.Value, maxNameLen)
		return "", false
	}
	return s.Value, true
}

// integer reads a whole number in [lo, hi].
func (p *parser) integer(n *yaml.Node, what string, lo, hi int64) (int64, bool) {
	s, ok := p.Scalar(n, what)
	if !ok {
		return 0, false
	}
	var v int64
	switch s.ShortTag() {
	case "!!int":
		if s.Decode(&v) != nil {
			p.ErrAt(s, "%s: want a whole number from %d to %d, not %s", what, lo, hi, yamlpos.Describe(s))
			return 0, false
		}
	case "!!float": // 2.0 and 1e3 are whole numbers too, as in JSON
		f, err := strconv.ParseFloat(s.Value, 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<53 {
			p.ErrAt(s, "%s: want a whole number from %d to %d, not %s", what, lo, hi, yamlpos.Describe(s))
			return 0, false
		}
		v = int64(f)
	default:
		p.ErrAt(s, "%s: want a whole number from %d to %d, not %s", what, lo, hi, yamlpos.Describe(s))
		return 0, false
	}
	if v < lo || v > hi {
		p.ErrAt(s, "%s must be from %d to %d, not %d", what, lo, hi, v)
		return 0, false
	}
	return v, true
}

const durationHint = "want a number and a unit (ms, s, m, h), like 500ms or 2s"

// duration reads a duration from 0 to MaxDuration with a unit; a bare 0 is
// allowed.
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
	switch {
	case err != nil:
		p.ErrAt(s, "%s: malformed duration %q: %s", what, s.Value, durationHint)
		return 0, false
	case d < 0:
		p.ErrAt(s, "%s must not be negative, not %s", what, s.Value)
		return 0, false
	case d > MaxDuration:
		p.ErrAt(s, "%s must be at most %s, not %s", what, MaxDuration, s.Value)
		return 0, false
	}
	return d, true
}

// positive reads a duration greater than 0.
func (p *parser) positive(n *yaml.Node, what string) (time.Duration, bool) {
	d, ok := p.duration(n, what)
	if ok && d == 0 {
		p.ErrAt(p.Deref(n), "%s must be more than 0", what)
		return 0, false
	}
	return d, ok
}

// position returns the line and column of byte i of scalar n's value when
// they can be known (a one-line scalar, plain or quoted without escapes),
// and n's own otherwise.
func position(n *yaml.Node, i int) (line, col int) {
	col = n.Column + len([]rune(n.Value[:min(max(i, 0), len(n.Value))]))
	switch {
	case strings.Contains(n.Value, "\n"):
		return n.Line, n.Column
	case n.Style == 0:
		return n.Line, col
	case n.Style == yaml.SingleQuotedStyle && !strings.Contains(n.Value, "'"),
		n.Style == yaml.DoubleQuotedStyle && !strings.ContainsAny(n.Value, `"\`):
		return n.Line, col + 1
	}
	return n.Line, n.Column
}
