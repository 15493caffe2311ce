// Package expression compiles and runs the expressions that files write
// over an answer — a journey file's checks and captures, a scenario's probes
// — with one library (expr-lang/expr) and one way of reporting a problem:
// where in the source it lies and what it is, in one line, so that the
// file's parser can turn it into file:line:col.
package expression

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// Program is one compiled expression. It is safe for concurrent use.
type Program struct {
	src  string
	prog *vm.Program
	uses map[string]bool // identifiers it names
}

// Error is a problem in an expression's source.
type Error struct {
	// Offset is the byte offset in the source where the problem lies, -1
	// when the library does not say.
	Offset int
	// Message says what is wrong in one line, without the library's
	// snippet of source.
	Message string
}

func (e *Error) Error() string { return e.Message }

// Compile compiles src against the typed names it may use; asBool wants a
// true-or-false result. It returns *Error when src does not compile: an
// unknown name is reported as "unknown name NAME", which callers may
// explain better.
func Compile(src string, names types.Map, asBool bool) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Offset: 0, Message: "empty expression"}
	}
	opts := []expr.Option{expr.Env(names)}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		e := &Error{Offset: -1, Message: Message(err)}
		var fe *file.Error
		if errors.As(err, &fe) && fe.Line == 1 {
			e.Offset = runeOffset(src, fe.Column)
		}
		return nil, e
	}
	p := &Program{src: src, prog: prog, uses: map[string]bool{}}
	node := prog.Node()
	ast.Walk(&node, identifiers(p.uses))
	return p, nil
}

// Source returns the expression as written.
func (p *Program) Source() string { return p.src }

// Uses reports whether the expression may read name: it names it, or
// reaches every name through $env.
func (p *Program) Uses(name string) bool { return p.uses[name] || p.uses["$env"] }

// Run evaluates the expression in env. A failure is an error of one line.
func (p *Program) Run(env map[string]any) (any, error) {
	v, err := expr.Run(p.prog, env)
	if err != nil {
		return nil, errors.New(Message(err))
	}
	return v, nil
}

// Message is the first line of an error of the expression library, without
// its snippet of source.
func Message(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// JSON decodes an answer's body for expressions: the JSON value (maps,
// lists, float64 numbers, strings, booleans), or nil when the body is not
// JSON.
func JSON(body []byte) any {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	return v
}

// identifiers collects the names an expression uses.
type identifiers map[string]bool

// Visit marks the identifiers it meets.
func (ids identifiers) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		ids[id.Value] = true
	}
}

// runeOffset returns the byte offset of rune i of s.
func runeOffset(s string, i int) int {
	n := 0
	for off := range s {
		if n == i {
			return off
		}
		n++
	}
	return len(s)
}
