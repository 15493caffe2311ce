package journeyfile

import (
	"bytes"
	"encoding/json"
)

// SchemaID is the $id of the format's JSON Schema.
const SchemaID = "https://github.com/gameday/gameday/scenarios/journeys.schema.json"

// obj is one JSON object of the schema; encoding/json writes its keys sorted.
type obj = map[string]any

// durationPattern matches what time.ParseDuration reads, without a sign.
const durationPattern = `(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+`

// Schema returns the JSON Schema (draft 2020-12) of the journey file
// format, made from the tables the parser reads.
// scenarios/journeys.schema.json is this, written by the package's tests
// with -update. The schema says what a file may hold; what needs the
// expression compiler (an expression or ${...} that does not compile, a
// name not captured yet) or the whole file (duplicate names) only the
// parser knows, and so do the bounds of durations.
func Schema() []byte {
	s := obj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  SchemaID,
		"title":                "gameday journeys",
		"description":          "Journeys of virtual users against a system of one's own: HTTP steps with checks and captures over the answers, think time and weights.",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"journeys"},
		"properties":           properties(fileFields),
		"$defs": obj{
			"duration": obj{
				"description": "a duration with a unit (ms, s, m, h), like 500ms or 2s; or 0",
				"anyOf": []any{
					obj{"type": "string", "pattern": `^\+?(0|` + durationPattern + `)$`},
					obj{"const": 0},
				},
			},
			"positiveDuration": obj{
				"description": "a duration with a unit (ms, s, m, h) greater than 0, like 500ms or 2s",
				"type":        "string",
				"pattern":     `^\+?` + durationPattern + `$`,
				"not":         obj{"pattern": `^\+?(([0]+(\.[0]*)?|\.[0]+)(ns|us|µs|μs|ms|s|m|h))+$`},
			},
			"name": obj{
				"description": "letters, digits, '.', '_' and '-', starting with a letter, digit or '_'",
				"type":        "string",
				"pattern":     namePatternText,
				"maxLength":   maxNameLen,
			},
			"expression": obj{
				"description": "an expression of github.com/expr-lang/expr over status, headers, body, text, duration_ms, vars, vu, iter and the captures of earlier steps",
				"type":        []string{"string", "number", "boolean"},
				"minLength":   1,
				"examples":    []string{"status == 200", "len(body.items) > 0", "body.items[0].id"},
			},
			"journey": obj{
				"type":                 "object",
				"additionalProperties": false,
				"required":             []string{"name", "steps"},
				"properties":           properties(journeyFields),
			},
			"step": obj{
				"type":                 "object",
				"additionalProperties": false,
				"required":             []string{"name", "url"},
				"properties":           properties(stepFields),
			},
		},
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // keep "len(body.items) > 0" readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		panic(err) // only maps, slices, strings and numbers: cannot happen
	}
	return out.Bytes()
}

// properties is the "properties" of an object schema with fields.
func properties(fields []field) obj {
	props := obj{}
	for _, f := range fields {
		props[f.name] = withDoc(f.schema, f.doc)
	}
	return props
}

func ref(name string) obj { return obj{"$ref": "#/$defs/" + name} }

// withDoc returns a copy of o with a description.
func withDoc(o obj, doc string) obj {
	out := obj{"description": doc}
	for k, v := range o {
		out[k] = v
	}
	return out
}
