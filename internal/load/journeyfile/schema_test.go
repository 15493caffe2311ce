package journeyfile

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

const schemaPath = "../../../scenarios/journeys.schema.json"

// TestSchemaFile keeps scenarios/journeys.schema.json equal to Schema(),
// which is made from the parser's tables; -update rewrites it.
func TestSchemaFile(t *testing.T) {
	want := Schema()
	if *update {
		if err := os.WriteFile(schemaPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not Schema(): run go test ./internal/load/journeyfile -run TestSchemaFile -update", schemaPath)
	}
}

// compileSchema compiles Schema(), which checks it against the draft
// 2020-12 meta-schema.
func compileSchema(tb testing.TB) *jsonschema.Schema {
	tb.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		tb.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		tb.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		tb.Fatalf("compile the schema: %v", err)
	}
	return sch
}

// instance decodes a YAML document into what a JSON Schema validator
// reads: YAML to Go values to JSON to the validator's values.
func instance(tb testing.TB, src []byte) any {
	tb.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		tb.Fatalf("not YAML: %v\n%s", err, src)
	}
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("no JSON for it: %v\n%s", err, src)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	return inst
}

// TestSchemaValidates: the example and the test files the parser accepts
// are valid by the schema.
func TestSchemaValidates(t *testing.T) {
	sch := compileSchema(t)
	for _, path := range []string{examplePath, "testdata/full.yaml"} {
		t.Run(path, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(path, src); err != nil {
				t.Errorf("the parser refuses it: %v", err)
			}
			if err := sch.Validate(instance(t, src)); err != nil {
				t.Errorf("the schema refuses it: %v", err)
			}
		})
	}
}

// TestSchemaAgrees: the schema and the parser accept and refuse the same
// files, but for what only the parser can know.
func TestSchemaAgrees(t *testing.T) {
	sch := compileSchema(t)
	tests := []struct {
		name       string
		src        string
		parserOnly bool // only the parser refuses it
	}{
		{name: "unknown file field", src: "thinks: 1s\njourneys: [{name: j, steps: [{name: s, url: /}]}]\n"},
		{name: "no journeys", src: "think: 1s\n"},
		{name: "empty journeys", src: "journeys: []\n"},
		{name: "bad think", src: "think: 5\njourneys: [{name: j, steps: [{name: s, url: /}]}]\n"},
		{name: "journey without name", src: "journeys: [{steps: [{name: s, url: /}]}]\n"},
		{name: "bad journey name", src: "journeys: [{name: 'a b', steps: [{name: s, url: /}]}]\n"},
		{name: "weight zero", src: "journeys: [{name: j, weight: 0, steps: [{name: s, url: /}]}]\n"},
		{name: "weight too big", src: "journeys: [{name: j, weight: 1000001, steps: [{name: s, url: /}]}]\n"},
		{name: "weight fraction", src: "journeys: [{name: j, weight: 1.5, steps: [{name: s, url: /}]}]\n"},
		{name: "empty steps", src: "journeys: [{name: j, steps: []}]\n"},
		{name: "unknown step field", src: step("check: [status == 200]")},
		{name: "bad method", src: step("method: FETCH")},
		{name: "no url", src: "journeys: [{name: j, steps: [{name: s}]}]\n"},
		{name: "relative url", src: stepAt("x", "")},
		{name: "absolute url", src: stepAt("'http://h/x'", "")},
		{name: "scheme-relative url", src: stepAt("//h/x", "")},
		{name: "space in url", src: stepAt("'/a b'", ""), parserOnly: true},
		{name: "zero timeout", src: step("timeout: 0s")},
		{name: "bare timeout", src: step("timeout: 2")},
		{name: "capture shadows", src: step("captures: {status: body}")},
		{name: "capture is a function", src: step("captures: {len: body}")},
		{name: "capture not an identifier", src: step("captures: {9x: body}")},
		{name: "capture without expression", src: step("captures: {a: null}")},
		{name: "tag other than endpoint", src: step("tags: {journey: x}")},
		{name: "bad header name", src: step("headers: {'X Y': a}")},
		{name: "header without value", src: step("headers: {X-Y: null}")},
		{name: "continue not a bool", src: step("continue_on_failure: yes please")},
		{name: "check does not compile", src: step("checks: ['status ==']"), parserOnly: true},
		{name: "duplicate journeys", src: "journeys: [{name: j, steps: [{name: s, url: /}]}, {name: j, steps: [{name: s, url: /}]}]\n", parserOnly: true},
		{name: "think too long", src: step("think: 2h"), parserOnly: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, perr := Parse("t.yaml", []byte(tt.src))
			if perr == nil {
				t.Errorf("the parser accepts it:\n%s", tt.src)
			}
			serr := sch.Validate(instance(t, []byte(tt.src)))
			if (serr == nil) != tt.parserOnly {
				t.Errorf("schema: %v; want it to %s it", serr, map[bool]string{true: "accept", false: "refuse"}[tt.parserOnly])
			}
		})
	}
	for name, src := range map[string]string{
		"every step field": step(`method: POST, headers: {X-A: '${vu}', X-N: 5, X-B: true}, body: {a: [1, null, '${iter}']}, timeout: 2s,
          captures: {id: body.id}, checks: [status == 200, 'true'], think: 0, tags: {endpoint: e}, continue_on_failure: false`),
		"null checks":      step("checks: null"),
		"bare zero think":  "think: 0\njourneys: [{name: j, weight: 2, think: 1.5s, steps: [{name: s, url: /}]}]\n",
		"every method":     step("method: HEAD"),
		"root url":         stepAt("/", ""),
		"body scalar":      step("body: text"),
		"number check":     step("checks: [true]"),
		"number capture":   step("captures: {a: 42}"),
		"unicode duration": step("think: 500µs"),
	} {
		t.Run(name, func(t *testing.T) {
			parseOK(t, src)
			if err := sch.Validate(instance(t, []byte(src))); err != nil {
				t.Errorf("the schema refuses what the parser accepts: %v\n%s", err, src)
			}
		})
	}
}
