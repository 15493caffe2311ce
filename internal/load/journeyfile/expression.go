package journeyfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/types"
	"github.com/gameday/gameday/internal/expression"
	"github.com/gameday/gameday/internal/yamlpos"
	"gopkg.in/yaml.v3"
)

// This file compiles the expressions of a journey file, once, at load
// time: checks, captures and the ${...} interpolations of requests.

// program is one compiled expression.
type program = expression.Program

// scope is what an expression may name at one place of a journey.
type scope struct {
	answer   bool           // checks and captures: the answer's names
	captures []string       // captured by earlier steps
	later    map[string]int // captured by a later step only: its line
}

// types is the typed environment of the scope: what the expression library
// type-checks names against.
func (s scope) types() types.Map {
	m := types.Map{
		"vars": types.TypeOf(map[string]any{}),
		"vu":   types.Int,
		"iter": types.Int,
	}
	if s.answer {
		m["status"] = types.Int
		m["headers"] = types.TypeOf(map[string]string{})
		m["body"] = types.Any
		m["text"] = types.String
		m["duration_ms"] = types.Float64
	}
	for _, c := range s.captures {
		m[c] = types.Any
	}
	return m
}

func (s scope) names() []string {
	var names []string
	if s.answer {
		names = append(names, answerNames...)
	}
	names = append(names, iterationNames...)
	return append(names, s.captures...)
}

// compile compiles src, which stands at byte offset off of scalar n, in
// scope sc; asBool wants a true-or-false result. It reports a problem,
// named what, with its position in the file and returns nil when src does
// not compile.
func (p *parser) compile(n *yaml.Node, off int, src, what string, sc scope, asBool bool) *program {
	prog, err := expression.Compile(src, sc.types(), asBool)
	if err == nil {
		return prog
	}
	line, col := position(n, off)
	var e *expression.Error
	if !errors.As(err, &e) {
		p.errAtPos(line, col, "%s: %v", what, err)
		return nil
	}
	if e.Offset > 0 {
		line, col = position(n, off+e.Offset)
	}
	msg := e.Message
	if name, ok := strings.CutPrefix(msg, "unknown name "); ok {
		msg = unknownName(name, sc)
	} else if asBool && strings.HasPrefix(msg, "expected bool") {
		msg += ": a check must be true or false"
	}
	p.errAtPos(line, col, "%s: %s", what, msg)
	return nil
}

// unknownName explains why name is not known in scope sc.
func unknownName(name string, sc scope) string {
	if l, ok := sc.later[name]; ok {
		return fmt.Sprintf("%s is captured only later, at line %d: a step sees the captures of the steps before it", name, l)
	}
	if !sc.answer && slices.Contains(answerNames, name) {
		return fmt.Sprintf("%s is part of the answer: checks and captures see it, a request does not (capture what a later request needs)", name)
	}
	return yamlpos.Unknown("name", name, sc.names())
}

// template is text with ${expression} interpolations.
type template struct {
	parts []part
}

// part is a literal (prog nil) or an interpolated expression.
type part struct {
	lit   string
	prog  *program
	query bool // in a URL, after the '?': escaped as a query value
}

// static returns the text when nothing in it is interpolated.
func (t *template) static() (string, bool) {
	switch {
	case len(t.parts) == 0:
		return "", true
	case len(t.parts) == 1 && t.parts[0].prog == nil:
		return t.parts[0].lit, true
	}
	return "", false
}

// whole returns the expression when the text is one interpolation and
// nothing else.
func (t *template) whole() *program {
	if len(t.parts) == 1 {
		return t.parts[0].prog
	}
	return nil
}

// segment is a piece of a template's source at byte offset off: literal
// text, or an expression.
type segment struct {
	text   string
	isExpr bool
	off    int
}

// splitTemplate cuts s into literal text and ${...} expressions; "$${"
// stands for a literal "${". It returns the byte offset and a message for
// an interpolation that is not closed.
func splitTemplate(s string) ([]segment, int, string) {
	var segs []segment
	var lit strings.Builder
	litStart := 0
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, segment{text: lit.String(), off: litStart})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if lit.Len() == 0 {
			litStart = i
		}
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			lit.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := closingBrace(s, i+2)
			if end < 0 {
				return nil, i, "${ is not closed by a }: write ${expression}, or $${ for a literal ${"
			}
			flush()
			segs = append(segs, segment{text: s[i+2 : end], isExpr: true, off: i + 2})
			i = end + 1
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	flush()
	return segs, 0, ""
}

// closingBrace returns the index of the } that closes an interpolation
// whose expression starts at i, skipping braces in the expression's own
// maps and strings; -1 when there is none.
func closingBrace(s string, i int) int {
	depth := 1
	for ; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'', '`':
			for i++; i < len(s) && s[i] != c; i++ {
				if s[i] == '\\' && c != '`' {
					i++
				}
			}
			if i >= len(s) {
				return -1
			}
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// template compiles the text of scalar n in scope sc. inURL marks the
// expressions after the first literal '?' for escaping as query values. It
// returns nil after reporting a problem.
func (p *parser) template(n *yaml.Node, what string, sc scope, inURL bool) *template {
	segs, errOff, msg := splitTemplate(n.Value)
	if msg != "" {
		line, col := position(n, errOff)
		p.errAtPos(line, col, "%s: %s", what, msg)
		return nil
	}
	t := &template{}
	ok, query := true, false
	for _, s := range segs {
		if !s.isExpr && inURL && strings.ContainsAny(s.text, " \t#") {
			line, col := position(n, s.off+strings.IndexAny(s.text, " \t#"))
			p.errAtPos(line, col, "%s: a space or # in a URL must be escaped (%%20, %%23)", what)
			ok = false
			continue
		}
		if !s.isExpr {
			t.parts = append(t.parts, part{lit: s.text})
			query = query || inURL && strings.Contains(s.text, "?")
			continue
		}
		pr := p.compile(n, s.off, s.text, what+": ${"+s.text+"}", sc, false)
		if pr == nil {
			ok = false
			continue
		}
		t.parts = append(t.parts, part{prog: pr, query: query})
	}
	if !ok {
		return nil
	}
	return t
}

// render evaluates the template in env. In a URL (escape true) an
// interpolated value is escaped as a path segment, or as a query value
// after the '?'.
func (t *template) render(env map[string]any, escape bool) (string, error) {
	if s, ok := t.static(); ok {
		return s, nil
	}
	var b strings.Builder
	for _, pt := range t.parts {
		if pt.prog == nil {
			b.WriteString(pt.lit)
			continue
		}
		v, err := pt.prog.Run(env)
		if err != nil {
			return "", fmt.Errorf("${%s}: %w", pt.prog.Source(), err)
		}
		s, err := textOf(v)
		if err != nil {
			return "", fmt.Errorf("${%s}: %w", pt.prog.Source(), err)
		}
		switch {
		case escape && pt.query:
			s = url.QueryEscape(s)
		case escape:
			s = url.PathEscape(s)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// textOf renders an expression's value in text: a string as it is, a
// whole number without exponent, a list or map as JSON. nil is an error:
// it is almost always a capture of a field the answer did not have.
func textOf(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", errors.New("the value is nil")
	case string:
		return v, nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1e21 {
			return strconv.FormatFloat(v, 'f', -1, 64), nil
		}
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case bool, int, int64, int32, uint, uint64, float32:
		return fmt.Sprint(v), nil
	}
	b, err := marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// marshal encodes v as JSON without escaping <, > and &.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// bodyTemplate is a step's JSON body.
type bodyTemplate struct {
	static []byte    // the encoded body when nothing in it is interpolated
	root   *bodyNode // otherwise
}

// bodyNode is one value of a body: encoded already (raw), a text leaf with
// interpolations, a mapping or a list.
type bodyNode struct {
	raw   []byte
	text  *template
	keys  [][]byte // encoded keys of a mapping
	vals  []*bodyNode
	items []*bodyNode
	isMap bool
}

// body compiles the JSON body of a step; nil after reporting a problem.
func (p *parser) body(n *yaml.Node, what string, sc scope) *bodyTemplate {
	node, dynamic, ok := p.bodyValue(n, what+": body", sc, 0)
	if !ok {
		return nil
	}
	if !dynamic {
		return &bodyTemplate{static: node.raw}
	}
	return &bodyTemplate{root: node}
}

// maxBodyDepth bounds the nesting of a body.
const maxBodyDepth = 100

// bodyValue compiles one value of a body; dynamic reports an interpolation
// in it. A value without one is encoded at once.
func (p *parser) bodyValue(n *yaml.Node, what string, sc scope, depth int) (node *bodyNode, dynamic, ok bool) {
	n = p.Deref(n)
	if n == nil {
		return nil, false, false
	}
	if depth > maxBodyDepth {
		p.ErrAt(n, "%s: nested deeper than %d", what, maxBodyDepth)
		return nil, false, false
	}
	node = &bodyNode{}
	ok = true
	switch n.Kind {
	case yaml.MappingNode:
		node.isMap = true
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := p.Deref(n.Content[i])
			if k == nil {
				ok = false
				continue
			}
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
				p.ErrAt(k, "%s: a key must be text, not %s", what, yamlpos.Describe(k))
				ok = false
				continue
			}
			if l, dup := seen[k.Value]; dup {
				p.ErrAt(k, "%s: duplicate key %q (first at line %d)", what, k.Value, l)
				ok = false
				continue
			}
			seen[k.Value] = k.Line
			v, dyn, vok := p.bodyValue(n.Content[i+1], what, sc, depth+1)
			if !vok {
				ok = false
				continue
			}
			key, _ := marshal(k.Value)
			node.keys = append(node.keys, key)
			node.vals = append(node.vals, v)
			dynamic = dynamic || dyn
		}
	case yaml.SequenceNode:
		for _, it := range n.Content {
			v, dyn, vok := p.bodyValue(it, what, sc, depth+1)
			if !vok {
				ok = false
				continue
			}
			node.items = append(node.items, v)
			dynamic = dynamic || dyn
		}
	case yaml.ScalarNode:
		return p.bodyScalar(n, what, sc)
	default:
		p.ErrAt(n, "%s: unexpected %s", what, yamlpos.Describe(n))
		return nil, false, false
	}
	if !ok {
		return nil, false, false
	}
	if !dynamic {
		var buf bytes.Buffer
		if err := node.encode(&buf, nil); err != nil {
			p.ErrAt(n, "%s: %v", what, err)
			return nil, false, false
		}
		node = &bodyNode{raw: buf.Bytes()}
	}
	return node, dynamic, true
}

// bodyScalar compiles a leaf of a body: null, a boolean, a number, or text.
func (p *parser) bodyScalar(n *yaml.Node, what string, sc scope) (*bodyNode, bool, bool) {
	switch n.ShortTag() {
	case "!!null":
		return &bodyNode{raw: []byte("null")}, false, true
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			raw, _ := marshal(b)
			return &bodyNode{raw: raw}, false, true
		}
	case "!!int":
		var i int64
		if n.Decode(&i) == nil {
			return &bodyNode{raw: strconv.AppendInt(nil, i, 10)}, false, true
		}
		p.ErrAt(n, "%s: %s is not a whole number that fits in 64 bits: quote it to send text", what, n.Value)
		return nil, false, false
	case "!!float":
		var f float64
		if n.Decode(&f) == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			raw, _ := marshal(f)
			return &bodyNode{raw: raw}, false, true
		}
		p.ErrAt(n, "%s: %s is not a number JSON can carry: quote it to send text", what, n.Value)
		return nil, false, false
	case "!!str", "!!timestamp", "!!binary":
	default:
		p.ErrAt(n, "%s: YAML read %s as a tag: quote the text", what, n.Tag)
		return nil, false, false
	}
	t := p.template(n, what, sc, false)
	if t == nil {
		return nil, false, false
	}
	if s, ok := t.static(); ok {
		raw, _ := marshal(s)
		return &bodyNode{raw: raw}, false, true
	}
	return &bodyNode{text: t}, true, true
}

// render encodes the body with the values of env.
func (b *bodyTemplate) render(env map[string]any) ([]byte, error) {
	if b.root == nil {
		return b.static, nil
	}
	var buf bytes.Buffer
	if err := b.root.encode(&buf, env); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (n *bodyNode) encode(buf *bytes.Buffer, env map[string]any) error {
	switch {
	case n.raw != nil:
		buf.Write(n.raw)
	case n.text != nil:
		var v any
		if pr := n.text.whole(); pr != nil {
			var err error
			if v, err = pr.Run(env); err != nil {
				return fmt.Errorf("${%s}: %w", pr.Source(), err)
			}
		} else {
			s, err := n.text.render(env, false)
			if err != nil {
				return err
			}
			v = s
		}
		raw, err := marshal(v)
		if err != nil {
			return err
		}
		buf.Write(raw)
	case n.isMap:
		buf.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(k)
			buf.WriteByte(':')
			if err := n.vals[i].encode(buf, env); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	default:
		buf.WriteByte('[')
		for i, it := range n.items {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := it.encode(buf, env); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	}
	return nil
}
