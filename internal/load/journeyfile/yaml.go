package journeyfile

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

// maxAliases bounds how many aliases a file may follow, so that a "billion
// laughs" file costs nothing.
const maxAliases = 1000

// parser gathers the problems of one file.
type parser struct {
	file    string
	errs    []*Error
	aliases int
}

func (p *parser) errAt(n *yaml.Node, format string, args ...any) {
	e := &Error{File: p.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

func (p *parser) errAtPos(line, col int, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlErr turns an error of the YAML parser into a problem with its line.
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

// isNull reports whether n is an empty value ("key:" with nothing, or null).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

type entry struct{ key, val *yaml.Node }

// mapping is a YAML mapping's fields by name, in file order.
type mapping struct {
	node *yaml.Node
	keys []string
	m    map[string]entry
}

func (m mapping) get(k string) (*yaml.Node, bool) { e, ok := m.m[k]; return e.val, ok }
func (m mapping) key(k string) *yaml.Node         { return m.m[k].key }

// mapping reads n as a mapping of fields, reporting duplicates, merge keys
// and keys that are not plain words.
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

// onlyFields reports every field of m that is not one of fields.
func (p *parser) onlyFields(m mapping, what string, fields []field) {
	names := fieldNames(fields)
	for _, k := range m.keys {
		if slices.Contains(names, k) {
			continue
		}
		if sg := suggest(k, names); sg != "" {
			p.errAt(m.key(k), "unknown field %q in %s: did you mean %q? %s", k, what, sg, allowed(names))
		} else {
			p.errAt(m.key(k), "unknown field %q in %s %s", k, what, allowed(names))
		}
	}
}

// seq reads n as a list; an empty value is an empty list.
func (p *parser) seq(n *yaml.Node, what string) ([]*yaml.Node, bool) {
	n = p.deref(n)
	if n == nil {
		return nil, false
	}
	if isNull(n) {
		return nil, true
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
	if isNull(n) {
		p.errAt(n, "%s: missing value", what)
		return nil, false
	}
	return n, true
}

// text reads a value written as text: an expression, a URL, a header value.
// YAML reads some unquoted text as something else: "!x" as a tag, "{a}" as
// a mapping, "a: b" as a field; the message says to quote it.
func (p *parser) text(n *yaml.Node, what string) (*yaml.Node, bool) {
	n = p.deref(n)
	if n == nil {
		return nil, false
	}
	switch {
	case n.Kind == yaml.ScalarNode && strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!"):
		p.errAt(n, "%s: YAML read %s as a tag: quote the text, like %q", what, n.Tag, strings.TrimSpace(n.Tag+" "+n.Value))
		return nil, false
	case n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode:
		p.errAt(n, "%s must be text, not %s: quote it if YAML read it so", what, describe(n))
		return nil, false
	}
	return p.scalar(n, what)
}

// name reads a name that becomes a tag value.
func (p *parser) name(n *yaml.Node, what string) (string, bool) {
	s, ok := p.scalar(n, what)
	if !ok {
		return "", false
	}
	if !namePattern.MatchString(s.Value) || len(s.Value) > maxNameLen {
		p.errAt(s, "%s %q: use at most %d letters, digits, '.', '_' and '-', starting with a letter, digit or '_' (it becomes a tag of the series)", what, s.Value, maxNameLen)
		return "", false
	}
	return s.Value, true
}

// integer reads a whole number in [lo, hi].
func (p *parser) integer(n *yaml.Node, what string, lo, hi int64) (int64, bool) {
	s, ok := p.scalar(n, what)
	if !ok {
		return 0, false
	}
	var v int64
	switch s.ShortTag() {
	case "!!int":
		if s.Decode(&v) != nil {
			p.errAt(s, "%s: want a whole number from %d to %d, not %s", what, lo, hi, describe(s))
			return 0, false
		}
	case "!!float": // 2.0 and 1e3 are whole numbers too, as in JSON
		f, err := strconv.ParseFloat(s.Value, 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<53 {
			p.errAt(s, "%s: want a whole number from %d to %d, not %s", what, lo, hi, describe(s))
			return 0, false
		}
		v = int64(f)
	default:
		p.errAt(s, "%s: want a whole number from %d to %d, not %s", what, lo, hi, describe(s))
		return 0, false
	}
	if v < lo || v > hi {
		p.errAt(s, "%s must be from %d to %d, not %d", what, lo, hi, v)
		return 0, false
	}
	return v, true
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	s, ok := p.scalar(n, what)
	if !ok {
		return false, false
	}
	var b bool
	if s.ShortTag() != "!!bool" || s.Decode(&b) != nil {
		p.errAt(s, "%s: want true or false, not %s", what, describe(s))
		return false, false
	}
	return b, true
}

const durationHint = "want a number and a unit (ms, s, m, h), like 500ms or 2s"

// duration reads a duration from 0 to MaxDuration with a unit; a bare 0 is
// allowed.
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
	switch {
	case err != nil:
		p.errAt(s, "%s: malformed duration %q: %s", what, s.Value, durationHint)
		return 0, false
	case d < 0:
		p.errAt(s, "%s must not be negative, not %s", what, s.Value)
		return 0, false
	case d > MaxDuration:
		p.errAt(s, "%s must be at most %s, not %s", what, MaxDuration, s.Value)
		return 0, false
	}
	return d, true
}

// positive reads a duration greater than 0.
func (p *parser) positive(n *yaml.Node, what string) (time.Duration, bool) {
	d, ok := p.duration(n, what)
	if ok && d == 0 {
		p.errAt(p.deref(n), "%s must be more than 0", what)
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
