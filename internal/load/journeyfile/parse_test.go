package journeyfile

import (
	"errors"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite scenarios/journeys.schema.json")

const examplePath = "../../../scenarios/examples/journeys.example.yaml"

// parseOK parses src and fails the test on any error.
func parseOK(tb testing.TB, src string) *File {
	tb.Helper()
	f, err := Parse("t.yaml", []byte(src))
	if err != nil {
		tb.Fatalf("Parse: %v\n%s", err, src)
	}
	return f
}

func TestParseFull(t *testing.T) {
	f, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "testdata/full.yaml" || f.Think != 2*time.Second || len(f.Journeys) != 2 {
		t.Fatalf("file %+v", f)
	}
	shop, ping := f.Journeys[0], f.Journeys[1]
	if shop.Name != "shop" || shop.Weight != 5 || shop.Line != 4 || len(shop.Steps) != 2 {
		t.Errorf("journey shop: %+v", shop)
	}
	if ping.Weight != 1 || ping.Steps[0].Method != "HEAD" || ping.Steps[0].Think != 2*time.Second {
		t.Errorf("journey ping does not take the defaults: %+v %+v", ping, ping.Steps[0])
	}
	search, order := shop.Steps[0], shop.Steps[1]
	if search.Method != "GET" || search.Endpoint != "search" || search.Timeout != 1500*time.Millisecond ||
		search.Think != 0 || search.Line != 8 || search.ContinueOnFailure {
		t.Errorf("step search: %+v", search)
	}
	if got := []string{search.Captures[0].Name, search.Captures[1].Name}; !slices.Equal(got, []string{"top", "n"}) {
		t.Errorf("captures in file order: %v", got)
	}
	if c := search.Captures[1]; c.Source != "len(body.hits)" || c.Line != 16 {
		t.Errorf("capture count: %+v", c)
	}
	if order.Method != "PUT" || order.Endpoint != "orders" || order.Name != "order" || order.Think != 300*time.Millisecond ||
		!order.ContinueOnFailure || order.URL != "/api/orders/${top.id}" {
		t.Errorf("step order: %+v", order)
	}
	if len(order.Checks) != 1 || order.Checks[0].Source != "!(body?.error ?? false)" || order.Checks[0].Line != 29 {
		t.Errorf("checks of order: %+v", order.Checks)
	}
	if !search.reads.Body || search.reads.Text || search.reads.Headers {
		t.Errorf("search reads %+v, want the body only", search.reads)
	}
}

func TestParseExample(t *testing.T) {
	f, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Journeys) != 2 || f.Journeys[0].Weight != 3 {
		t.Errorf("example: %+v", f)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load("testdata/nope.yaml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want a wrapped fs.ErrNotExist", err)
	}
}

// step wraps step fields (flow YAML) in a one-step journey; its fields
// start at column 28 of line 4.
func step(fields string) string { return stepAt("/x", fields) }

// stepAt is step with a URL.
func stepAt(url, fields string) string {
	return "journeys:\n  - name: j\n    steps:\n      - {name: s, url: " + url + ", " + fields + "}\n"
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // each error in order: its "line:col: " prefix and a part of its message
	}{
		{"empty", "", []string{"t.yaml: empty file"}},
		{"invalid YAML", "journeys: [\n", []string{"t.yaml:1: invalid YAML"}},
		{"two documents", "journeys: [{name: j, steps: [{name: s, url: /}]}]\n---\nthink: 1s\n", []string{"3:1: a second YAML document"}},
		{"not a mapping", "- a\n", []string{"1:1: the file must be a mapping of fields, not a list"}},
		{"unknown file field", "journey: []\n", []string{
			`1:1: unknown field "journey" in the file: did you mean "journeys"? (allowed: think, journeys)`,
			"1:1: missing field journeys"}},
		{"no journeys", "journeys: []\n", []string{"1:11: journeys: the file needs at least one journey"}},
		{"bad file think", "think: 5\njourneys: [{name: j, steps: [{name: s, url: /}]}]\n", []string{
			"1:8: think: malformed duration 5: want a number and a unit (ms, s, m, h), like 500ms or 2s"}},
		{"negative think", "think: -1s\njourneys: [{name: j, steps: [{name: s, url: /}]}]\n", []string{"1:8: think must not be negative"}},
		{"think too long", "think: 2h\njourneys: [{name: j, steps: [{name: s, url: /}]}]\n", []string{"1:8: think must be at most 1h0m0s"}},
		{"unknown journey field", "journeys:\n  - name: j\n    wieght: 2\n    steps: [{name: s, url: /}]\n", []string{
			`3:5: unknown field "wieght" in a journey: did you mean "weight"? (allowed: name, weight, think, steps)`}},
		{"weight zero", "journeys:\n  - name: j\n    weight: 0\n    steps: [{name: s, url: /}]\n", []string{"3:13: journey j: weight must be from 1 to 1000000, not 0"}},
		{"weight negative", "journeys:\n  - name: j\n    weight: -2\n    steps: [{name: s, url: /}]\n", []string{"3:13: journey j: weight must be from 1 to 1000000, not -2"}},
		{"weight not a number", "journeys:\n  - name: j\n    weight: lots\n    steps: [{name: s, url: /}]\n", []string{`3:13: journey j: weight: want a whole number from 1 to 1000000, not "lots"`}},
		{"empty steps", "journeys:\n  - name: j\n    steps: []\n", []string{"3:12: journey j: steps is empty"}},
		{"no steps", "journeys:\n  - name: j\n", []string{"2:5: journey j needs steps"}},
		{"journey without name", "journeys:\n  - steps: [{name: s, url: /}]\n", []string{"2:5: a journey needs a name"}},
		{"bad journey name", "journeys:\n  - name: a b\n    steps: [{name: s, url: /}]\n", []string{`2:11: journey name "a b": use at most 64 letters`}},
		{"duplicate journeys", "journeys:\n  - name: j\n    steps: [{name: s, url: /}]\n  - name: j\n    steps: [{name: s, url: /}]\n", []string{
			`4: duplicate journey name "j" (first at line 2)`}},
		{"duplicate steps", "journeys:\n  - name: j\n    steps:\n      - {name: s, url: /}\n      - {name: s, url: /}\n", []string{
			`5: journey j: duplicate step name "s" (first at line 4)`}},
		{"duplicate field", "journeys:\n  - name: j\n    name: k\n    steps: [{name: s, url: /}]\n", []string{`3:5: duplicate field "name" in a journey (first at line 2)`}},
		{"unknown step field", step("check: [status == 200]"), []string{
			`4:28: unknown field "check" in journey j: a step: did you mean "checks"?`}},
		{"bad method", step("method: GTE"), []string{
			`4:36: journey j, step s: unknown method "GTE": did you mean "GET"? (allowed: GET, POST, PUT, PATCH, DELETE, HEAD)`}},
		{"lower-case method", step("method: post"), []string{`unknown method "post": did you mean "POST"?`}},
		{"bad timeout", step("timeout: 2 s"), []string{
			`4:37: journey j, step s: timeout: malformed duration "2 s": want a number and a unit (ms, s, m, h), like 500ms or 2s`}},
		{"zero timeout", step("timeout: 0s"), []string{"4:37: journey j, step s: timeout must be more than 0"}},
		{"bad step think", step("think: soon"), []string{`4:35: journey j, step s: think: malformed duration "soon"`}},
		{"continue not a bool", step("continue_on_failure: maybe"), []string{`journey j, step s: continue_on_failure: want true or false, not "maybe"`}},
		{"no url", "journeys:\n  - name: j\n    steps: [{name: s}]\n", []string{"3:13: journey j, step s needs a url"}},
		{"absolute url", "journeys:\n  - name: j\n    steps: [{name: s, url: 'http://example.com/x'}]\n", []string{
			`3:28: journey j, step s: url "http://example.com/x" is absolute: write the path only`}},
		{"scheme-relative url", "journeys:\n  - name: j\n    steps: [{name: s, url: //example.com/x}]\n", []string{`url "//example.com/x" is absolute`}},
		{"relative url", "journeys:\n  - name: j\n    steps: [{name: s, url: api/x}]\n", []string{`3:28: journey j, step s: url "api/x" must start with /`}},
		{"space in url", "journeys:\n  - name: j\n    steps:\n      - name: s\n        url: /a b\n", []string{"5:16: journey j, step s: url: a space or # in a URL must be escaped"}},
		{"bad escape in url", "journeys:\n  - name: j\n    steps:\n      - name: s\n        url: /a%zz/${vu}\n", []string{
			`5:14: journey j, step s: url "/a%zz/${vu}": invalid URL escape "%zz"`}},
		{"interpolation does not compile", "journeys:\n  - name: j\n    steps:\n      - name: s\n        url: /x/${vu +}\n", []string{
			"5:22: journey j, step s: url: ${vu +}: unexpected token EOF"}},
		{"interpolation not closed", "journeys:\n  - name: j\n    steps:\n      - name: s\n        url: /x/${vu\n", []string{
			"5:17: journey j, step s: url: ${ is not closed by a }"}},
		{"empty interpolation", "journeys:\n  - name: j\n    steps:\n      - name: s\n        url: /x/${ }\n", []string{
			"5:19: journey j, step s: url: ${ }: empty expression"}},
		{"answer in a request", "journeys:\n  - name: j\n    steps:\n      - name: s\n        url: /x/${status}\n", []string{
			"5:19: journey j, step s: url: ${status}: status is part of the answer"}},
		{"capture used before it is made", "journeys:\n  - name: j\n    steps:\n      - name: s\n        url: /x/${item}\n      - name: t\n        url: /y\n        captures: {item: body.id}\n", []string{
			"5:19: journey j, step s: url: ${item}: item is captured only later, at line 8"}},
		{"unknown name in a header", step("headers: {X-Id: '${vuu}'}"), []string{
			`4:47: journey j, step s: header X-Id: ${vuu}: unknown name "vuu": did you mean "vu"? (allowed: vars, vu, iter)`}},
		{"unknown name in a body", step("body: {a: '${nope}'}"), []string{`4:41: journey j, step s: body: ${nope}: unknown name "nope"`}},
		{"check does not compile", "journeys:\n  - name: j\n    steps:\n      - name: s\n        url: /\n        checks:\n          - status == 200 and\n", []string{
			`7:29: journey j, step s: check 1 "status == 200 and": unexpected token EOF`}},
		{"position after quotes", "journeys:\n  - name: j\n    steps:\n      - name: s\n        url: /\n        checks:\n          - body.a == \"x\" && bdy\n", []string{
			`7:30: journey j, step s: check 1 "body.a == \"x\" && bdy": unknown name "bdy"`}},
		{"position in single quotes", "journeys:\n  - name: j\n    steps:\n      - name: s\n        url: /\n        checks:\n          - 'status == 200 && bdy'\n", []string{
			`7:31: journey j, step s: check 1 "status == 200 && bdy": unknown name "bdy"`}},
		{"check names a typo", "journeys:\n  - name: j\n    steps:\n      - name: s\n        url: /\n        checks: [status == 200, bdy.ok]\n", []string{
			`6:33: journey j, step s: check 2 "bdy.ok": unknown name "bdy": did you mean "body"?`}},
		{"check not a bool", step("checks: [status]"), []string{`check 1 "status": expected bool, but got int: a check must be true or false`}},
		{"check read as a tag", "journeys:\n  - name: j\n    steps:\n      - name: s\n        url: /\n        checks:\n          - !body.error\n", []string{
			`7:13: journey j, step s: check 1: YAML read !body.error as a tag: quote the text, like "!body.error"`}},
		{"check read as a mapping", "journeys:\n  - name: j\n    steps:\n      - name: s\n        url: /\n        checks:\n          - status: 200\n", []string{
			"7:13: journey j, step s: check 1 must be text, not a mapping"}},
		{"capture does not compile", step("captures: {id: 'body.id +'}"), []string{`journey j, step s: capture id "body.id +": unexpected token EOF`}},
		{"capture name not an identifier", step("captures: {9x: body.id}"), []string{`4:39: journey j, step s: capture name "9x": use letters, digits and _`}},
		{"capture name with a dash", step("captures: {item-id: body.id}"), []string{`capture name "item-id": use letters, digits and _`}},
		{"capture shadows status", step("captures: {status: body.id}"), []string{`4:39: journey j, step s: capture name "status" shadows a name every expression sees`}},
		{"capture shadows vars", step("captures: {vars: body.id}"), []string{`capture name "vars" shadows`}},
		{"capture is a keyword", step("captures: {matches: body.id}"), []string{`capture name "matches" is a word of the expression language`}},
		{"capture is a function", step("captures: {len: body.id}"), []string{`capture name "len" is a word of the expression language`}},
		{"tag other than endpoint", step("tags: {journey: x}"), []string{
			`4:35: journey j, step s: tag "journey" cannot be set: journey is the journey's name, name the step's, status comes from the answer (allowed: endpoint)`}},
		{"bad endpoint", step("tags: {endpoint: 'a,b'}"), []string{`journey j, step s: tags.endpoint "a,b"`}},
		{"bad header name", step("headers: {'X Id': a}"), []string{`journey j, step s: "X Id" is not a header name`}},
		{"header twice", step("headers: {accept: a, Accept: b}"), []string{`journey j, step s: header Accept is set twice`}},
		{"body NaN", step("body: {a: .nan}"), []string{`4:38: journey j, step s: body: .nan is not a number JSON can carry`}},
		{"body duplicate key", step("body: {a: 1, a: 2}"), []string{`journey j, step s: body: duplicate key "a"`}},
		{"alias bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\njourneys:\n  - name: j\n    steps:\n      - {name: s, url: /, body: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]}\n", []string{
			`unknown field "a"`, `unknown field "b"`, `unknown field "c"`, "too many aliases"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error for\n%s", tt.src)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("%d errors, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, want := range tt.want {
				if !strings.HasPrefix(lines[i], "t.yaml") || !strings.Contains(lines[i], want) {
					t.Errorf("error %d:\n got %s\nwant %s", i+1, lines[i], want)
				}
				if strings.HasPrefix(want, "t.yaml") || !startsWithPos(want) {
					continue
				}
				if !strings.HasPrefix(lines[i], "t.yaml:"+want) {
					t.Errorf("error %d is not at %s: %s", i+1, strings.SplitN(want, " ", 2)[0], lines[i])
				}
			}
		})
	}
}

// startsWithPos reports whether want begins with a "line:" or "line:col:"
// position.
func startsWithPos(want string) bool {
	pos, _, _ := strings.Cut(want, " ")
	return len(pos) > 1 && pos[0] >= '0' && pos[0] <= '9' && strings.HasSuffix(pos, ":")
}

// TestParseEveryError holds that a file with many problems reports them
// all, in file order, each an *Error reachable with errors.As.
func TestParseEveryError(t *testing.T) {
	src := `think: soon
journeys:
  - name: a
    weight: 0
    steps:
      - name: s
        method: FETCH
        url: http://x/
        checks: [bdy.ok]
  - name: a
    steps: []
`
	_, err := Parse("t.yaml", []byte(src))
	var first *Error
	if !errors.As(err, &first) || first.Line != 1 || first.File != "t.yaml" {
		t.Fatalf("errors.As: %#v from %v", first, err)
	}
	var lines []int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *Error
		if !errors.As(e, &pe) {
			t.Fatalf("%T is not an *Error", e)
		}
		lines = append(lines, pe.Line)
	}
	if want := []int{1, 4, 7, 8, 9, 11}; !slices.Equal(lines, want) {
		t.Errorf("lines %v, want %v:\n%v", lines, want, err)
	}
}

func TestParseAccepts(t *testing.T) {
	for name, src := range map[string]string{
		"weight 2.0":         "journeys: [{name: j, weight: 2.0, steps: [{name: s, url: /}]}]\n",
		"checks empty":       step("checks: []"),
		"body null":          step("body: null"),
		"body scalar":        step("body: 3"),
		"bare zero think":    step("think: 0"),
		"capture reused":     "journeys:\n  - name: j\n    steps:\n      - {name: s, url: /, captures: {a: body}}\n      - {name: t, url: '/${a}', captures: {a: body}}\n",
		"braces in a string": stepAt(`'/x/${"}" + "{"}'`, ""),
		"map in expression":  step(`body: {a: '${ {"k": vu}.k }'}`),
		"escaped interp":     stepAt(`'/x/$${y}'`, ""),
		"header number":      step("headers: {X-N: 5}"),
		"checks see vars":    "journeys:\n  - name: j\n    steps:\n      - {name: s, url: /, captures: {a: body}}\n      - {name: t, url: /, checks: ['vars.a == a']}\n",
	} {
		t.Run(name, func(t *testing.T) { parseOK(t, src) })
	}
}

func TestCheckTimeouts(t *testing.T) {
	f := parseOK(t, "journeys:\n  - name: j\n    steps:\n      - {name: s, url: /, timeout: 5s}\n      - {name: t, url: /, timeout: 1s}\n")
	if err := f.CheckTimeouts(5 * time.Second); err != nil {
		t.Errorf("5s fits: %v", err)
	}
	err := f.CheckTimeouts(2 * time.Second)
	var e *Error
	if !errors.As(err, &e) || e.Line != 4 || !strings.Contains(e.Msg, "timeout 5s is longer than the load's per-request timeout 2s") {
		t.Errorf("err = %v", err)
	}
}
