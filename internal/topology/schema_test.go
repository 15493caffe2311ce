package topology

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/gameday/gameday/scenarios"
)

const schemaPath = "../../scenarios/topology.schema.json"

// TestSchemaFile keeps scenarios/topology.schema.json, and the embedded
// copy, equal to Schema(), which is made from the parser's tables; -update
// rewrites it.
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
		t.Errorf("%s is not Schema(): run go test ./internal/topology -run TestSchemaFile -update", schemaPath)
	}
	embedded, err := fs.ReadFile(scenarios.FS, scenarios.TopologySchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(embedded, want) && !*update {
		t.Errorf("the embedded schema is not Schema(): rebuild")
	}
}

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

func instance(tb testing.TB, src string) any {
	tb.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(src), &v); err != nil {
		tb.Fatalf("not YAML: %v\n%s", err, src)
	}
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("no JSON for it: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	return inst
}

// TestSchemaAgrees: the schema and the parser accept and refuse the same
// files, but for what only the parser can know.
func TestSchemaAgrees(t *testing.T) {
	sch := compileSchema(t)
	for name, src := range map[string]string{"storefront": storefrontSource(t), "foreign": foreign} {
		t.Run("accepts "+name, func(t *testing.T) {
			parseOK(t, src)
			if err := sch.Validate(instance(t, src)); err != nil {
				t.Errorf("the schema refuses what the parser accepts: %v", err)
			}
		})
	}
	one := func(s string) string { return "services:\n  - " + s + "\nlinks: [{from: client, to: a}]\n" }
	tests := []struct {
		name, src  string
		parserOnly bool
	}{
		{"unknown kind", one("{name: a, kind: procss}"), false},
		{"process without command", one("{name: a, kind: process, health: {tcp: true}}"), false},
		{"image without health", one("{name: a, kind: image, image: i}"), false},
		{"builtin with command", one("{name: a, kind: builtin, builtin: wallet, command: x}"), false},
		{"unknown builtin", one("{name: a, kind: builtin, builtin: ledger}"), false},
		{"tcp false", one("{name: a, kind: process, command: x, health: {tcp: false}}"), false},
		{"two health checks", one("{name: a, kind: process, command: x, health: {tcp: true, http: /}}"), false},
		{"no links", "services: [{name: a, kind: process, command: x, health: {tcp: true}}]\n", false},
		{"link to client", "services: [{name: a, kind: process, command: x, health: {tcp: true}}]\nlinks: [{from: client, to: a}, {from: a, to: client}]\n", false},
		{"client as a name", one("{name: client, kind: process, command: x, health: {tcp: true}}"), false},
		{"link to no service", "services: [{name: a, kind: process, command: x, health: {tcp: true}}]\nlinks: [{from: client, to: b}]\n", true},
		{"placeholder names no link", one("{name: a, kind: process, command: x, args: ['{link.b}'], health: {tcp: true}}"), true},
		{"duplicate names", "services: [{name: a, kind: process, command: x, health: {tcp: true}}, {name: a, kind: process, command: y, health: {tcp: true}}]\nlinks: [{from: client, to: a}]\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse("t.yaml", []byte(tt.src)); err == nil {
				t.Errorf("the parser accepts it:\n%s", tt.src)
			}
			serr := sch.Validate(instance(t, tt.src))
			if (serr == nil) != tt.parserOnly {
				t.Errorf("schema: %v; want it to %s it", serr, map[bool]string{true: "accept", false: "refuse"}[tt.parserOnly])
			}
		})
	}
}
