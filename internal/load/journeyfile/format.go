package journeyfile

import (
	"regexp"
	"slices"
	"time"

	"github.com/expr-lang/expr/builtin"

	"github.com/gameday/gameday/internal/expression"
)

// The format's tables: the fields of each mapping, the methods, the names
// expressions see. The parser reads them and Schema makes the JSON Schema
// from them, so that the two cannot drift apart.

// field is one field of a mapping of the format: its name, what it means,
// and its JSON Schema (without the description).
type field struct {
	name   string
	doc    string
	schema obj
}

func fieldNames(fields []field) []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return names
}

var fileFields = []field{
	{"think", "default longest pause between two steps of a journey: each pause is a random time from 0 to this; default 0 (no pause)", ref("duration")},
	{"journeys", "what a virtual user does: each iteration runs one journey, picked by weight", obj{"type": "array", "minItems": 1, "items": ref("journey")}},
}

var journeyFields = []field{
	{"name", "the journey's name, unique in the file; the journey tag of its series", ref("name")},
	{"weight", "the journey's relative share of iterations; default 1", obj{"type": "integer", "minimum": 1, "maximum": MaxWeight}},
	{"think", "longest pause between two of its steps; default: the file's think", ref("duration")},
	{"steps", "the requests of the journey, sent in order", obj{"type": "array", "minItems": 1, "items": ref("step")}},
}

var stepFields = []field{
	{"name", "the step's name, unique in its journey; the name tag of its series, and the endpoint tag unless tags.endpoint says otherwise", ref("name")},
	{"method", "the HTTP method; default GET", obj{"enum": Methods}},
	{"url", "the path, relative to the load's target: it starts with /; ${expression} interpolates a value (escaped as a path segment before ?, as a query value after it)", obj{"type": "string", "pattern": "^/([^/]|$)", "examples": []string{"/api/items/${item}"}}},
	{"headers", "request headers, name: value; values may hold ${expression}", obj{
		"type":                 "object",
		"propertyNames":        obj{"pattern": headerNamePattern},
		"additionalProperties": obj{"type": []string{"string", "number", "boolean"}},
	}},
	{"body", "the JSON body, any value; a text leaf may hold ${expression}, and a leaf that is one ${expression} and nothing else takes the expression's value with its type; sent with Content-Type: application/json unless headers set one", obj{}},
	{"timeout", "the request's timeout, when shorter than the load's per-request timeout", ref("positiveDuration")},
	{"captures", "values kept for the later steps of the iteration, name: expression over the answer; an expression that fails ends the iteration", obj{
		"type":                 "object",
		"propertyNames":        obj{"pattern": identPattern, "not": obj{"enum": reservedNames()}},
		"additionalProperties": ref("expression"),
	}},
	{"checks", "expressions over the answer that must be true; the first that is not ends the iteration unless continue_on_failure", obj{"type": []string{"array", "null"}, "items": ref("expression")}},
	{"think", "longest pause after this step, before the next; default: the journey's think", ref("duration")},
	{"tags", "tags of the step's series: only endpoint may be set (journey and name come from the names, status from the answer)", obj{
		"type":                 "object",
		"additionalProperties": false,
		"properties":           properties(tagFields),
	}},
	{"continue_on_failure", "a failed check or a missing answer does not end the iteration: the next step runs (the journey still counts as failed)", obj{"type": "boolean"}},
}

// tagFields are the tags a step may set.
var tagFields = []field{{"endpoint", "the endpoint tag; default: the step's name", ref("name")}}

// Methods are the HTTP methods a step may use.
var Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}

// Limits of the format.
const (
	MaxDuration = time.Hour // of think and timeout
	MaxWeight   = 1_000_000 // of a journey's weight
	maxNameLen  = 64
)

const (
	namePatternText   = `^[A-Za-z0-9_][A-Za-z0-9._-]*$`
	identPattern      = `^[A-Za-z_][A-Za-z0-9_]*$`
	headerNamePattern = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
)

var (
	namePattern  = regexp.MustCompile(namePatternText)
	identRe      = regexp.MustCompile(identPattern)
	headerNameRe = regexp.MustCompile(headerNamePattern)
)

// The names an expression sees. Checks and captures see the answer's and
// the iteration's; a request's ${...} sees the iteration's only. Captures
// of earlier steps are seen by their names too.
var (
	answerNames    = []string{"status", "headers", "body", "text", "duration_ms"}
	iterationNames = []string{"vars", "vu", "iter"}
)

// keywords are the words of the expression language that cannot name a
// variable.
var keywords = []string{"true", "false", "nil", "not", "in", "or", "and", "matches",
	"contains", "startsWith", "endsWith", "let", "if", "else"}

// reservedNames are the names a capture may not take: the names every
// expression sees, the language's keywords and its built-in functions.
func reservedNames() []string {
	return slices.Concat(answerNames, iterationNames, keywords, builtin.Names)
}

// File is a journey file, parsed and compiled. It is not to be modified and
// is safe for concurrent use.
type File struct {
	Name     string        // as given to Parse, used in messages
	Think    time.Duration // default longest pause between steps
	Journeys []*Journey
}

// Journey is one journey of a file.
type Journey struct {
	Name   string // the journey tag
	Weight int    // relative share of iterations, at least 1
	Steps  []*Step
	Line   int // in the file
}

// Step is one request of a journey and what is checked and kept of its
// answer.
type Step struct {
	Name              string        // the name tag
	Endpoint          string        // the endpoint tag: tags.endpoint, or Name
	Method            string        // one of Methods
	URL               string        // as written, relative to the target
	Timeout           time.Duration // 0: the load's per-request timeout
	Think             time.Duration // longest pause after the step: its own, the journey's or the file's
	ContinueOnFailure bool
	Checks            []Check
	Captures          []Capture
	Line              int // in the file

	url     *template
	headers []header
	body    *bodyTemplate
	reads   expression.Reads // the parts of the answer its checks and captures read
}

// Check is one expression of a step that must be true.
type Check struct {
	Source string // the expression as written
	Line   int
	prog   *program
}

// Capture is a value a step keeps for the later steps of the iteration.
type Capture struct {
	Name   string
	Source string // the expression as written
	Line   int
	prog   *program
}

// header is one request header of a step: a canonical name and a value.
type header struct {
	name  string
	value *template
}
