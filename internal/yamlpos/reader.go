// Package yamlpos reads YAML documents node by node, keeping the file, line
// and column of every value, so that a parser can report all the problems of
// a file at their positions instead of stopping at the first.
package yamlpos

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxAliases bounds how many aliases a file may follow, so that a "billion
// laughs" file costs nothing.
const MaxAliases = 1000

// Reader gathers the problems of one file while a parser walks its nodes.
// Its methods report instead of stopping, and never panic on a shape they did
// not expect; each returns false when it reported a problem.
type Reader struct {
	File    string   // named in every problem
	Errs    []*Error // the problems so far, in the order found
	aliases int
}

// ErrAt reports a problem at n's position, or with no position when n is nil.
func (r *Reader) ErrAt(n *yaml.Node, format string, args ...any) {
	e := &Error{File: r.File, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	r.Errs = append(r.Errs, e)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// YAMLErr reports an error of the YAML parser as a problem with its line.
func (r *Reader) YAMLErr(err error) {
	msg := err.Error()
	e := &Error{File: r.File}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	e.Msg = "invalid YAML: " + msg
	r.Errs = append(r.Errs, e)
}

// Deref follows aliases. It returns nil once the alias budget is spent,
// having reported it once.
func (r *Reader) Deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		r.aliases++
		if r.aliases > MaxAliases {
			if r.aliases == MaxAliases+1 {
				r.ErrAt(n, "too many aliases (more than %d)", MaxAliases)
			}
			return nil
		}
		n = n.Alias
	}
	return n
}

// Describe names the shape of n for a message: "a list", "a mapping", `"abc"`.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		if IsNull(n) {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// IsNull reports whether n is an empty value ("key:" with nothing, or null).
func IsNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

type entry struct{ key, val *yaml.Node }

// Mapping is a YAML mapping's fields by name, in file order.
type Mapping struct {
	Node *yaml.Node
	Keys []string
	m    map[string]entry
}

// Get returns the value of field k, and whether the field is there.
func (m Mapping) Get(k string) (*yaml.Node, bool) { e, ok := m.m[k]; return e.val, ok }

// Has reports whether field k is there.
func (m Mapping) Has(k string) bool { _, ok := m.m[k]; return ok }

// Key returns the node of field k's name, for its position; nil when the
// field is not there.
func (m Mapping) Key(k string) *yaml.Node { return m.m[k].key }

// Mapping reads n as a mapping of fields, reporting duplicates, merge keys
// and keys that are not plain words.
func (r *Reader) Mapping(n *yaml.Node, what string) (Mapping, bool) {
	n = r.Deref(n)
	if n == nil {
		return Mapping{}, false
	}
	if n.Kind != yaml.MappingNode {
		r.ErrAt(n, "%s must be a mapping of fields, not %s", what, Describe(n))
		return Mapping{}, false
	}
	m := Mapping{Node: n, m: map[string]entry{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := r.Deref(n.Content[i])
		if k == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			r.ErrAt(k, "%s: a field name must be a word, not %s", what, Describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			r.ErrAt(k, "merge keys (<<) are not supported: write the fields out")
			continue
		}
		if prev, ok := m.m[k.Value]; ok {
			r.ErrAt(k, "duplicate field %q in %s (first at line %d)", k.Value, what, prev.key.Line)
			continue
		}
		m.Keys = append(m.Keys, k.Value)
		m.m[k.Value] = entry{key: k, val: n.Content[i+1]}
	}
	return m, true
}

// OnlyFields reports every field of m that is not one of fields, with a
// suggestion when one is close.
func (r *Reader) OnlyFields(m Mapping, what string, fields []string) {
	for _, k := range m.Keys {
		if !slices.Contains(fields, k) {
			r.UnknownField(m.Key(k), what, fields)
		}
	}
}

// UnknownField reports the field named by key as not one of fields, with a
// suggestion when one is close.
func (r *Reader) UnknownField(key *yaml.Node, what string, fields []string) {
	k := key.Value
	if s := Suggest(k, fields); s != "" {
		r.ErrAt(key, "unknown field %q in %s: did you mean %q? %s", k, what, s, Allowed(fields))
	} else {
		r.ErrAt(key, "unknown field %q in %s %s", k, what, Allowed(fields))
	}
}

// Seq reads n as a list; an empty value is an empty list.
func (r *Reader) Seq(n *yaml.Node, what string) ([]*yaml.Node, bool) {
	n = r.Deref(n)
	if n == nil {
		return nil, false
	}
	if IsNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		r.ErrAt(n, "%s must be a list, not %s", what, Describe(n))
		return nil, false
	}
	return n.Content, true
}

// Scalar reads n as a single, non-null value.
func (r *Reader) Scalar(n *yaml.Node, what string) (*yaml.Node, bool) {
	n = r.Deref(n)
	if n == nil {
		return nil, false
	}
	if n.Kind != yaml.ScalarNode {
		r.ErrAt(n, "%s must be a single value, not %s", what, Describe(n))
		return nil, false
	}
	if IsNull(n) {
		r.ErrAt(n, "%s: missing value", what)
		return nil, false
	}
	return n, true
}

// Boolean reads true or false.
func (r *Reader) Boolean(n *yaml.Node, what string) (bool, bool) {
	s, ok := r.Scalar(n, what)
	if !ok {
		return false, false
	}
	var b bool
	if s.ShortTag() != "!!bool" || s.Decode(&b) != nil {
		r.ErrAt(s, "%s: want true or false, not %s", what, Describe(s))
		return false, false
	}
	return b, true
}

// Document reads the one YAML document of dec's input and returns its root
// node, dereferenced. It reports an empty file with the file's own words
// (empty: "empty file: a topology needs services and links"), a second
// document (one: "a file holds one topology"), and YAML errors; it returns
// nil when there is no root to read. stop, when not nil, is asked after each
// decode whether reading must end (a parse's context), and its error is
// returned at once.
func (r *Reader) Document(dec *yaml.Decoder, empty, one string, stop func() error) (*yaml.Node, error) {
	stopped := func() error {
		if stop == nil {
			return nil
		}
		return stop()
	}
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err := stopped(); err != nil {
			return nil, err
		}
		if errors.Is(err, io.EOF) {
			r.ErrAt(nil, "%s", empty)
		} else {
			r.YAMLErr(err)
		}
		return nil, nil
	}
	var extra yaml.Node
	err := dec.Decode(&extra)
	if err := stopped(); err != nil {
		return nil, err
	}
	switch {
	case err == nil:
		at := &extra
		if len(extra.Content) > 0 {
			at = extra.Content[0]
		}
		r.ErrAt(at, "a second YAML document: %s", one)
	case !errors.Is(err, io.EOF):
		r.YAMLErr(err)
	}
	if len(doc.Content) == 0 {
		r.ErrAt(nil, "%s", empty)
		return nil, nil
	}
	root := r.Deref(doc.Content[0])
	if root == nil {
		return nil, nil
	}
	if IsNull(root) {
		r.ErrAt(root, "%s", empty)
		return nil, nil
	}
	return root, nil
}
